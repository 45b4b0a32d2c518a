"""What a source is: folder, file patterns, contract, derivations, bronze schema and key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Callable, Literal

import polars as pl

from lake.contracts import Contract, Reference, Rule

# typed input -> bronze columns, given the reference data (property master, pseudonymiser)
Frame = Callable[[pl.DataFrame, Reference], pl.DataFrame]


def _identity(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    return df


@dataclass
class Source:
    name: str  # bronze table
    description: str
    folder: str  # under landing/
    patterns: tuple[str, ...]
    kind: Literal["csv", "jsonl"]
    contract: Contract
    schema: dict[str, pl.DataType]  # bronze business columns, in order
    keys: list[str]
    derive: Frame = _identity  # typed input -> bronze columns (before row rules)
    insert_only: bool = False  # event streams: a key once written is never rewritten
    redact: tuple[str, ...] = ()  # input fields never stored in clear (quarantine raw too)
    json_fields: list[str] = field(default_factory=list)

    def matches(self, file_name: str) -> bool:
        return any(fnmatch(file_name, p) for p in self.patterns)

    @property
    def table(self) -> str:
        return f"bronze/{self.name}"


def known_hotel() -> Rule:
    return Rule(
        reason=lambda: pl.format("unknown hotel '{}' (not in the property master)", pl.col("hotel")),
        ok=lambda ref: pl.col("hotel").is_null() | pl.col("hotel").is_in(ref.properties.names()),
    )


def stable_hash(*exprs: pl.Expr, length: int = 16) -> pl.Expr:
    """A hash of the values that is stable across processes and library versions (ids)."""
    joined = pl.concat_str([e.cast(pl.String).fill_null("") for e in exprs], separator="\x1f")
    return joined.map_elements(lambda s: hashlib.sha1(s.encode()).hexdigest()[:length],
                               return_dtype=pl.String)
