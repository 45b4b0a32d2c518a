"""Keyed pseudonymisation of guest contact details: stable tokens, no clear text in the lake."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from innsight.settings import get_settings


def token(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    key = get_settings().pseudonym_key.get_secret_value().encode()
    normalised = value.strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:32]


def token_expr(expr: pl.Expr) -> pl.Expr:
    return expr.map_elements(token, return_dtype=pl.String)
