"""Categories as the integer codes a booster was trained on: the one encoding both models'
one-row (serving) paths use."""

from __future__ import annotations

from typing import Iterable


def category_codes(model, columns: Iterable[str]) -> dict[str, dict[str, int]]:
    """``{column: {category: code}}`` from the model's fitted ``categories`` (training order),
    built on first use and kept on the model (pickles of older versions lack it)."""
    codes = model.__dict__.get("_codes")
    if codes is None:
        codes = model._codes = {c: {v: i for i, v in enumerate(model.categories.get(c, []))}
                                for c in columns}
    return codes
