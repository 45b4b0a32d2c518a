"""The lake's Delta tables through the Lake handle: idempotent merge, insert-only, maintenance."""

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from lake.delta_tables import ROW_HASH, TABLE_CONFIGURATION, Lake, _key_ranges

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


def test_a_column_of_distinct_values_is_written_without_a_dictionary(lake):
    lake.ensure("t", SCHEMA)
    rows = frame([(f"id-{i}", i % 7) for i in range(5_000)])
    lake.append("t", iter([rows]))
    files = list(Path(lake.uri("t")).glob("*.parquet"))
    column = pq.ParquetFile(files[0]).metadata.row_group(0)
    dictionary = {column.column(i).path_in_schema: column.column(i).has_dictionary_page
                  for i in range(column.num_columns)}
    assert dictionary == {"id": False, "v": True, ROW_HASH: False}
    assert lake.read("t").sort("v", "id").equals(rows.sort("v", "id"))


def test_maintenance_compacts_and_keeps_the_data(lake):
    lake.ensure("t", SCHEMA)
    for i in range(5):
        lake.append("t", frame([(f"k{i}", i)]))
    report = lake.maintain("t", retention_hours=0)
    assert report["files_removed"] >= 5 and report["files_added"] == 1
    assert report["files_vacuumed"] >= 5
    assert sorted(lake.read("t")["v"].to_list()) == [0, 1, 2, 3, 4]
    assert report["properties_set"] == 0  # made with them


def test_a_table_checkpoints_every_ten_commits_and_an_older_one_is_set_so(lake):
    lake.ensure("t", SCHEMA)
    for i in range(10):
        lake.append("t", frame([(f"k{i}", i)]))
    log = Path(lake.uri("t")) / "_delta_log"
    # versions 0 to 10: one checkpoint (delta-rs' default would have made none yet)
    assert len(list(log.glob("*.checkpoint.parquet"))) == 1

    # a table written before the property existed (delta-rs' default: every 100 commits)
    write_deltalake(lake.uri("old"), frame([("k", 0)]).to_arrow(), mode="append")
    assert "delta.checkpointInterval" not in DeltaTable(lake.uri("old")).metadata().configuration
    assert lake.maintain("old")["properties_set"] == 2
    assert {k: v for k, v in DeltaTable(lake.uri("old")).metadata().configuration.items()
            if k in TABLE_CONFIGURATION} == TABLE_CONFIGURATION
    assert lake.maintain("old")["properties_set"] == 0
    assert lake.read("old")["v"].to_list() == [0]


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


def _files(lake, name):
    root = Path(lake.uri(name))
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_staged_rows_of_new_keys_are_adopted_as_written_and_others_are_merged_and_discarded(lake):
    lake.ensure("t", SCHEMA)
    staged = lake.stage("t", iter([frame([("a", 1), ("b", 2)]), frame([("c", 3)])]))
    assert staged.rows == 3 and lake.is_empty("t")  # written beside the table, not in it
    assert (lake.merge("t", staged, ["id"]).inserted, lake.version("t")) == (3, 1)
    lake.discard(staged)
    # the table holds the staged files themselves (written once); no scratch log is left
    assert all(f"/{staged.folder}/" in uri for uri in lake._table("t").file_uris())
    assert not [p for p in _files(lake, "t") if p.startswith(f"{staged.folder}/_delta_log")]

    again = lake.stage("t", iter([frame([("b", 20), ("d", 4)])]))
    assert (lambda r: (r.inserted, r.updated))(lake.merge("t", again, ["id"])) == (1, 1)
    lake.discard(again)
    assert not [p for p in _files(lake, "t") if p.startswith(again.folder)]  # read, then removed
    assert dict(lake.read("t").select("id", "v").rows()) == {"a": 1, "b": 20, "c": 3, "d": 4}


def test_rows_that_fail_while_staged_leave_no_file_and_raise_as_they_were(lake):
    lake.ensure("t", SCHEMA)

    def rows():
        yield frame([("a", 1)])
        raise ValueError("line 7: bad export")

    try:
        lake.stage("t", rows())
    except Exception as exc:  # delta-rs reports it wrapped; the message keeps the cause
        assert "bad export" in str(exc)
    else:
        raise AssertionError("the failure was swallowed")
    assert lake.is_empty("t") and lake.version("t") == 0
    assert [p for p in _files(lake, "t") if not p.startswith("_delta_log/")] == []


def _three_files(lake) -> None:
    """A table of three data files of 100 keys each, k000-k099, k100-k199, k200-k299."""
    lake.ensure("t", SCHEMA)
    for start in (0, 100, 200):
        lake.merge("t", frame([(f"k{i:03d}", 1) for i in range(start, start + 100)]), ["id"])
    assert len(lake._table("t").file_uris()) == 3


def _paths(lake, which: pl.Expr) -> set[str]:
    return set(pl.DataFrame(lake._table("t").get_add_actions(flatten=True)).filter(which)["path"])


def test_a_corrected_export_stages_only_the_rows_it_changes(lake):
    _three_files(lake)
    corrected = frame([(f"k{i:03d}", 2 if i in (105, 150) else 1) for i in range(301)])
    staged = lake.stage("t", iter([corrected.sample(fraction=1.0, shuffle=True, seed=3)]), keys=["id"])
    assert staged.rows == 3  # two changed, one new: the 298 held as they are are not written
    version, untouched = lake.version("t"), _paths(lake, pl.col("min.id") != "k100")
    assert (lambda r: (r.inserted, r.updated))(lake.merge("t", staged, ["id"])) == (1, 2)
    lake.discard(staged)
    assert lake.version("t") == version + 1
    assert lake.read("t").sort("id").select("id", "v").equals(corrected.select("id", "v"))
    again = lake.stage("t", iter([corrected]), keys=["id"])
    assert again.rows == 0 and lake.merge("t", again, ["id"]).inserted == 0
    lake.discard(again)
    assert lake.version("t") == version + 1 and untouched <= _paths(lake, pl.lit(True))


def test_a_merge_scans_only_the_files_whose_statistics_can_hold_a_changed_key(lake):
    _three_files(lake)
    table = lake._table("t")
    assert _key_ranges(table, "id", pl.Series(["k105", "k150"])) == "(t.id >= 'k100' AND t.id <= 'k199')"
    # adjacent files run together; a key beyond every file needs no file
    assert _key_ranges(table, "id", pl.Series(["k050", "k150", "k999"])) == "(t.id >= 'k000' AND t.id <= 'k199')"
    assert _key_ranges(table, "id", pl.Series(["k000", "k150", "k299"])) is None  # every file
    result = lake.merge("t", frame([("k150", 5), ("k999", 1)]), ["id"])
    assert (result.inserted, result.updated) == (1, 1)
    assert dict(lake.read("t").filter(pl.col("id").is_in(["k149", "k150", "k999"])).select("id", "v").rows()) \
        == {"k149": 1, "k150": 5, "k999": 1}
