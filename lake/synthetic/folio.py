"""Folio lines of the stays (bookings not cancelled): room nights and extras.

One ``room`` line per night (amount = ADR, posted at the night audit), plus food and
beverage, spa and minibar lines whose frequency depends on the meal plan, the segment,
the party and the length of stay; amount = quantity x unit price, rounded to cents.

Which F&B and spa items a stay orders depends on the guest: their segment (business
guests use the bar, breakfast and room service; leisure guests the spa and dinners; groups
lunch and the pool; families pool snacks and the minibar) and a taste of their own, drawn
once per guest from the seed (a concentrated, Dirichlet-like vector over the items whose
mean is the segment's mix), so a guest's favourites repeat across stays. Each guest also
has their own propensity for the spa and the minibar (mean 1). Segment mixes are the global
weights tilted by segment, so category counts are unchanged and the item mix stays close.

Only lines posted before a cut-off instant are written (the chain's end day, 00:00 UTC): a
stay in progress has the nights and extras posted so far, a future stay none.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from lake.synthetic.bookings import Bookings, booking_id_expr
from lake.synthetic.calibration import Calibration
from lake.synthetic.guests import (
    SEGMENT_OF_MARKET, guest_id_expr, guest_segment_codes, trait_key, trait_uniform,
)
from lake.synthetic.rooms import Inventory

CATEGORIES = ("room", "fnb", "spa", "minibar")
# (description, unit price at a property whose mean base rate is 100, category)
ITEMS = (
    ("Room night", 0.0, "room"),
    ("Restaurant dinner", 32.0, "fnb"),
    ("Lunch", 19.0, "fnb"),
    ("Bar", 9.5, "fnb"),
    ("Room service", 24.0, "fnb"),
    ("Breakfast", 14.0, "fnb"),
    ("Massage 60 min", 75.0, "spa"),
    ("Facial treatment", 62.0, "spa"),
    ("Sauna and pool pass", 22.0, "spa"),
    ("Couples massage", 140.0, "spa"),
    ("Minibar", 6.0, "minibar"),
)
_FNB = [i for i, it in enumerate(ITEMS) if it[2] == "fnb"]
_FNB_W = np.array([0.30, 0.18, 0.27, 0.15, 0.10])
_SPA = [i for i, it in enumerate(ITEMS) if it[2] == "spa"]
_SPA_W = np.array([0.45, 0.2, 0.25, 0.10])
_MINIBAR = ITEMS.index(("Minibar", 6.0, "minibar"))
# Extra F&B orders per night by meal plan: a room-only guest eats out more in the hotel.
_FNB_PER_NIGHT = {"SC": 0.9, "BB": 0.7, "HB": 0.35, "FB": 0.15}
# Multipliers by market segment (business travellers use the bar, groups eat in packages).
_FNB_SEGMENT = {"Corporate": 1.3, "Aviation": 1.2, "Groups": 0.6, "Complementary": 1.0}
_SPA_SEGMENT = {"Corporate": 0.5, "Aviation": 0.4, "Groups": 0.7, "Direct": 1.3, "Online TA": 1.1}
SPA_PER_NIGHT = {"resort": 0.07, "city": 0.035}  # by property kind
MINIBAR_PER_NIGHT = 0.16
# Item mix by guest segment (GUEST_SEGMENTS order: business, leisure, corporate, group) as
# multipliers of the global weights, then for a party with children.
_FNB_TILT = np.array([
    # dinner, lunch, bar, room service, breakfast
    [0.55, 0.8, 1.6, 1.6, 1.9],  # business
    [1.35, 1.0, 0.75, 0.8, 0.8],  # leisure
    [0.8, 1.1, 1.45, 1.3, 1.45],  # corporate
    [1.2, 1.45, 0.9, 0.5, 0.9],  # group
])
_FNB_FAMILY = np.array([1.0, 1.6, 0.35, 1.2, 1.0])  # pool-side lunch and snacks, less bar
_SPA_TILT = np.array([
    # massage, facial, sauna and pool, couples massage
    [1.35, 0.5, 1.25, 0.15],  # business
    [0.95, 1.25, 0.8, 1.6],  # leisure
    [1.3, 0.7, 1.15, 0.3],  # corporate
    [0.8, 0.9, 1.6, 0.5],  # group
])
_SPA_FAMILY = np.array([0.7, 0.7, 2.2, 0.2])
# Share of F&B and spa orders per (segment, no children / children), as generated: leisure
# guests place most orders, so their mix stays near the global one.
_ORDER_SHARE = np.array([[0.044, 0.003], [0.77, 0.08], [0.041, 0.001], [0.057, 0.004]])
_MINIBAR_FAMILY = 1.5  # families raid the minibar (others scaled so the overall rate stays)
TASTE_SPREAD = 1.6  # scale of a guest's logistic taste noise: larger = more concentrated
TASTE_SHARE = 0.8  # share of an order drawn from the guest's taste (the rest: segment mix)
PROPENSITY_SIGMA = 0.7  # spread of a guest's own spa and minibar log-rates
FOLIO_ID_WIDTH = 10
DAY = 86_400


def _logistic(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u) - np.log1p(-u)


def _mixes(weights: np.ndarray, tilt: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Item mix per (segment, family): shape (4, 2, k), rows summing to 1.

    The global weights tilted by segment and family, rescaled per item so that the mixes
    averaged over the usual share of orders per (segment, family) give the global weights.
    """
    w = weights[None, None, :] * tilt[:, None, :] * np.stack([np.ones_like(family), family])[None]
    scale = np.ones_like(weights)
    for _ in range(50):
        mix = w * scale
        mix = mix / mix.sum(axis=-1, keepdims=True)
        scale = scale * weights / np.einsum("sf,sfk->k", _ORDER_SHARE, mix)
    return mix


def _taste_logits(mix: np.ndarray) -> np.ndarray:
    """Base logits b such that the mean of softmax(b + TASTE_SPREAD * logistic noise) = mix.

    Fixed-point iterations on a fixed sample (deterministic, computed once per call, tiny).
    """
    noise = TASTE_SPREAD * _logistic(np.random.default_rng(12345).random((4096, mix.shape[-1])))
    b = np.log(mix)
    for _ in range(30):
        z = b[..., None, :] + noise
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        mean = (z / z.sum(axis=-1, keepdims=True)).mean(axis=-2)
        b = b + np.log(mix / mean)
    return b


_FNB_MIX = _mixes(_FNB_W / _FNB_W.sum(), _FNB_TILT, _FNB_FAMILY)
_SPA_MIX = _mixes(_SPA_W / _SPA_W.sum(), _SPA_TILT, _SPA_FAMILY)
_FNB_LOGIT = _taste_logits(_FNB_MIX)
_SPA_LOGIT = _taste_logits(_SPA_MIX)


def _pick_by_row(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each row of probabilities (rows sum to ~1), the index drawn by uniform ``u``."""
    cdf = np.cumsum(p, axis=1)
    return np.minimum((cdf <= (u * cdf[:, -1])[:, None]).sum(axis=1), p.shape[1] - 1)


def _choose(
    rng: np.random.Generator, line_stay: np.ndarray, stay_guest: np.ndarray, stay_cell: tuple[np.ndarray, np.ndarray],
    mix: np.ndarray, logit: np.ndarray, key: np.uint64, first_slot: int,
) -> np.ndarray:
    """Item index (within the category) of each line: the guest's taste blended with the mix."""
    k = mix.shape[-1]
    stays, inverse = np.unique(line_stay, return_inverse=True)  # only stays with such lines
    seg, fam = stay_cell[0][stays], stay_cell[1][stays]
    noise = np.stack([_logistic(trait_uniform(stay_guest[stays], key, first_slot + j)) for j in range(k)], axis=1)
    z = logit[seg, fam] + TASTE_SPREAD * noise
    taste = np.exp(z - z.max(axis=1, keepdims=True))
    taste /= taste.sum(axis=1, keepdims=True)
    p = TASTE_SHARE * taste + (1 - TASTE_SHARE) * mix[seg, fam]
    return _pick_by_row(p[inverse.ravel()], rng.random(len(line_stay)))


def folio_frame(
    b: Bookings, inv: Inventory, calib: Calibration, lo: int, hi: int,
    rng: np.random.Generator, first_line: int, cut: int,
) -> pl.DataFrame:
    """Folio lines of bookings [lo, hi) posted before ``cut`` (seconds since the epoch);
    line numbers continue from ``first_line``."""
    c = b.cols
    stay = np.flatnonzero(~c["canceled"][lo:hi]) + lo
    m = len(stay)
    nights = c["nights"][stay]
    party = c["adults"][stay] + np.maximum(c["children"][stay], 0)
    prop = c["prop"][stay]
    meal, segment = c["meal"][stay], c["segment"][stay]

    fnb_meal = np.array([_FNB_PER_NIGHT.get(x, 0.7) for x in calib.meals])
    fnb_segment = np.array([_FNB_SEGMENT.get(x, 1.0) for x in calib.segments])
    spa_segment = np.array([_SPA_SEGMENT.get(x, 1.0) for x in calib.segments])
    spa_kind = np.array([SPA_PER_NIGHT[p.kind] for p in inv.properties])
    fnb_rate = fnb_meal[meal] * fnb_segment[segment] * np.sqrt(np.maximum(party, 1) / 2.0)

    # The guest: segment (as in the guests file), family party, own propensities and taste.
    guest = c["guest"][stay]
    key = trait_key(rng, "folio-taste")
    market = np.array([SEGMENT_OF_MARKET.get(x, "leisure") for x in calib.segments])[segment]
    solo = (c["adults"][stay] == 1) & (c["children"][stay] <= 0)
    gseg = guest_segment_codes(market, solo, guest, trait_key(rng, "guest-segment")).astype(np.int64)
    family = (c["children"][stay] > 0).astype(np.int64)
    a = PROPENSITY_SIGMA * np.sqrt(3) / np.pi  # logistic noise scaled to sd PROPENSITY_SIGMA
    mean_log = -np.log(np.pi * a / np.sin(np.pi * a))  # E[exp(a L)] = pi a / sin(pi a): mean 1
    spa_own = np.exp(mean_log + a * _logistic(trait_uniform(guest, key, 0)))
    mb_own = np.exp(mean_log + a * _logistic(trait_uniform(guest, key, 1)))
    mb_family = np.where(family == 1, _MINIBAR_FAMILY, 1.0)
    mb_family = mb_family / max(float(np.average(mb_family, weights=nights)), 1e-9) if m else mb_family

    n_fnb = rng.poisson(fnb_rate * nights)
    n_spa = rng.poisson(spa_kind[prop] * spa_segment[segment] * spa_own * nights)
    n_minibar = rng.binomial(nights, np.minimum(MINIBAR_PER_NIGHT * mb_own * mb_family, 0.95))
    counts = np.stack([nights, n_fnb, n_spa, n_minibar], axis=1)  # (m, 4)
    per_stay = counts.sum(axis=1)
    total = int(per_stay.sum())

    owner = np.repeat(np.arange(m), per_stay)  # stay of each line
    start = np.concatenate([[0], np.cumsum(per_stay)[:-1]])
    k = np.arange(total) - start[owner]  # line number within the stay
    edges = np.cumsum(counts, axis=1)  # end of each category's lines within the stay
    category = np.zeros(total, dtype=np.int8)
    for j in range(3):
        category += k >= edges[owner, j]
    night = k  # room lines come first: their index is the night

    item = np.zeros(total, dtype=np.int64)
    is_fnb, is_spa, is_mb = category == 1, category == 2, category == 3
    cell = (gseg, family)
    item[is_fnb] = np.array(_FNB)[_choose(rng, owner[is_fnb], guest, cell, _FNB_MIX, _FNB_LOGIT, key, 10)]
    item[is_spa] = np.array(_SPA)[_choose(rng, owner[is_spa], guest, cell, _SPA_MIX, _SPA_LOGIT, key, 20)]
    item[is_mb] = _MINIBAR

    level = inv.base_rate.sum(axis=1) / np.maximum(inv.n_types, 1) / 100.0  # price level
    base_price = np.array([it[1] for it in ITEMS])[item] * level[prop[owner]]
    unit = np.round(base_price * np.exp(rng.normal(0, 0.18, total)), 2)
    unit = np.where(category == 0, c["adr"][stay][owner], np.maximum(unit, 0.5))
    line_party = np.maximum(party[owner], 1)
    qty = np.ones(total, dtype=np.int64)
    qty[is_fnb] = 1 + (rng.random(int(is_fnb.sum())) * np.minimum(line_party[is_fnb], 4)).astype(np.int64)
    qty[is_spa] = 1 + (rng.random(int(is_spa.sum())) < np.where(line_party[is_spa] >= 2, 0.3, 0.05))
    qty[is_mb] = 1 + (rng.random(int(is_mb.sum())) * 4).astype(np.int64)
    amount = np.round(qty * unit, 2)

    arrival = c["arrival"][stay][owner] * DAY
    stay_len = nights[owner] * DAY
    posted = np.where(
        category == 0,
        arrival + night * DAY + 22 * 3600 + (rng.random(total) * 7200).astype(np.int64),  # night audit
        arrival + 14 * 3600 + (rng.random(total) * (stay_len - 3 * 3600)).astype(np.int64),  # 14:00 - 11:00
    )
    # Nothing posted at or after the cut-off (drawn all the same: the draws stay aligned).
    posted_by = np.flatnonzero(posted < cut)
    owner, category, item = owner[posted_by], category[posted_by], item[posted_by]
    qty, unit, amount, posted = qty[posted_by], unit[posted_by], amount[posted_by], posted[posted_by]
    total = len(posted_by)
    order = np.lexsort((np.arange(total), posted, owner))

    names = [p.name for p in inv.properties]
    frame = pl.DataFrame(
        {
            "line": np.arange(first_line + 1, first_line + total + 1, dtype=np.int64),
            "booking_number": (stay[owner] + 1)[order],
            "hotel": pl.Series(names).gather(pl.Series(prop[owner][order].astype(np.int64))),
            "guest_number": c["guest"][stay][owner][order],
            "posted": posted[order],
            "category": pl.Series(list(CATEGORIES)).gather(pl.Series(category[order].astype(np.int64))),
            "description": pl.Series([it[0] for it in ITEMS]).gather(pl.Series(item[order])),
            "quantity": qty[order],
            "unit_price": unit[order],
            "amount": amount[order],
        }
    )
    width = max(FOLIO_ID_WIDTH, len(str(first_line + total)))
    return frame.select(
        (pl.lit("FL") + pl.col("line").cast(pl.String).str.zfill(width)).alias("folio_line_id"),
        booking_id_expr("booking_number", len(b)).alias("booking_id"),
        "hotel",
        guest_id_expr("guest_number", b.n_guests).alias("guest_id"),
        pl.from_epoch("posted", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("posted_at"),
        "category",
        "description",
        "quantity",
        "unit_price",
        "amount",
    )
