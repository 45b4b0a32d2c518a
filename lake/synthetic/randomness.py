"""Named, seed-derived random streams.

Every part of the chain (bookings, guests, folio, staff, camera) draws from its own stream,
derived from the user's seed and the part's name. The same seed therefore gives the same
files, and the staff or camera files do not change when only the number of bookings does.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator determined by (seed, name) alone."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights`` (vectorised, int32)."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    idx = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(idx, len(cdf) - 1).astype(np.int32)


def uniform_int(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """For each element, an integer in [0, counts) (counts >= 1)."""
    return np.minimum((rng.random(len(counts)) * counts).astype(np.int64), counts - 1)
