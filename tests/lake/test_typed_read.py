"""Numbers parsed as the CSV is read (a block whose every number parses): the rows and the
quarantine are those of reading text and casting, a reason quoting a value as written."""

import polars as pl

from lake.readers import _shape, csv_batches
from lake.sources import SOURCES
from lake.tables import QUARANTINE
from tests.conftest import drop, extract_lines
from tests.lake.test_ingest import mutate


def test_a_block_of_numbers_that_all_parse_is_read_typed_and_tokens_null(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2.5,NULL\n,NA,x\n")
    _, batches = csv_batches(path)
    (typed,) = batches(("", "NULL", "NA"), {"a": pl.Int32, "b": pl.Float64})
    assert typed.typed and typed.rows.schema["a"] == pl.Int32
    assert typed.rows.select("a", "b", "c").rows() == [(1, 2.5, None), (None, None, "x")]
    assert typed.texts(typed.rows.tail(1)).rows() == [("", "NA", "x", 3)]
    _, batches = csv_batches(path)
    (text,) = batches((), {"a": pl.Int32, "c": pl.Int32})  # "x" is no number: read as text
    assert not text.typed and text.rows["a"].to_list() == ["1", ""]


def test_reasons_quote_a_parsed_number_as_it_was_written(home, zone, lake):
    lines = extract_lines(20)
    broken = {"adults +70 is above 60": mutate(lines[1], adults="+70"),
              "adr -5 is below 0": mutate(lines[2], adr="-5"),
              "lead_time 01600 is above 1500": mutate(lines[3], lead_time="01600")}
    path = drop(home, "pms", "odd.csv", "\n".join([lines[0], *broken.values(), *lines[4:]]) + "\n")
    problems = zone.problems(path, SOURCES["pms_bookings"])
    result = zone.ingest(path)
    assert (result.rows_loaded, result.rows_quarantined) == (17, 3)
    q = lake.read(QUARANTINE.name).sort("line_number")
    for (reason, raw), row, problem in zip(broken.items(), q.iter_rows(named=True), problems):
        assert reason in row["reason"] and reason in problem and row["raw"] == raw


def test_a_block_is_taken_as_read_only_where_no_field_has_surrounding_whitespace():
    assert _shape(b"Online TA,1\nNo Deposit,2\n", ",") == (2, 2, False)  # spaces inside
    for padded in (b" x,1\n", b"x ,1\n", b"x,1 \n", b"x,\t1\n", b"x,1\r\n", "x,\u00a01\n".encode()):
        assert _shape(b"y,2\n" + padded, ",")[2], padded
    assert _shape(b"x\t\ty\n", "\t") == (1, 2, False)  # an empty field between tab delimiters


def test_a_padded_value_is_still_cleaned_where_a_block_has_one(home, zone, lake):
    lines = extract_lines(20)
    contract = SOURCES["pms_bookings"].contract
    clean = drop(home, "pms", "clean.csv", "\n".join(lines) + "\n")
    _, batches = csv_batches(clean)
    assert next(batches(contract.null_tokens, {})).as_read(contract.null_tokens)
    line = mutate(lines[1], meal=" BB ", agent=" NULL ", country="PRT\t")
    path = drop(home, "pms", "padded.csv", "\n".join([lines[0], line, *lines[2:]]) + "\n")
    _, batches = csv_batches(path)
    assert not next(batches(contract.null_tokens, {})).as_read(contract.null_tokens)
    assert zone.ingest(path).rows_quarantined == 0
    rows = lake.read("bronze/pms_bookings")
    assert rows.select(pl.col("meal", "country").str.contains(r"\s").sum()).row(0) == (0, 0)
    assert rows.filter(pl.col("agent").str.contains("NULL")).is_empty()
    assert "PRT" in rows["country"].to_list() and rows.height == 20
