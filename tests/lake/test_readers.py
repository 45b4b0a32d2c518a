import gzip

import pytest

from lake.readers import LandingFileError, read_csv, read_jsonl


def test_csv_rows_keep_line_numbers_and_wrong_field_counts_are_rejected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('a,b,c\n1,2,3\n\n4,"5,x",6\n7,8\n9,10,11,12\n"q,"\n')
    header, parsed = read_csv(path)
    assert header == ["a", "b", "c"]
    assert parsed.rows.select("_line_number", "a", "b").rows() == [(2, "1", "2"), (4, "4", "5,x")]
    rejects = {r[0]: r[2] for r in parsed.rejects.rows()}
    assert rejects == {5: "expected 3 fields, found 2", 6: "expected 3 fields, found 4",
                       7: "expected 3 fields, found 1"}
    assert parsed.rejects.filter(parsed.rejects["_line_number"] == 5)["_raw"][0] == "7,8"


def test_gzipped_csv_reads_like_plain(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert read_csv(path)[1].rows["b"].to_list() == ["2"]


@pytest.mark.parametrize("content, problem", [
    (b"", "file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary content"),
    (b"\x1f\x8b\x08\x00garbage-not-gzip", "not a readable text file"),
])
def test_unreadable_files_raise_an_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(LandingFileError) as err:
        read_csv(path)
    assert "broken.csv" in str(err.value) and problem in str(err.value)


def test_jsonl_invalid_lines_are_rejected_and_nested_values_kept_as_json(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": 1, "tags": [{"label": "x"}]}\nnot json\n[1, 2]\n')
    parsed = read_jsonl(path, ["id", "tags"])
    assert parsed.rows.select("id", "tags").rows() == [("1", '[{"label": "x"}]')]
    assert [r[2].split(" (")[0] for r in parsed.rejects.rows()] == [
        "invalid JSON", "a JSON object is required"]


def test_a_file_with_no_json_at_all_is_unreadable(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text("hello\nworld\n")
    with pytest.raises(LandingFileError, match="not a JSON-lines file"):
        read_jsonl(path, ["id"])
