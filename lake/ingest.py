"""Ingest landing files into bronze: read, validate, quarantine, merge, log.

Each step is idempotent and each write one Delta commit, in this order: quarantine, bronze,
ingest log. A crash at any point leaves every table at a consistent version, and running
the file again converges to the same state without duplicates (the file is only marked
done by the last commit).
"""

from __future__ import annotations

import bisect
import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from lake.contact_vault import ContactVault
from lake.contracts import REASON, Reference
from lake.delta_tables import ROW_HASH, Lake
from lake.mapping import PmsMapping, load_mappings
from lake.properties import PropertyMaster
from lake.pseudonymise import Pseudonymiser
from lake.readers import (LINE, RAW, LandingFileError, Parsed, csv_batches, empty_rejects,
                          read_jsonl)
from lake.sources import SOURCES, Source, source_for_file
from lake.sources.pms import OPTIONAL_COLUMNS, REFERENCE_LAYOUT
from lake.tables import INGEST_LOG, LINEAGE, QUARANTINE, TS, bronze


@dataclass
class IngestResult:
    source: str
    source_file: str
    file_sha256: str
    batch_id: str
    skipped: bool = False
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    duplicates_collapsed: int = 0
    layout: str = ""
    reasons: dict[str, int] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class LandingZone:
    """The landing folder and everything a file needs to reach bronze: the lake, the
    reference data rows are checked against, and the PMS layout mappings. Built once by an
    entry point (``LandingZone.from_settings``) and handed down."""

    root: Path
    lake: Lake
    reference: Reference
    mappings: tuple[PmsMapping, ...] = ()
    home: Path | None = None  # file names in the ingest log are relative to it
    # Where the clear contact fields a source redacts go (guests: email, phone, name).
    vault: ContactVault | None = None

    @classmethod
    def from_settings(cls, settings) -> "LandingZone":
        return cls(
            root=settings.landing_dir, lake=Lake.from_settings(settings),
            reference=Reference(
                PropertyMaster.load(settings.properties_file),
                Pseudonymiser(settings.pseudonym_key.get_secret_value().encode())),
            mappings=load_mappings(settings.mappings_dir), home=settings.home,
            vault=ContactVault.from_settings(settings))

    def ensure_tables(self, source: Source) -> None:
        for table in (bronze(source), QUARANTINE, INGEST_LOG):
            self.lake.ensure(table.name, table.schema)

    def relative_name(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.home.resolve()))
        except (ValueError, AttributeError):
            return str(path)

    def seen_files(self, source: str) -> set[str]:
        """SHA-256 of every file already handled for this source (loaded or failed)."""
        log = self.lake.read(INGEST_LOG.name, columns=["source", "file_sha256"])
        if log.is_empty():
            return set()
        return set(log.filter(pl.col("source") == source)["file_sha256"].to_list())

    def files(self, source: Source) -> list[Path]:
        """The files in landing/ that this source reads (ingested or not: ``ingest`` skips
        the ones it has seen, by content)."""
        folder = self.root / source.folder
        if not folder.is_dir():
            return []
        return [p for p in sorted(folder.iterdir())
                if p.is_file() and not p.name.startswith(".")
                and source_for_file(source.folder, p.name) is source]

    def problems(self, path: Path, source: Source) -> list[str]:
        """What ingesting this file would quarantine, and why, without writing anything:
        the same reader, mapping, contract and rules as ``ingest``. Raises LandingFileError
        for a file that cannot be read at all."""
        run = _FileRun(self, source, lineage={})
        for _ in run.rows(self._batches(path, source)[1]):
            pass
        return run.rejects()[REASON].to_list()

    def problems_of_texts(self, texts: list[str], source: Source) -> list[list[str]]:
        """``problems`` of many landing files' texts at once (a CSV's with its header), one
        list per text: they are read as one file (one temporary file, not one per text) by
        the same reader, mapping, contract and rules, in one pass. A key repeated across
        texts is not a problem here (each text stands for a file of its own). Texts that
        cannot be read together are checked one by one; a text that cannot be read at all
        has the reader's reason as its problem."""
        if not texts:
            return []
        header = texts[0].partition("\n")[0] if source.kind == "csv" else None
        if len(texts) > 1 and header is not None and any(
                t.partition("\n")[0] != header for t in texts):
            return [p for t in texts for p in self.problems_of_texts([t], source)]
        bodies = [t.partition("\n")[2] if header is not None else t for t in texts]
        bodies = [b if b.endswith("\n") else b + "\n" for b in bodies]
        first_lines, line = [], 1 if header is not None else 0
        for body in bodies:
            first_lines.append(line + 1)
            line += body.count("\n")
        suffix = ".csv" if source.kind == "csv" else ".jsonl"
        try:
            with tempfile.NamedTemporaryFile("w", suffix=suffix, encoding="utf-8",
                                             newline="") as f:
                f.write((header + "\n" if header is not None else "") + "".join(bodies))
                f.flush()
                parsed, _ = self._parse(Path(f.name), source)
        except LandingFileError as exc:
            if len(texts) > 1:
                return [p for t in texts for p in self.problems_of_texts([t], source)]
            return [[exc.problem]]
        rows = source.derive(source.contract.type_columns(parsed.rows), self.reference)
        rows = source.contract.apply_rules(rows, self.reference)
        found: list[list[str]] = [[] for _ in texts]
        bad = rows.filter(pl.col(REASON).is_not_null())
        for number, reason in [*parsed.rejects.select(LINE, "reason").iter_rows(),
                               *bad.select(LINE, REASON).iter_rows()]:
            found[bisect.bisect_right(first_lines, number) - 1].append(reason)
        return found

    def ingest(self, path: Path, source: Source | None = None) -> IngestResult:
        """Ingest one landing file; a file already ingested (same content) is skipped.

        The file is read and checked batch by batch, so memory follows a batch, not the
        file: the rejects (the few) are kept in memory, the good rows are written beside
        the bronze table as they are checked (``Lake.stage``); the merge by key adopts them
        as they are written when their keys are all new (a first load: written once).
        """
        path = Path(path)
        source = source or source_for_file(path.parent.name, path.name)
        if source is None:
            raise LandingFileError(path, f"no source reads '{path.parent.name}/{path.name}' "
                                         f"(see docs/data-contracts.md for the landing layout)")
        self.ensure_tables(source)
        started = _now()
        sha = file_sha256(path)
        result = IngestResult(source.name, self.relative_name(path), sha, f"{source.name}-{sha[:12]}")
        if sha in self.seen_files(source.name):
            result.skipped = True
            return result
        lineage = {"_source_file": result.source_file, "_batch_id": result.batch_id,
                   "_ingested_at": started}
        run = _FileRun(self, source, lineage=lineage)
        try:
            result.layout, batches = self._batches(path, source)
            staged = self.lake.stage(source.table, run.rows(batches),
                                     keys=None if source.insert_only else source.keys)
        except Exception as exc:
            # what the rows raised inside the Delta writer comes back wrapped: the original
            problem = run.failure or exc
            if isinstance(problem, LandingFileError):
                self._log(result, started, status="failed", error=problem.problem)
            if problem is exc:
                raise
            raise problem from None
        try:
            rejects = run.rejects()
            result.rows_read, result.duplicates_collapsed = run.read, run.collapsed
            result.rows_quarantined = rejects.height
            result.reasons = _reason_summary(rejects)

            # 1. quarantine (idempotent: keyed by file content and line)
            quarantine = rejects.select(
                pl.lit(source.name).alias("source"), pl.lit(result.source_file).alias("source_file"),
                pl.lit(sha).alias("file_sha256"), pl.lit(result.batch_id).alias("batch_id"),
                pl.col(LINE).alias("line_number"), pl.col(REASON).alias("reason"),
                pl.col(RAW).alias("raw"), pl.lit(started).cast(TS).alias("quarantined_at"),
            )
            self.lake.merge(QUARANTINE.name, quarantine, list(QUARANTINE.keys), insert_only=True)
            # 2. bronze (idempotent: merge by business key, unchanged rows untouched)
            merged = self.lake.merge(source.table, staged, source.keys,
                                     insert_only=source.insert_only)
        finally:
            self.lake.discard(staged)
        result.rows_loaded, result.rows_inserted, result.rows_updated = (
            run.loaded, merged.inserted, merged.updated)
        # 3. the clear contact fields, encrypted, into the vault (never the lake)
        if source.redact and self.vault is not None and run.contacts:
            self.vault.put(_contacts(pl.concat(run.contacts), source))
        # 4. ingest log: the file counts as done only now
        self._log(result, started, status="loaded")
        return result

    def _batches(self, path: Path, source: Source,
                 typed: bool = True) -> tuple[str, Iterator[Parsed]]:
        """The file's layout and its batches, as the source's columns (numbers parsed as
        they are read unless ``typed`` is false)."""
        if source.kind == "jsonl":
            return "jsonl", iter([read_jsonl(path, source.json_fields)])
        header, batches = csv_batches(path)
        layout, adapt = self._layout(path, header, source)
        # The parser nulls the contract's null tokens and parses numbers as it splits (the
        # contract still cleans and casts the rest); a mapping reads every value as
        # written: it may translate one.
        if layout.startswith("mapping:"):
            return layout, (adapt(parsed) for parsed in batches())
        numbers = {c.name: c.dtype for c in source.contract.columns
                   if typed and c.dtype.is_numeric()}
        return layout, (adapt(parsed) for parsed in batches(source.contract.null_tokens, numbers))

    def _parse(self, path: Path, source: Source) -> tuple[Parsed, str]:
        """The whole file as one batch (small files: ``problems_of_texts``)."""
        layout, batches = self._batches(path, source, typed=False)  # reasons quote the text
        parts = list(batches)
        if not parts:
            return Parsed(pl.DataFrame(schema={LINE: pl.Int64}), empty_rejects()), layout
        return Parsed(pl.concat([p.rows for p in parts], how="diagonal_relaxed"),
                      pl.concat([p.rejects for p in parts])), layout

    def _layout(self, path: Path, header: list[str],
                source: Source) -> tuple[str, Callable[[Parsed], Parsed]]:
        """The layout of a CSV's header and what turns its batches into the source's
        columns. PMS bookings: the reference layout as is, or the first YAML mapping that fits."""
        if source is not SOURCES["pms_bookings"]:
            missing = source.contract.missing_columns(header)
            if missing:
                raise LandingFileError(path, f"missing required columns {missing}; "
                                             f"header has {header}")
            return "csv", lambda parsed: parsed
        if set(REFERENCE_LAYOUT) <= set(header):
            keep = [c for c in header if c in REFERENCE_LAYOUT + OPTIONAL_COLUMNS]
            return "reference", lambda parsed: replace(parsed, rows=parsed.rows.select(
                pl.col(LINE), pl.col("^_raw$"), *keep))
        for mapping in self.mappings:
            if mapping.matches(header):
                return (f"mapping:{mapping.name}",
                        lambda parsed, m=mapping: replace(parsed, rows=m.apply(parsed.rows)))
        missing = sorted(set(REFERENCE_LAYOUT) - set(header))
        raise LandingFileError(
            path, f"unrecognised PMS layout: not the reference layout (missing {missing[:6]}"
                  f"{'...' if len(missing) > 6 else ''}) and no mapping in lake/mappings/ fits "
                  f"(tried {[m.name for m in self.mappings]}); add a mapping YAML for this PMS")

    def _log(self, result: IngestResult, started: datetime, status: str,
             error: str | None = None) -> None:
        self.lake.append(INGEST_LOG.name, pl.DataFrame([{
            "source": result.source, "source_file": result.source_file,
            "file_sha256": result.file_sha256, "batch_id": result.batch_id, "status": status,
            "error": error, "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
            "rows_inserted": result.rows_inserted, "rows_updated": result.rows_updated,
            "rows_quarantined": result.rows_quarantined, "started_at": started,
            "finished_at": _now(),
        }], schema=INGEST_LOG.schema))


class _FileRun:
    """One file through the contract, batch by batch: ``rows`` gives its good rows as bronze
    batches; the rejects (the few) are kept with their raw line, and the keys indexed to
    find a key repeated in the file."""

    def __init__(self, zone: LandingZone, source: Source, lineage: dict[str, object]):
        self.zone, self.source, self.lineage = zone, source, lineage
        self.keys = _KeyIndex(source.keys)
        self.read = self.loaded = self.collapsed = 0
        self.contacts: list[pl.DataFrame] = []
        self.failure: BaseException | None = None  # what stopped the file, as it was raised
        self._rejects: list[pl.DataFrame] = []

    def rows(self, batches: Iterable[Parsed]) -> Iterator[pl.DataFrame]:
        """The good rows as bronze rows (with lineage and row hash), a batch as each parsed
        batch is checked; rows without their key come last."""
        keyless: list[pl.DataFrame] = []
        try:
            for parsed in batches:
                self.read += parsed.rows.height + parsed.rejects.height
                self._rejects.append(parsed.rejects.select(LINE, RAW, pl.col("reason").alias(REASON)))
                contract = self.source.contract
                rows = contract.type_columns(parsed.rows, parsed.as_read(contract.null_tokens))
                if parsed.typed and rows[REASON].is_not_null().any():
                    # a reason quotes a value as written: such rows again from their text
                    bad = pl.col(REASON).is_not_null()
                    rows = pl.concat([rows.filter(~bad), contract.type_columns(
                        parsed.texts(rows.filter(bad).select(parsed.rows.columns)))])
                # A row without its key waits for the end of the file: a derived key counts
                # its occurrences over the whole file.
                present = [k for k in self.source.keys if k in rows.columns]
                missing = (pl.any_horizontal(pl.col(k).is_null() for k in present)
                           if len(present) == len(self.source.keys) else pl.lit(True))
                waiting = rows.filter(missing)
                if waiting.height:
                    keyless.append(parsed.with_raw(waiting))
                    rows = rows.filter(~missing)
                yield from self._load(rows, parsed)
            if keyless:
                rows = pl.concat(keyless, how="diagonal_relaxed").sort(LINE)
                yield from self._load(rows, Parsed(rows, empty_rejects()))
            # the file's keys are checked: their index (~40 bytes a row) is not kept
            # through the merge that follows
            self.keys = _KeyIndex(self.source.keys)
        except Exception as exc:
            self.failure = exc
            raise

    def rejects(self) -> pl.DataFrame:
        return pl.concat(self._rejects).sort(LINE)

    def _load(self, rows: pl.DataFrame, parsed: Parsed) -> Iterator[pl.DataFrame]:
        source, reference = self.source, self.zone.reference
        rows = source.contract.apply_rules(source.derive(rows, reference), reference)
        bad = rows.filter(pl.col(REASON).is_not_null())
        good = rows.filter(pl.col(REASON).is_null())
        business = list(source.schema)
        loaded = good.select(*[pl.col(c).cast(t) for c, t in source.schema.items()], LINE)
        # the row's content hash (a frame's row hash: ~10x cheaper than hashing a struct)
        loaded = loaded.with_columns(loaded.select(business).hash_rows().alias("_hash"))
        loaded, conflicts, collapsed = self.keys.check(loaded)
        self.collapsed += collapsed
        if conflicts.height:
            bad = pl.concat([bad, good.drop(REASON).join(conflicts, on=LINE)], how="diagonal_relaxed")
        if collapsed or conflicts.height:
            good = good.join(loaded.select(LINE), on=LINE, how="semi")
        if bad.height:
            bad = parsed.with_raw(bad)
            self._rejects.append(bad.select(LINE, _redacted_raw(self.source, bad), REASON))
        if source.redact:
            self.contacts.append(good)
        self.loaded += loaded.height
        if loaded.height:
            yield loaded.select(
                *business, *[pl.lit(v).cast(LINEAGE[k]).alias(k) for k, v in self.lineage.items()],
                pl.col("_hash").cast(pl.String).alias(ROW_HASH))


# The first key of each bucket of a key index but the first: 256 buckets by the top byte
# of the key's first hash.
_BUCKET_STARTS = np.arange(1, 256, dtype=np.uint64) << np.uint64(56)


class _KeyIndex:
    """The keys loaded so far from one file, as two 64-bit hashes (the first sorted, for
    lookup), each with its line and content: in one file, identical repeats of a key
    collapse and a key repeated with other content is quarantined; the first one wins.

    The sorted hashes are kept in 256 buckets by their top byte: adding a batch rewrites
    buckets of 1/256 of the keys each (in the core's cache, in memory the allocator keeps)
    instead of one array of them all (at 10M keys, 2 s of copies and fresh pages)."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.buckets = [np.empty(0, np.uint64)] * (len(_BUCKET_STARTS) + 1)
        self.seen: list[pl.DataFrame] = []  # _k1, _k2, _line_number, _hash

    def check(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
        """The rows to load, the repeats to quarantine (_line_number, _reason), and how
        many identical repeats collapsed."""
        key = pl.col(self.keys[0]) if len(self.keys) == 1 else pl.struct(self.keys)
        ids = rows.select(key.hash(1).alias("_k1"), key.hash(2).alias("_k2"), LINE, "_hash")
        k1 = ids["_k1"].to_numpy()
        none = pl.DataFrame(schema={LINE: pl.Int64, REASON: pl.String})
        # the usual case, on the batch's keys in order (a sorted search runs through memory
        # in order): no key seen before, none twice in the batch
        ordered = np.sort(k1)
        parts, at, held = self._search(ordered)
        if not held.any() and not (ordered[1:] == ordered[:-1]).any():
            self.seen.append(ids)
            self._insert(parts, at)
            return rows, none, 0
        before = np.empty(len(k1), bool)
        before[np.argsort(k1, kind="stable")] = held
        earlier = pl.concat(self.seen).filter(pl.col("_k1").is_in(pl.Series(k1[before]).implode())) \
            if before.any() else ids.clear()
        first = pl.concat([earlier, ids]).sort(LINE).group_by("_k1", "_k2", maintain_order=True).agg(
            pl.col(LINE).first().alias("_first_line"), pl.col("_hash").first().alias("_first_hash"))
        later = ids.join(first, on=["_k1", "_k2"]).filter(pl.col(LINE) > pl.col("_first_line"))
        identical = later.filter(pl.col("_hash") == pl.col("_first_hash"))[LINE]
        repeats = later.filter(pl.col("_hash") != pl.col("_first_hash")).select(LINE, "_first_line")
        conflicts = rows.join(repeats, on=LINE).select(
            LINE, pl.format("duplicate {} '{}' with different content (first at line {})",
                            pl.lit("/".join(self.keys)),
                            pl.concat_str([pl.col(k).cast(pl.String) for k in self.keys], separator="/"),
                            pl.col("_first_line")).alias(REASON))
        dropped = pl.concat([identical, repeats[LINE]]).implode()
        kept = ids.filter(~pl.col(LINE).is_in(dropped))
        self.seen.append(kept)
        self._insert(*self._search(np.sort(kept["_k1"].to_numpy()))[:2])
        return rows.filter(~pl.col(LINE).is_in(dropped)), conflicts, identical.len()

    def _search(self, ordered: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Sorted hashes split by bucket, where each would go in its bucket, and whether
        the index holds it (in the hashes' order)."""
        parts = np.split(ordered, np.searchsorted(ordered, _BUCKET_STARTS))
        at = [np.searchsorted(bucket, part) for bucket, part in zip(self.buckets, parts)]
        held = [bucket[np.minimum(i, len(bucket) - 1)] == part if len(bucket)
                else np.zeros(len(part), bool) for bucket, part, i in zip(self.buckets, parts, at)]
        return parts, at, np.concatenate(held)

    def _insert(self, parts: list[np.ndarray], at: list[np.ndarray]) -> None:
        self.buckets = [np.insert(bucket, i, part) if len(part) else bucket
                        for bucket, part, i in zip(self.buckets, parts, at)]


def _contacts(good: pl.DataFrame, source: Source) -> list[dict]:
    """The vault's rows of a source's valid rows: key, name, email, phone, country."""
    names = [c for c in ("first_name", "last_name") if c in good.columns]
    return good.select(
        pl.col(source.keys[0]).alias("guest_id"),
        pl.concat_str([pl.col(c) for c in names], separator=" ", ignore_nulls=True).alias("name")
        if names else pl.lit(None, pl.String).alias("name"),
        *[(pl.col(c) if c in good.columns else pl.lit(None, pl.String)).alias(c)
          for c in ("email", "phone", "country")],
    ).to_dicts()


def _redacted_raw(source: Source, bad: pl.DataFrame) -> pl.Expr:
    if not source.redact:
        return pl.col(RAW)
    # Rebuild the row as JSON with contact fields masked: the clear text never lands.
    fields = [c for c in bad.columns if not c.startswith("_") and c in
              source.contract.names and c not in source.redact]
    return pl.struct([*fields, *[pl.lit("<redacted>").alias(c) for c in source.redact]]
                     ).struct.json_encode().alias(RAW)


def _reason_summary(rejects: pl.DataFrame) -> dict[str, int]:
    counter: Counter[str] = Counter()
    for reason in rejects[REASON].to_list():
        for part in reason.split("; "):
            counter[part.split(" '")[0].split(" (")[0]] += 1
    return dict(counter.most_common(10))


def _now() -> datetime:
    return datetime.now(timezone.utc)
