"""Guests: how many bookings each makes (heavy-tailed) and their profile rows."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from lake.synthetic import names
from lake.synthetic.calibration import Calibration

# Bookings per guest ~ Zipf(2.8) capped: ~80% of guests book once, ~30% of bookings are
# repeat bookings, a few frequent travellers book dozens of times.
ZIPF_EXPONENT = 2.8
MAX_BOOKINGS_PER_GUEST = 60
GUEST_ID_WIDTH = 8


def booking_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Bookings per guest, summing exactly to ``n``."""
    parts, total = [], 0
    while total < n:
        draw = np.minimum(rng.zipf(ZIPF_EXPONENT, size=max(1024, int((n - total) / 1.4) + 1)), MAX_BOOKINGS_PER_GUEST)
        parts.append(draw)
        total += int(draw.sum())
    counts = np.concatenate(parts).astype(np.int64)
    cum = np.cumsum(counts)
    g = int(np.searchsorted(cum, n))  # the guest whose bookings reach n
    counts = counts[: g + 1]
    counts[-1] -= int(cum[g] - n)
    return counts


def guest_id_expr(column: str, n_guests: int) -> pl.Expr:
    """``G`` + zero-padded guest number (``G00000123``)."""
    width = max(GUEST_ID_WIDTH, len(str(n_guests)))
    return pl.lit("G") + pl.col(column).cast(pl.String).str.zfill(width)


@dataclass(frozen=True, eq=False)
class GuestProfiles:
    """One entry per guest, indexed by guest number - 1 (ids are ordered by created_at)."""

    number: np.ndarray  # 1-based, the id's digits
    country: np.ndarray  # code into calib-countries + property countries (never NULL)
    market_segment: np.ndarray  # market segment code of the guest's usual bookings
    solo: np.ndarray  # travels alone (bool)
    created_day: np.ndarray  # days since epoch: first booking date
    bookings: np.ndarray
    stays: np.ndarray  # bookings not cancelled


SEGMENT_OF_MARKET = {
    "Corporate": "corporate", "Aviation": "corporate", "Groups": "group",
    "Direct": "leisure", "Online TA": "leisure", "Offline TA/TO": "leisure", "Complementary": "leisure",
}
GUEST_SEGMENTS = ("business", "leisure", "corporate", "group")
LOYALTY_TIERS = ("none", "silver", "gold", "platinum")
BUSINESS_SHARE = 0.45  # solo guests of leisure channels who are business travellers


def trait_key(rng: np.random.Generator, name: str) -> np.uint64:
    """A key for per-guest traits, fixed by the user's seed and ``name`` alone.

    Streams are ``stream(seed, part)`` (``randomness.py``): their seed sequence holds
    ``[seed, crc32(part)]``, so the guests and folio streams share ``seed`` and derive the
    same key, whatever they have drawn already and whichever chunk asks.
    """
    entropy = getattr(rng.bit_generator.seed_seq, "entropy", None) or 0
    seed = entropy[0] if isinstance(entropy, (list, tuple, np.ndarray)) else entropy
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return ss.generate_state(1, np.uint64)[0]


def trait_uniform(number: np.ndarray, key: np.uint64, slot: int = 0) -> np.ndarray:
    """Uniform [0, 1) per guest number (and slot), a pure function of (number, key, slot).

    A splitmix64 hash: per-guest traits need no table of all guests and stay the same in
    every chunk of bookings.
    """
    x = np.asarray(number, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x = x + (key ^ np.uint64((slot * 0xBF58476D1CE4E5B9 + 0x632BE59BD9B4E5) & 0xFFFFFFFFFFFFFFFF))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def guest_segment_codes(market: np.ndarray, solo: np.ndarray, number: np.ndarray, key: np.uint64) -> np.ndarray:
    """Code into ``GUEST_SEGMENTS`` from the market segment names, travelling alone, the number."""
    seg = np.select([market == "corporate", market == "group"], [2, 3], 1).astype(np.int8)
    business = (seg == 1) & solo & (trait_uniform(number, key) < BUSINESS_SHARE)
    return np.where(business, 0, seg).astype(np.int8)


def guests_frame(g: GuestProfiles, calib: Calibration, countries: tuple[str, ...], rng: np.random.Generator) -> pl.DataFrame:
    """``guest_id,first_name,last_name,email,phone,country,birth_year,segment,loyalty_tier,created_at``."""
    G = len(g.number)
    market = np.array([SEGMENT_OF_MARKET.get(s, "leisure") for s in calib.segments])[g.market_segment]
    # Solo guests of leisure channels are often business travellers booking themselves; the
    # draw is a trait of the guest (folio.py derives the same segment for their stays).
    rng.random(G)  # the former draw, kept so that the other columns' draws are unchanged
    code = guest_segment_codes(market, g.solo, g.number, trait_key(rng, "guest-segment"))
    segment = np.array(GUEST_SEGMENTS)[code]

    region = names.region_of(g.country, countries)
    first_all, f_start, f_size = names.flat_lists(names.FIRST)
    last_all, l_start, l_size = names.flat_lists(names.LAST)
    first = f_start[region] + (rng.random(G) * f_size[region]).astype(np.int64)
    last = l_start[region] + (rng.random(G) * l_size[region]).astype(np.int64)
    suffix = rng.integers(1, 1000, G)
    has_suffix = rng.random(G) < 0.65
    corporate_mail = np.isin(segment, ["corporate", "business"]) & (rng.random(G) < 0.6)
    domain = np.where(
        corporate_mail,
        len(names.PUBLIC_DOMAINS) + (rng.random(G) * len(names.CORPORATE_DOMAINS)).astype(np.int64),
        np.searchsorted(np.cumsum(names.PUBLIC_WEIGHTS), rng.random(G) * sum(names.PUBLIC_WEIGHTS), side="right"),
    )
    domain = np.minimum(domain, len(names.PUBLIC_DOMAINS) + len(names.CORPORATE_DOMAINS) - 1)
    dial = names.dial_codes(countries)[g.country]
    subscriber = rng.integers(100_000_000, 1_000_000_000, G)

    working = np.isin(segment, ["corporate", "business"])
    birth_year = np.clip(
        np.round(np.where(working, rng.normal(1978, 10, G), rng.normal(1974, 14, G))), 1935, 1998
    ).astype(np.int32)
    # Loyalty reflects the stays the guest completed.
    score = g.stays + rng.normal(0, 0.6, G)
    tier = np.searchsorted(np.array([1.8, 3.8, 7.5]), score, side="right")

    first_s = pl.Series(first_all).gather(pl.Series(first))
    last_s = pl.Series(last_all).gather(pl.Series(last))
    frame = pl.DataFrame(
        {
            "num": g.number,
            "first_name": first_s,
            "last_name": last_s,
            "suffix": np.where(has_suffix, suffix, -1),
            "domain": pl.Series(list(names.PUBLIC_DOMAINS + names.CORPORATE_DOMAINS)).gather(pl.Series(domain)),
            "dial": dial,
            "subscriber": subscriber,
            "country": pl.Series(list(countries)).gather(pl.Series(g.country)),
            "birth_year": birth_year,
            "segment": segment,
            "loyalty_tier": pl.Series(list(LOYALTY_TIERS)).gather(pl.Series(tier)),
            "created_at": pl.Series(g.created_day.astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d"),
        }
    )
    return frame.select(
        guest_id_expr("num", G).alias("guest_id"),
        "first_name",
        "last_name",
        (
            pl.col("first_name").str.to_lowercase()
            + pl.lit(".")
            + pl.col("last_name").str.to_lowercase().str.replace_all(" ", "")
            + pl.when(pl.col("suffix") >= 0).then(pl.col("suffix").cast(pl.String)).otherwise(pl.lit(""))
            + pl.lit("@")
            + pl.col("domain")
        ).alias("email"),
        (pl.lit("+") + pl.col("dial").cast(pl.String) + pl.col("subscriber").cast(pl.String)).alias("phone"),
        "country",
        "birth_year",
        "segment",
        "loyalty_tier",
        "created_at",
    )
