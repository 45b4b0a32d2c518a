"""The lake's Delta tables through the Lake handle: idempotent merge, insert-only, maintenance."""

import polars as pl

from lake.delta_tables import ROW_HASH, Lake

SCHEMA = {"id": pl.String, "v": pl.Int64, ROW_HASH: pl.String}


def frame(rows):
    df = pl.DataFrame(rows, schema={"id": pl.String, "v": pl.Int64}, orient="row")
    return df.with_columns(pl.struct("id", "v").hash().cast(pl.String).alias(ROW_HASH))


def test_merge_upserts_by_key_and_is_idempotent(lake):
    lake.ensure("t", SCHEMA)
    first = lake.merge("t", frame([("a", 1), ("b", 2)]), ["id"])
    assert (first.inserted, first.updated) == (2, 0)
    version = lake.version("t")

    again = lake.merge("t", frame([("a", 1), ("b", 2)]), ["id"])
    assert (again.inserted, again.updated) == (0, 0)

    corrected = lake.merge("t", frame([("b", 20), ("c", 3)]), ["id"])
    assert (corrected.inserted, corrected.updated) == (1, 1)
    assert dict(lake.read("t").select("id", "v").rows()) == {"a": 1, "b": 20, "c": 3}
    assert lake.version("t") > version


def test_a_table_without_a_row_hash_updates_the_rows_it_matches(lake):
    lake.ensure("ops", {"id": pl.String, "v": pl.Int64})
    plain = lambda rows: pl.DataFrame(rows, schema={"id": pl.String, "v": pl.Int64}, orient="row")  # noqa: E731
    lake.merge("ops", plain([("a", 1), ("b", 2)]), ["id"])
    result = lake.merge("ops", plain([("b", 20), ("c", 3)]), ["id"])
    assert (result.inserted, result.updated) == (1, 1)
    assert dict(lake.read("ops").rows()) == {"a": 1, "b": 20, "c": 3}


def test_insert_only_merge_never_rewrites_an_existing_key(lake):
    lake.ensure("events", SCHEMA)
    lake.merge("events", frame([("e1", 1)]), ["id"], insert_only=True)
    result = lake.merge("events", frame([("e1", 99), ("e2", 2)]), ["id"], insert_only=True)
    assert (result.inserted, result.updated) == (1, 0)
    assert dict(lake.read("events").select("id", "v").rows()) == {"e1": 1, "e2": 2}


def test_maintenance_compacts_and_keeps_the_data(lake):
    lake.ensure("t", SCHEMA)
    for i in range(5):
        lake.append("t", frame([(f"k{i}", i)]))
    report = lake.maintain("t", retention_hours=0)
    assert report["files_removed"] >= 5 and report["files_added"] == 1
    assert report["files_vacuumed"] >= 5
    assert sorted(lake.read("t")["v"].to_list()) == [0, 1, 2, 3, 4]


def test_tables_live_under_the_lake_root_and_a_missing_table_reads_empty(settings, tmp_path):
    lake = Lake.from_settings(settings)
    assert lake.uri("bronze/pms_bookings") == f"{settings.home / 'lake'}/bronze/pms_bookings"
    assert not lake.exists("t") and lake.version("t") is None and lake.read("t").is_empty()
    lake.ensure("t", SCHEMA, partition_by=None)
    assert lake.exists("t") and lake.read("t").schema == pl.Schema(SCHEMA)
    assert (settings.home / "lake" / "t" / "_delta_log").is_dir()
    # Another root is another lake: nothing of the first is visible there.
    other = Lake(str(tmp_path / "elsewhere"))
    assert not other.exists("t")
