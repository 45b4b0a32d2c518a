"""Declarative data contracts: types, required fields, allowed values, ranges, row rules.

A contract turns string columns into typed ones and gives every row the list of reasons it
breaks the contract (null when it keeps it). Failing rows go to quarantine, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import polars as pl

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
class Rule:
    """A row-level rule over typed (and derived) columns; `ok` is true for a good row."""

    reason: str | Callable[[], pl.Expr]
    ok: Callable[[], pl.Expr]


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

    def type_columns(self, df: pl.DataFrame) -> pl.DataFrame:
        """Cast string columns to their types and collect per-column violations in _reason."""
        for c in self.columns:
            if c.name not in df.columns:
                df = df.with_columns(pl.lit(None, pl.String).alias(c.name))
        raw = {c.name: f"_raw_{c.name}" for c in self.columns}
        df = df.with_columns(
            pl.when(pl.col(c.name).str.strip_chars().is_in(list(self.null_tokens)))
            .then(None).otherwise(pl.col(c.name).str.strip_chars()).alias(raw[c.name])
            for c in self.columns
        )
        df = df.with_columns(_cast(pl.col(raw[c.name]), c).alias(c.name) for c in self.columns)
        checks: list[pl.Expr] = []
        for c in self.columns:
            value, text = pl.col(c.name), pl.col(raw[c.name])
            if c.required:
                checks.append(pl.when(text.is_null()).then(pl.lit(f"missing {c.name}")))
            if c.dtype != pl.String:
                checks.append(pl.when(text.is_not_null() & value.is_null()).then(
                    pl.format(f"unparseable {c.name} '{{}}'", text)))
            if c.allowed is not None:
                checks.append(pl.when(value.is_not_null() & ~value.is_in(sorted(c.allowed))).then(
                    pl.format(f"{c.name} '{{}}' is not one of {sorted(c.allowed)}", text)))
            if c.min is not None:
                checks.append(pl.when(value < c.min).then(
                    pl.format(f"{c.name} {{}} is below {c.min:g}", text)))
            if c.max is not None:
                checks.append(pl.when(value > c.max).then(
                    pl.format(f"{c.name} {{}} is above {c.max:g}", text)))
        df = df.with_columns(_join_reasons(checks, df))
        return df.drop(raw.values())

    def apply_rules(self, df: pl.DataFrame) -> pl.DataFrame:
        """Add row-rule violations (over typed and derived columns) to _reason."""
        checks = [
            pl.when(~rule.ok().fill_null(True)).then(
                rule.reason() if callable(rule.reason) else pl.lit(rule.reason))
            for rule in self.rules
        ]
        return df.with_columns(_join_reasons(checks, df))


def _cast(text: pl.Expr, c: Col) -> pl.Expr:
    if c.dtype == pl.String:
        return text
    if c.dtype == pl.Boolean:
        low = text.str.to_lowercase()
        return pl.when(low.is_in(TRUE_VALUES)).then(True).when(low.is_in(FALSE_VALUES)).then(False)
    if c.dtype == pl.Date:
        return text.str.to_date(c.fmt or "%Y-%m-%d", strict=False)
    if isinstance(c.dtype, pl.Datetime):
        return text.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
    if c.dtype.is_integer():
        # "3.0" is a valid integer from spreadsheets; "3.5" is not.
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.round(0)).then(as_float).cast(c.dtype, strict=False)
    return text.cast(c.dtype, strict=False)


def _join_reasons(checks: list[pl.Expr], df: pl.DataFrame) -> pl.Expr:
    previous = [pl.col(REASON)] if REASON in df.columns else []
    if not checks and not previous:
        return pl.lit(None, pl.String).alias(REASON)
    joined = pl.concat_str(previous + checks, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined).alias(REASON)
