"""A big merge compares its rows with the table a slice of keys at a time: the same rows
inserted, updated and left alone as comparing them all at once."""

import polars as pl
import pytest

import lake.delta_tables as delta_tables
from lake.delta_tables import ROW_HASH

SCHEMA = {"id": pl.String, "v": pl.Int64, ROW_HASH: pl.String}


def frame(ids, v):
    df = pl.DataFrame({"id": [f"k{i:04d}" for i in ids], "v": v}, schema={"id": pl.String, "v": pl.Int64})
    return df.with_columns(pl.struct("id", "v").hash().cast(pl.String).alias(ROW_HASH))


@pytest.mark.parametrize("slice_rows", [7, 10_000])
def test_sliced_and_whole_comparisons_merge_the_same_rows(lake, monkeypatch, slice_rows):
    monkeypatch.setattr(delta_tables, "SLICE_ROWS", slice_rows)
    lake.ensure("t", SCHEMA)
    assert lake.merge("t", lake.stage("t", iter([frame(range(0, 100, 2), [1] * 50)])), ["id"]).inserted == 50
    version = lake.version("t")
    again = lake.merge("t", frame(range(0, 100, 2), [1] * 50), ["id"])
    assert (again.inserted, again.updated, lake.version("t")) == (0, 0, version)
    # every tenth row changed, odd keys new (in the range and above it)
    corrected = frame(range(0, 120), [2 if i % 10 == 0 else 1 for i in range(120)])
    result = lake.merge("t", lake.stage("t", iter([corrected.sample(fraction=1.0, shuffle=True, seed=1)])), ["id"])
    assert (result.inserted, result.updated) == (70, 10)
    table = lake.read("t").sort("id")
    assert table.select("id", "v").equals(corrected.select("id", "v"))
    only_new = lake.merge("t", frame(range(200, 230), [1] * 30), ["id"])
    assert (only_new.inserted, only_new.updated, lake.read("t").height) == (30, 0, 150)
