"""Read landing files into string columns, in batches, with every line's number.

A CSV is read in blocks of whole lines: memory follows the block, not the file. Structural
problems (wrong field count, invalid JSON) are returned as rejects for the quarantine with
their raw line; a good row's raw line is recovered from its block only when the row is
rejected later (the contract). A file that cannot be read at all raises LandingFileError
naming the file.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

RAW = "_raw"
DELIMITERS = [",", ";", "\t", "|"]
LINE = "_line_number"
# ~90k bookings a batch: big enough for the parser's threads, small enough that the memory
# a batch frees is taken again by the next before the allocator hands it back (a 10M-row
# load: 1.3 GB peak, half the system time of 32 MB blocks)
BLOCK_BYTES = 16 << 20
_SLICE = 1 << 18  # bytes of a block looked at at once by ``_shape`` (in the core's cache)
_PROBE = 1 << 16  # bytes read back from a block's end to find its last line end


class LandingFileError(Exception):
    """A landing file that cannot be read at all; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot ingest {path}: {problem}")


@dataclass
class Parsed:
    """One batch of a file: its rows and its structural rejects."""

    rows: pl.DataFrame  # string columns + _line_number (+ _raw where lines were split one by one)
    rejects: pl.DataFrame  # _line_number, _raw, reason
    block: bytes = b""  # the whole lines the rows were read from, for rows without _raw
    first_line: int = 1  # the block's first line number
    # the columns were read with the types asked for (a block where all of them parsed);
    # header and delimiter split a row's line again into its fields as written (``texts``)
    typed: bool = False
    header: tuple[str, ...] = ()
    delimiter: str = ","
    # the block was split natively, these values read as null, and no field starts or ends
    # with whitespace (``_shape``): its text is as a contract reads it (``as_read``)
    nulled: tuple[str, ...] = ()
    unpadded: bool = False

    def as_read(self, null_tokens: Sequence[str]) -> bool:
        """Whether every field is already as a contract with these null tokens reads it: no
        surrounding whitespace to strip, and no null token left to null."""
        return self.unpadded and set(null_tokens) <= set(self.nulled)

    def with_raw(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Some of this batch's rows with their raw line (taken from the block, the few only)."""
        if RAW in rows.columns or rows.is_empty():
            return rows if RAW in rows.columns else rows.with_columns(pl.lit(None, pl.String).alias(RAW))
        ends = np.flatnonzero(np.frombuffer(self.block, np.uint8) == 10)
        starts = np.concatenate([[0], ends[:-1] + 1])
        index = rows[LINE].to_numpy() - self.first_line
        raw = [self.block[s:e].decode("utf-8", "replace").rstrip("\r")
               for s, e in zip(starts[index], ends[index])]
        return rows.with_columns(pl.Series(RAW, raw, dtype=pl.String))

    def texts(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Some of this batch's rows (the few) as their fields were written: string columns
        split again from their lines, with _line_number, in ``rows``' columns."""
        lines = self.with_raw(rows.select(LINE)).filter(pl.col(RAW).is_not_null())
        fields = pl.col(RAW).str.split_exact(self.delimiter, len(self.header) - 1)
        return lines.select(LINE, fields.struct.rename_fields(list(self.header)).alias("_f")
                            ).unnest("_f").select(rows.columns)


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, RAW: pl.String, "reason": pl.String})


def _open(path: Path) -> BinaryIO:
    if not path.is_file():
        raise LandingFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise LandingFileError(path, "file is empty")
    f = path.open("rb")
    if f.read(2) == b"\x1f\x8b":  # gzip by its magic bytes, whatever the name says
        f.close()
        return gzip.open(path, "rb")
    f.seek(0)
    return f


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (each ends with a newline)."""
    with _open(path) as f:
        try:
            yield from (_streamed_blocks(f, size) if isinstance(f, gzip.GzipFile)
                        else _exact_blocks(f.fileno(), size))
        except (OSError, EOFError, zlib.error) as exc:  # a corrupt or cut gzip, a read error
            raise LandingFileError(path, f"not a readable text file ({exc})") from exc


def _exact_blocks(fd: int, size: int) -> Iterator[bytes]:
    """A plain file's blocks, each read once at its length (``os.pread``) once its last line
    end is found: no copy of a block to join the line cut at its end, which cost as much
    as the read itself (fresh pages for a second block). The first blocks are smaller (an
    eighth, a quarter, a half): the rows' checks and their writing start sooner."""
    total, start, step = os.fstat(fd).st_size, 0, max(size >> 3, 1)
    while start < total:
        end = min(start + step, total)
        if end < total:
            end = _line_end(fd, start, end, total)
        block = _pread(fd, end - start, start)
        start, step = end, min(step * 2, size)
        yield block if block.endswith(b"\n") else block + b"\n"


def _line_end(fd: int, start: int, end: int, total: int) -> int:
    """Just past the last line end before ``end`` (after ``start``); a line longer than the
    rest of the block ends the block where it ends."""
    probe = min(_PROBE, end - start)
    cut = os.pread(fd, probe, end - probe).rfind(b"\n")
    if cut >= 0:
        return end - probe + cut + 1
    while end < total:
        ahead = os.pread(fd, _PROBE, end)
        found = ahead.find(b"\n")
        if found >= 0:
            return end + found + 1
        end += len(ahead)
    return total


def _pread(fd: int, length: int, offset: int) -> bytes:
    """``length`` bytes at ``offset``: one read, unless the block is over the ~2 GB a read
    returns at most (one huge line)."""
    parts = []
    while length:
        part = os.pread(fd, length, offset)
        if not part:
            raise EOFError("the file got shorter while it was read")
        parts.append(part)
        length, offset = length - len(part), offset + len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _streamed_blocks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """A stream's blocks (a gzip file): read in chunks, the line cut at a chunk's end joined
    to the next."""
    tail = b""
    while True:
        chunk = f.read(size)
        if not chunk:
            if tail:
                yield tail + b"\n"
            return
        # one copy of a block at most: the tail (part of a line) is short
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            tail += chunk
            continue
        if tail or cut < len(chunk):
            yield b"".join((tail, memoryview(chunk)[:cut]))
        else:
            yield chunk
        tail = chunk[cut:]


def _lines(block: bytes, first_line: int) -> pl.DataFrame:
    """A block's lines as _line_number, _raw (the per-line path for unusual blocks)."""
    text = block.decode("utf-8", "replace").split("\n")[:-1]
    return pl.DataFrame({LINE: pl.int_range(first_line, first_line + len(text), eager=True),
                         RAW: [t[:-1] if t.endswith("\r") else t for t in text]},
                        schema={LINE: pl.Int64, RAW: pl.String})


def _check_text(path: Path, block: bytes) -> None:
    head = b"\n".join(block.split(b"\n", 50)[:50]).decode("utf-8", "replace")
    if "\x00" in head or "\ufffd" in head:
        raise LandingFileError(path, "binary content: not a text file (corrupt or wrong format)")


def csv_batches(path: Path, delimiter: str | None = None, block_bytes: int = BLOCK_BYTES
                ) -> tuple[list[str], Callable[..., Iterator[Parsed]]]:
    """The header of a CSV, and what reads its rows in batches of string columns named by it.

    The delimiter, unless given, is the one of , ; tab | that the header uses most. A block
    with no quote and every line of the header's field count is split natively, its lines
    one to one with the rows; another block goes line by line (a quoted line through the
    csv module). A line whose field count differs from the header's is rejected, not
    guessed; blank lines are skipped. The header is read before this returns (a file that
    cannot be read at all raises here), so the caller can choose how to read the rows from
    it: ``batches(null_values, types)`` reads a field that is exactly one of ``null_values``
    as null where a block is split natively (the parser does it for free; a caller still
    cleans what the parser left, e.g. a padded token), and reads the columns of ``types``
    as those types where every value of the block parses (``Parsed.typed``; a block with
    one that does not is read as text). A later block that cannot be read raises when it
    is reached.
    """
    blocks = _blocks(path, block_bytes)
    first = next(blocks, b"")
    _check_text(path, first)
    header_line, _, rest = first.partition(b"\n")
    header_text = header_line.decode("utf-8", "replace").rstrip("\r")
    delimiter = delimiter or max(DELIMITERS, key=header_text.count)
    header = next(csv.reader([header_text], delimiter=delimiter), [])
    header = [h.strip().lstrip("\ufeff") for h in header]
    if len(header) < 2 or len(set(header)) != len(header):
        raise LandingFileError(path, f"no usable header line (found {header_text[:120]!r})")

    source = itertools.chain([rest] if rest else [], blocks)
    line = 2

    def parse_next(null_values: Sequence[str], types: dict[str, pl.DataType]) -> Parsed | None:
        nonlocal line
        block = next(source, None)
        if block is None:
            return None
        count, delimiters, padded = _shape(block, delimiter)
        parsed = _parse_block(block, line, count, header, delimiter, null_values, types,
                              delimiters, padded)
        line += count
        return parsed

    def batches(null_values: Sequence[str] = (),
                types: dict[str, pl.DataType] | None = None) -> Iterator[Parsed]:
        # The next block is read and split while the caller checks this one (the parser
        # releases the GIL): one block ahead, never more.
        with ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(parse_next, null_values, types or {})
            while (parsed := ahead.result()) is not None:
                ahead = pool.submit(parse_next, null_values, types or {})
                yield parsed

    return header, batches


def read_csv(path: Path, delimiter: str | None = None) -> tuple[list[str], Parsed]:
    """The whole CSV as one batch, every row with its raw line (small files: checks, tests)."""
    header, batches = csv_batches(path, delimiter)
    parts = [(p.with_raw(p.rows), p.rejects) for p in batches()]
    if not parts:
        return header, Parsed(pl.DataFrame(schema={**{h: pl.String for h in header},
                                                   LINE: pl.Int64, RAW: pl.String}), empty_rejects())
    rows = pl.concat([r.select(*header, LINE, RAW) for r, _ in parts])
    return header, Parsed(rows, pl.concat([j for _, j in parts]))


def _shape(block: bytes, delimiter: str) -> tuple[int, int, bool]:
    """A block's lines and delimiters, and whether a field may start or end with whitespace:
    a byte outside printable ASCII (whitespace, or part of a character that may be) next to
    a delimiter or a line end. numpy over the bytes outside printable ASCII (the spaces
    inside values, the line ends), a slice of the block at a time in buffers used again
    (fresh 32 MB temporaries cost as much in page faults): cheaper than counting with
    ``bytes.count``, and than stripping every text column."""
    d = ord(delimiter) if len(delimiter) == 1 and delimiter.isascii() else None
    if d is None:
        return block.count(b"\n"), block.count(delimiter.encode()), True
    b = np.frombuffer(block, np.uint8)
    shifted, mask = np.empty(_SLICE, np.uint8), np.empty(_SLICE, bool)
    lines = delimiters = 0
    padded = False
    for start in range(0, len(b), _SLICE):
        part = b[start:start + _SLICE]
        n = len(part)
        np.subtract(part, 33, out=shifted[:n])
        odd = np.flatnonzero(np.greater(shifted[:n], 93, out=mask[:n])) + start  # not 33..126
        byte = b[odd]
        ends = byte == 10
        lines += int(np.count_nonzero(ends))
        delimiters += int(np.count_nonzero(np.equal(part, d, out=mask[:n])))
        if not padded:
            odd = odd[~ends & (byte != d)]
            before, after = b[odd - 1], b[np.minimum(odd + 1, len(b) - 1)]  # -1: a line end
            padded = bool(((before == d) | (before == 10) | (after == d) | (after == 10)).any())
    return lines, delimiters, padded


def _parse_block(block: bytes, first_line: int, count: int, header: list[str],
                 delimiter: str, null_values: Sequence[str] = (),
                 types: dict[str, pl.DataType] | None = None, delimiters: int | None = None,
                 padded: bool = True) -> Parsed:
    n = len(header)
    if delimiters is None:
        delimiters = block.count(delimiter.encode())
    # No quote, and as many delimiters as lines times the header's: with the parser
    # refusing any line of more fields, every line then has exactly the header's count.
    if b'"' not in block and delimiters == count * (n - 1):
        rows, typed = None, False
        text = {h: pl.String for h in header}
        # typed where every value parses, and strict UTF-8 first (faster); a block that
        # is not valid UTF-8 is read again lossily
        attempts = [({**text, **{h: t for h, t in (types or {}).items() if h in text}}, "utf8")
                    ] if types else []
        for schema, encoding in [*attempts, (text, "utf8"), (text, "utf8-lossy")]:
            try:
                rows = pl.read_csv(block, has_header=False, separator=delimiter, quote_char=None,
                                   schema=schema, empty_string_is_null=False, encoding=encoding,
                                   null_values=list(null_values) or None)
                typed = schema is not text
                break
            except pl.exceptions.ComputeError:
                continue
        if rows is not None and rows.height == count:
            rows = rows.with_columns(pl.int_range(first_line, first_line + count,
                                                  dtype=pl.Int64).alias(LINE))
            return Parsed(rows, empty_rejects(), block, first_line, typed, tuple(header),
                          delimiter, tuple(null_values), not padded)
    return _parse_lines(_lines(block, first_line), header, delimiter)


def _parse_lines(body: pl.DataFrame, header: list[str], delimiter: str) -> Parsed:
    """Line by line: blank lines skipped, plain lines split natively, quoted ones by csv."""
    n = len(header)
    quoted = pl.col(RAW).str.contains('"', literal=True)
    counts = pl.col(RAW).str.count_matches(delimiter, literal=True) + 1
    body = body.filter(pl.col(RAW).str.strip_chars() != "")
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
    return Parsed(fields, rejects)


def read_lines(path: Path) -> pl.DataFrame:
    """Every line of a (possibly gzipped) text file with its 1-based line number."""
    parts, line = [], 1
    for block in _blocks(path, BLOCK_BYTES):
        if line == 1:
            _check_text(path, block)
        parts.append(_lines(block, line))
        line += parts[-1].height
    return pl.concat(parts) if parts else pl.DataFrame(schema={LINE: pl.Int64, RAW: pl.String})


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
