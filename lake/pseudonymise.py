"""Keyed pseudonymisation of guest contact details: stable tokens, no clear text in the lake."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Pseudonymiser:
    """HMAC-SHA256 tokens under one secret key: the same value gives the same token, and
    nobody without the key can recompute (or reverse) it."""

    key: bytes

    def token(self, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        normalised = value.strip().lower().encode()
        return hmac.new(self.key, normalised, hashlib.sha256).hexdigest()[:32]

    def expr(self, expr: pl.Expr) -> pl.Expr:
        return expr.map_elements(self.token, return_dtype=pl.String)
