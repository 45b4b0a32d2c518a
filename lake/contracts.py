"""Declarative data contracts: types, required fields, allowed values, ranges, row rules.

A contract turns string columns into typed ones and gives every row the list of reasons it
breaks the contract (null when it keeps it). Failing rows go to quarantine, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import polars as pl

from lake.properties import PropertyMaster
from lake.pseudonymise import Pseudonymiser

REASON = "_reason"

TRUE_VALUES = ["1", "true", "t", "yes", "y"]
FALSE_VALUES = ["0", "false", "f", "no", "n"]


@dataclass(frozen=True)
class Col:
    """One input column: its target type and the rules its values must keep."""

    name: str
    dtype: pl.DataType = pl.String
    required: bool = False
    allowed: frozenset[str] | None = None
    min: float | None = None
    max: float | None = None
    fmt: str | None = None  # strptime format for dates


@dataclass(frozen=True)
class Reference:
    """What rows are checked and derived against: the group's property master and the
    pseudonymiser of contact details. Built by the entry point from the settings."""

    properties: PropertyMaster
    pseudonymiser: Pseudonymiser


@dataclass(frozen=True)
class Rule:
    """A row-level rule over typed (and derived) columns; `ok` is true for a good row."""

    reason: str | Callable[[], pl.Expr]
    ok: Callable[[Reference], pl.Expr]


@dataclass
class Contract:
    columns: list[Col]
    rules: list[Rule] = field(default_factory=list)
    null_tokens: tuple[str, ...] = ("", "NULL", "NA", "null", "None")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def missing_columns(self, available: list[str]) -> list[str]:
        return [c.name for c in self.columns if c.required and c.name not in available]

    def type_columns(self, df: pl.DataFrame, as_read: bool = False) -> pl.DataFrame:
        """Cast string columns to their types and collect per-column violations in _reason.

        A value is read as written less surrounding whitespace, a null token as null. A typed
        column whose every value casts as it stands (the usual case) skips that cleaning: no
        null token and no value with surrounding whitespace casts, so its values and its text
        are the cleaned ones already. ``as_read``: the reader vouches that no value has
        surrounding whitespace or is a null token (``Parsed.as_read``), so no text column is
        cleaned either.
        """
        df = df.with_columns(pl.lit(None, pl.String).alias(c.name)
                             for c in self.columns if c.name not in df.columns)
        raw = {c.name: f"_raw_{c.name}" for c in self.columns}
        typed = [c for c in self.columns if c.dtype != pl.String]
        direct = df.select(_cast(pl.col(c.name), c).alias(c.name) for c in typed)
        clean = {c.name for c in typed if direct[c.name].null_count() == df[c.name].null_count()}
        as_is = {c.name for c in self.columns if c.dtype == pl.String} if as_read else set()
        clean |= as_is
        df = df.with_columns(pl.col(c.name).alias(raw[c.name]) for c in self.columns)
        df = df.with_columns(pl.col(raw[c.name]).str.strip_chars()
                             for c in self.columns if c.name not in clean)
        # Nulling by a mask rebuilds a text column (the costliest step of the cleaning):
        # only a column holding a null token pays it. The reader nulls exact tokens as it
        # parses, so usually only the rare padded token (" NULL ") is left to find here.
        tokens = list(self.null_tokens)
        unclean = [raw[c.name] for c in self.columns if c.name not in clean]
        found = df.select(pl.col(unclean).is_in(tokens).any()).row(0, named=True) if unclean else {}
        df = df.with_columns(_nulled(pl.col(name), tokens).alias(name)
                             for name, any_ in found.items() if any_)
        df = df.with_columns(*[direct[name] for name in clean - as_is],
                             *[_cast(pl.col(raw[c.name]), c).alias(c.name)
                               for c in self.columns if c.name not in clean])
        # "3.0" from a spreadsheet fails a direct integer cast: recast only such columns.
        lossy = [c for c in self.columns if c.dtype.is_integer() and c.name not in clean
                 and df[c.name].null_count() > df[raw[c.name]].null_count()]
        df = df.with_columns(_whole_number(pl.col(raw[c.name]), c).alias(c.name) for c in lossy)
        checks: list[tuple[pl.Expr, pl.Expr]] = []
        for c in self.columns:
            value, text = pl.col(c.name), pl.col(raw[c.name])
            if c.required:
                checks.append((text.is_null(), pl.lit(f"missing {c.name}")))
            if c.dtype != pl.String and c.name not in clean:
                checks.append((text.is_not_null() & value.is_null(),
                               pl.format(f"unparseable {c.name} '{{}}'", text)))
            if c.allowed is not None:
                checks.append((value.is_not_null() & ~value.is_in(sorted(c.allowed)),
                               pl.format(f"{c.name} '{{}}' is not one of {sorted(c.allowed)}", text)))
            if c.min is not None:
                checks.append((value < c.min, pl.format(f"{c.name} {{}} is below {c.min:g}", text)))
            if c.max is not None:
                checks.append((value > c.max, pl.format(f"{c.name} {{}} is above {c.max:g}", text)))
        return _with_reasons(df, checks).drop(raw.values())

    def apply_rules(self, df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
        """Add row-rule violations (over typed and derived columns) to _reason."""
        return _with_reasons(df, [
            (~rule.ok(ref).fill_null(True),
             rule.reason() if callable(rule.reason) else pl.lit(rule.reason))
            for rule in self.rules])


def _with_reasons(df: pl.DataFrame, checks: list[tuple[pl.Expr, pl.Expr]]) -> pl.DataFrame:
    """Append to _reason the reason of every check a row fails.

    Reasons are formatted only for the failing rows (the few), not for every row.
    """
    if REASON not in df.columns:
        df = df.with_columns(pl.lit(None, pl.String).alias(REASON))
    if not checks:
        return df
    failing = pl.any_horizontal(bad.fill_null(False) for bad, _ in checks)
    df = df.with_columns(_failing=failing)
    bad_rows = df.filter(pl.col("_failing"))
    if bad_rows.is_empty():
        return df.drop("_failing")
    reasons = [pl.when(bad.fill_null(False)).then(reason) for bad, reason in checks]
    joined = pl.concat_str([pl.col(REASON), *reasons], separator="; ", ignore_nulls=True)
    bad_rows = bad_rows.with_columns(joined.alias(REASON))
    return pl.concat([df.filter(~pl.col("_failing")), bad_rows]).drop("_failing")


def _nulled(text: pl.Expr, null_tokens: list[str]) -> pl.Expr:
    return pl.when(text.is_in(null_tokens)).then(None).otherwise(text)


def _cast(text: pl.Expr, c: Col) -> pl.Expr:
    if c.dtype == pl.String:
        return text
    if c.dtype == pl.Boolean:
        # one lookup (a chain of when/is_in took twice the time), other values null
        words = dict.fromkeys(TRUE_VALUES, True) | dict.fromkeys(FALSE_VALUES, False)
        return text.str.to_lowercase().replace_strict(list(words), list(words.values()),
                                                      default=None, return_dtype=pl.Boolean)
    if c.dtype == pl.Date:
        return text.str.to_date(c.fmt or "%Y-%m-%d", strict=False)
    if isinstance(c.dtype, pl.Datetime):
        return text.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
    return text.cast(c.dtype, strict=False)


def _whole_number(text: pl.Expr, c: Col) -> pl.Expr:
    as_float = text.cast(pl.Float64, strict=False)
    return pl.when(as_float == as_float.round(0)).then(as_float).cast(c.dtype, strict=False)
