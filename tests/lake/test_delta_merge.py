import polars as pl

from lake import delta_tables as dt
from lake.delta_tables import ROW_HASH

SCHEMA = {"id": pl.String, "v": pl.Int64, ROW_HASH: pl.String}


def frame(rows):
    df = pl.DataFrame(rows, schema={"id": pl.String, "v": pl.Int64}, orient="row")
    return df.with_columns(pl.struct("id", "v").hash().cast(pl.String).alias(ROW_HASH))


def test_merge_upserts_by_key_and_is_idempotent(tmp_path):
    uri = str(tmp_path / "t")
    dt.ensure_table(uri, SCHEMA)
    first = dt.merge(uri, frame([("a", 1), ("b", 2)]), ["id"])
    assert (first.inserted, first.updated) == (2, 0)

    again = dt.merge(uri, frame([("a", 1), ("b", 2)]), ["id"])
    assert (again.inserted, again.updated) == (0, 0)

    corrected = dt.merge(uri, frame([("b", 20), ("c", 3)]), ["id"])
    assert (corrected.inserted, corrected.updated) == (1, 1)
    assert dict(dt.read(uri).select("id", "v").rows()) == {"a": 1, "b": 20, "c": 3}


def test_insert_only_merge_never_rewrites_an_existing_key(tmp_path):
    uri = str(tmp_path / "events")
    dt.ensure_table(uri, SCHEMA)
    dt.merge(uri, frame([("e1", 1)]), ["id"], insert_only=True)
    result = dt.merge(uri, frame([("e1", 99), ("e2", 2)]), ["id"], insert_only=True)
    assert (result.inserted, result.updated) == (1, 0)
    assert dict(dt.read(uri).select("id", "v").rows()) == {"e1": 1, "e2": 2}


def test_maintenance_compacts_and_keeps_the_data(tmp_path):
    uri = str(tmp_path / "t")
    dt.ensure_table(uri, SCHEMA)
    for i in range(5):
        dt.append(uri, frame([(f"k{i}", i)]))
    report = dt.maintain(uri, retention_hours=0)
    assert report["files_removed"] >= 5 and report["files_added"] == 1
    assert report["files_vacuumed"] >= 5
    assert sorted(dt.read(uri)["v"].to_list()) == [0, 1, 2, 3, 4]
