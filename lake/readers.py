"""Read landing files into string columns, keeping every raw line and its line number.

Structural problems (wrong field count, invalid JSON) are returned as rejects for the
quarantine; a file that cannot be read at all raises LandingFileError naming the file.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

RAW = "_raw"
DELIMITERS = [",", ";", "\t", "|"]
LINE = "_line_number"


class LandingFileError(Exception):
    """A landing file that cannot be read at all; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot ingest {path}: {problem}")


@dataclass
class Parsed:
    rows: pl.DataFrame  # string columns + _line_number + _raw
    rejects: pl.DataFrame  # _line_number, _raw, reason


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, RAW: pl.String, "reason": pl.String})


def read_lines(path: Path) -> pl.DataFrame:
    """Every line of a (possibly gzipped) text file with its 1-based line number."""
    if not path.is_file():
        raise LandingFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise LandingFileError(path, "file is empty")
    try:
        # One column per line: a separator and quote that never split a line.
        lines = pl.read_csv(
            path, has_header=False, separator="\x1f", quote_char=None,
            infer_schema=False, new_columns=[RAW], encoding="utf8-lossy",
        )
    except Exception as exc:  # polars raises several types for corrupt input
        raise LandingFileError(path, f"not a readable text file ({exc})") from exc
    lines = lines.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    binary = lines.head(50).filter(pl.col(RAW).str.contains("\x00|\ufffd"))
    if binary.height:
        raise LandingFileError(path, "binary content: not a text file (corrupt or wrong format)")
    return lines.select(LINE, RAW)


def read_csv(path: Path, delimiter: str | None = None) -> tuple[list[str], Parsed]:
    """Split a CSV into string columns named by its header.

    The delimiter, unless given, is the one of , ; tab | that the header uses most. Lines
    without quotes are split natively; the rare quoted line goes through the csv module.
    A line whose field count differs from the header's is rejected, not guessed.
    """
    lines = read_lines(path)
    header_line = lines.row(0)[1] or ""
    delimiter = delimiter or max(DELIMITERS, key=header_line.count)
    header = next(csv.reader([header_line], delimiter=delimiter))
    header = [h.strip().lstrip("\ufeff") for h in header]
    if len(header) < 2 or len(set(header)) != len(header):
        raise LandingFileError(path, f"no usable header line (found {header_line[:120]!r})")
    n = len(header)
    body = lines.slice(1)
    quoted = pl.col(RAW).str.contains('"', literal=True)
    counts = pl.col(RAW).str.count_matches(delimiter, literal=True) + 1
    shape = body.select(blank=(pl.col(RAW).is_null() | (pl.col(RAW).str.strip_chars() == "")).any(),
                        quoted=quoted.any(), ragged=(counts != n).any()).row(0)
    if not any(shape):
        # The usual file: no blank, quoted or ragged line. The native parser splits it and
        # the lines line up one to one with its rows.
        fields = pl.read_csv(path, separator=delimiter, quote_char=None, infer_schema=False,
                             has_header=True, new_columns=header, encoding="utf8-lossy")
        return header, Parsed(fields.with_columns(body[LINE], body[RAW]), empty_rejects())
    body = body.filter(pl.col(RAW).is_not_null() & (pl.col(RAW).str.strip_chars() != ""))
    plain = body.filter(~quoted)
    good_plain = plain.filter(counts == n)
    bad_plain = plain.filter(counts != n).with_columns(
        reason=pl.format("expected {} fields, found {}", pl.lit(n), counts)
    )
    fields = good_plain.with_columns(
        pl.col(RAW).str.split_exact(delimiter, n - 1).struct.rename_fields(header).alias("_f")
    ).unnest("_f")

    quoted_rows, quoted_bad = [], []
    for line_no, raw in body.filter(quoted).iter_rows():
        values = next(csv.reader([raw], delimiter=delimiter), [])
        if len(values) == n:
            quoted_rows.append({LINE: line_no, RAW: raw, **dict(zip(header, values))})
        else:
            quoted_bad.append({LINE: line_no, RAW: raw,
                               "reason": f"expected {n} fields, found {len(values)}"})
    if quoted_rows:
        extra = pl.DataFrame(quoted_rows, schema={LINE: pl.Int64, RAW: pl.String,
                                                  **{h: pl.String for h in header}})
        fields = pl.concat([fields, extra.select(fields.columns)]).sort(LINE)
    rejects = pl.concat([
        bad_plain.select(LINE, RAW, "reason"),
        pl.DataFrame(quoted_bad, schema=empty_rejects().schema),
    ])
    return header, Parsed(fields, rejects)


def read_jsonl(path: Path, fields: list[str]) -> Parsed:
    """Parse JSON lines into string columns for `fields`; nested values stay JSON text."""
    lines = read_lines(path).filter(
        pl.col(RAW).is_not_null() & (pl.col(RAW).str.strip_chars() != "")
    )
    rows, rejects = [], []
    for line_no, raw in lines.iter_rows():
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            rejects.append({LINE: line_no, RAW: raw, "reason": f"invalid JSON ({exc.msg})"})
            continue
        if not isinstance(obj, dict):
            rejects.append({LINE: line_no, RAW: raw, "reason": "a JSON object is required"})
            continue
        rows.append({LINE: line_no, RAW: raw, **{f: _as_text(obj.get(f)) for f in fields}})
    if lines.height and not rows and len(rejects) == lines.height:
        raise LandingFileError(path, "no line is valid JSON: not a JSON-lines file")
    schema = {LINE: pl.Int64, RAW: pl.String, **{f: pl.String for f in fields}}
    return Parsed(pl.DataFrame(rows, schema=schema),
                  pl.DataFrame(rejects, schema=empty_rejects().schema))


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
