"""Folio lines of the stays (bookings not cancelled): room nights and extras.

One ``room`` line per night (amount = ADR, posted at the night audit), plus food and
beverage, spa and minibar lines whose frequency depends on the meal plan, the segment,
the party and the length of stay; amount = quantity x unit price, rounded to cents.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from lake.synthetic.bookings import Bookings, booking_id_expr
from lake.synthetic.calibration import Calibration
from lake.synthetic.guests import guest_id_expr
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
SPA_PER_NIGHT = {"Resort Hotel": 0.07, "City Hotel": 0.035}
MINIBAR_PER_NIGHT = 0.16
FOLIO_ID_WIDTH = 10
DAY = 86_400


def folio_frame(
    b: Bookings, inv: Inventory, calib: Calibration, lo: int, hi: int,
    rng: np.random.Generator, first_line: int,
) -> pl.DataFrame:
    """Folio lines of bookings [lo, hi); line numbers continue from ``first_line``."""
    c = b.cols
    stay = np.flatnonzero(~c["canceled"][lo:hi]) + lo
    m = len(stay)
    nights = c["nights"][stay]
    party = c["adults"][stay] + np.maximum(c["children"][stay], 0)
    prop = c["prop"][stay]
    tpl = c["template"][stay]
    meal, segment = c["meal"][stay], c["segment"][stay]

    fnb_meal = np.array([_FNB_PER_NIGHT.get(x, 0.7) for x in calib.meals])
    fnb_segment = np.array([_FNB_SEGMENT.get(x, 1.0) for x in calib.segments])
    spa_segment = np.array([_SPA_SEGMENT.get(x, 1.0) for x in calib.segments])
    spa_template = np.array([SPA_PER_NIGHT[t] for t in calib.templates])
    fnb_rate = fnb_meal[meal] * fnb_segment[segment] * np.sqrt(np.maximum(party, 1) / 2.0)
    n_fnb = rng.poisson(fnb_rate * nights)
    n_spa = rng.poisson(spa_template[tpl] * spa_segment[segment] * nights)
    n_minibar = rng.binomial(nights, MINIBAR_PER_NIGHT)
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
    item[is_fnb] = np.array(_FNB)[np.searchsorted(np.cumsum(_FNB_W), rng.random(int(is_fnb.sum())) * _FNB_W.sum(), side="right")]
    item[is_spa] = np.array(_SPA)[np.searchsorted(np.cumsum(_SPA_W), rng.random(int(is_spa.sum())) * _SPA_W.sum(), side="right")]
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
