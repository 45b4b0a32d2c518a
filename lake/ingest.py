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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from lake.contact_vault import ContactVault
from lake.contracts import REASON, Reference
from lake.delta_tables import ROW_HASH, Lake
from lake.mapping import PmsMapping, load_mappings
from lake.properties import PropertyMaster
from lake.pseudonymise import Pseudonymiser
from lake.readers import LINE, RAW, LandingFileError, Parsed, read_csv, read_jsonl
from lake.sources import SOURCES, Source, source_for_file
from lake.sources.pms import OPTIONAL_COLUMNS, REFERENCE_LAYOUT
from lake.tables import INGEST_LOG, QUARANTINE, TS, bronze


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
        parsed, _ = self._parse(path, source)
        rows = self._validated(parsed, source)[0]
        return [*parsed.rejects["reason"].to_list(),
                *rows.filter(pl.col(REASON).is_not_null())[REASON].to_list()]

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
        """Ingest one landing file; a file already ingested (same content) is skipped."""
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
        try:
            parsed, result.layout = self._parse(path, source)
        except LandingFileError as exc:
            self._log(result, started, status="failed", error=exc.problem)
            raise

        rows, result.duplicates_collapsed = self._validated(parsed, source)
        bad = rows.filter(pl.col(REASON).is_not_null())
        good = rows.filter(pl.col(REASON).is_null())
        rejects = pl.concat([
            parsed.rejects.select(LINE, RAW, pl.col("reason").alias(REASON)),
            bad.select(LINE, _redacted_raw(source, bad), REASON),
        ])
        result.rows_read = parsed.rows.height + parsed.rejects.height
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
        business = list(source.schema)
        loaded = good.select(
            *[pl.col(c).cast(t) for c, t in source.schema.items()],
            pl.lit(result.source_file).alias("_source_file"),
            pl.lit(result.batch_id).alias("_batch_id"),
            pl.lit(started).cast(TS).alias("_ingested_at"),
            pl.struct(business).hash().cast(pl.String).alias(ROW_HASH),
        )
        merged = self.lake.merge(source.table, loaded, source.keys, insert_only=source.insert_only)
        result.rows_loaded, result.rows_inserted, result.rows_updated = (
            loaded.height, merged.inserted, merged.updated)
        # 3. the clear contact fields, encrypted, into the vault (never the lake)
        if source.redact and self.vault is not None and good.height:
            self.vault.put(_contacts(good, source))
        # 4. ingest log: the file counts as done only now
        self._log(result, started, status="loaded")
        return result

    def _validated(self, parsed: Parsed, source: Source) -> tuple[pl.DataFrame, int]:
        """Typed, derived and checked rows (reasons in _reason); identical repeats collapsed."""
        rows = source.contract.type_columns(parsed.rows)
        rows = source.derive(rows, self.reference)
        rows = source.contract.apply_rules(rows, self.reference)
        return _flag_duplicate_keys(rows, source)

    def _parse(self, path: Path, source: Source) -> tuple[Parsed, str]:
        if source.kind == "jsonl":
            return read_jsonl(path, source.json_fields), "jsonl"
        header, parsed = read_csv(path)
        if source is not SOURCES["pms_bookings"]:
            missing = source.contract.missing_columns(header)
            if missing:
                raise LandingFileError(path, f"missing required columns {missing}; "
                                             f"header has {header}")
            return parsed, "csv"
        return self._as_reference_layout(path, header, parsed)

    def _as_reference_layout(self, path: Path, header: list[str],
                             parsed: Parsed) -> tuple[Parsed, str]:
        """PMS bookings: the reference layout as is, or the first YAML mapping that fits."""
        if set(REFERENCE_LAYOUT) <= set(header):
            keep = [c for c in header if c in REFERENCE_LAYOUT + OPTIONAL_COLUMNS]
            return Parsed(parsed.rows.select(LINE, RAW, *keep), parsed.rejects), "reference"
        for mapping in self.mappings:
            if mapping.matches(header):
                return Parsed(mapping.apply(parsed.rows), parsed.rejects), f"mapping:{mapping.name}"
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


def _flag_duplicate_keys(rows: pl.DataFrame, source: Source) -> tuple[pl.DataFrame, int]:
    """In one file, identical repeats collapse; a key repeated with other content is quarantined."""
    keys = source.keys
    valid = rows.filter(pl.col(REASON).is_null())
    repeated = valid.group_by(keys).len().filter(pl.col("len") > 1).drop("len")
    if repeated.is_empty():  # the usual case: nothing to do
        return rows, 0
    business = [c for c in source.schema if c in rows.columns]
    dups = (valid.join(repeated, on=keys, how="semi", nulls_equal=True)
            .select(*keys, LINE, pl.struct(business).hash().alias("_content")).sort(LINE))
    first = dups.group_by(keys, maintain_order=True).agg(
        pl.col(LINE).first().alias("_first_line"), pl.col("_content").first().alias("_first_content"))
    later = dups.join(first, on=keys, nulls_equal=True).filter(pl.col(LINE) > pl.col("_first_line"))
    identical = later.filter(pl.col("_content") == pl.col("_first_content"))[LINE]
    conflicts = later.filter(pl.col("_content") != pl.col("_first_content")).select(
        LINE, pl.format("duplicate {} '{}' with different content (first at line {})",
                        pl.lit("/".join(keys)),
                        pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator="/"),
                        pl.col("_first_line")).alias("_conflict"))
    rows = rows.filter(~pl.col(LINE).is_in(identical.implode())).join(conflicts, on=LINE, how="left",
                                                                   maintain_order="left")
    rows = rows.with_columns(pl.coalesce(REASON, "_conflict").alias(REASON)).drop("_conflict")
    return rows, identical.len()


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
