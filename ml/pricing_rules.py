"""Business rules of the pricing optimiser and the simulated competitor rate.

The rules live in one small dataclass so that revenue managers (and tests) can read and
change them in one place. Priority when rules conflict: floor/ceiling are hard, then the
maximum daily change, then the band around the competitor average (the price closest to the
band that the harder rules allow is chosen).

There is NO competitor data in the platform. `simulated_competitor_avg` derives a
deterministic, clearly *simulated* competitor average from the market's own seasonal ADR
(median ADR of the same hotel x room type x month x weekday over the training period) times
seeded noise. Replace it with a real rate-shopping feed when one exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PricingRules:
    floor_factor: float = 0.4  # floor = base_rate x floor_factor
    ceiling_factor: float = 3.0  # ceiling = base_rate x ceiling_factor
    max_daily_change: float = 0.15  # |p_t / p_{t-1} - 1| <= this, on the suggested path
    competitor_band: float = 0.25  # p within competitor_avg x (1 +- band)
    grid_points: int = 48  # log-spaced candidate prices between floor and ceiling

    def as_params(self) -> dict[str, float]:
        return {f"rule_{k}": v for k, v in asdict(self).items()}


COMPETITOR_NOISE = 0.06  # +-6% uniform, deterministic per hotel x room type x date
COMPETITOR_HASH_KEY = "innsight-compet1"  # 16 characters: the noise seed


def competitor_noise(hotel: pd.Series, room_type: pd.Series, date: pd.Series) -> np.ndarray:
    """Deterministic multiplicative noise in [1 - COMPETITOR_NOISE, 1 + COMPETITOR_NOISE]."""
    key = (hotel.astype(str).to_numpy() + "|" + room_type.astype(str).to_numpy() + "|"
           + pd.to_datetime(date).dt.strftime("%Y-%m-%d").to_numpy())
    h = pd.util.hash_array(key.astype(object), hash_key=COMPETITOR_HASH_KEY)
    u = (h % np.uint64(1_000_003)).astype(np.float64) / 1_000_003.0
    return 1.0 + COMPETITOR_NOISE * (2.0 * u - 1.0)


def seasonal_adr_profile(daily: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Median ADR by hotel x room type x month x weekday (and coarser fallbacks) from `daily`
    (columns hotel, room_type, date, adr), only days with rooms sold."""
    d = daily.loc[daily["adr"].notna() & (daily["adr"] > 0), ["hotel", "room_type", "date", "adr"]].copy()
    d["month"] = d["date"].dt.month
    d["dow"] = d["date"].dt.dayofweek
    return {
        "mdw": d.groupby(["hotel", "room_type", "month", "dow"], as_index=False)["adr"].median(),
        "m": d.groupby(["hotel", "room_type", "month"], as_index=False)["adr"].median(),
        "rt": d.groupby(["hotel", "room_type"], as_index=False)["adr"].median(),
    }


def seasonal_adr(profile: dict[str, pd.DataFrame], frame: pd.DataFrame,
                 base_rate: pd.Series) -> np.ndarray:
    """The profile's seasonal median ADR for each row of `frame` (hotel, room_type, date),
    falling back to month, then room type, then the base rate."""
    f = frame[["hotel", "room_type"]].copy()
    f["month"] = frame["date"].dt.month.to_numpy()
    f["dow"] = frame["date"].dt.dayofweek.to_numpy()
    out = f.merge(profile["mdw"], on=["hotel", "room_type", "month", "dow"], how="left")["adr"].to_numpy()
    for key, cols in (("m", ["hotel", "room_type", "month"]), ("rt", ["hotel", "room_type"])):
        fill = f.merge(profile[key], on=cols, how="left")["adr"].to_numpy()
        out = np.where(np.isnan(out), fill, out)
    return np.where(np.isnan(out), base_rate.to_numpy(dtype=float), out)


def simulated_competitor_avg(profile: dict[str, pd.DataFrame], frame: pd.DataFrame,
                             base_rate: pd.Series) -> np.ndarray:
    """SIMULATED competitor average: seasonal median ADR x deterministic seeded noise."""
    return np.round(seasonal_adr(profile, frame, base_rate)
                    * competitor_noise(frame["hotel"], frame["room_type"], frame["date"]), 2)


def static_bounds(rules: PricingRules, base_rate: np.ndarray, competitor: np.ndarray):
    """Hard bounds (floor, ceiling) and the competitor band (lo, hi) per row."""
    floor = base_rate * rules.floor_factor
    ceiling = base_rate * rules.ceiling_factor
    lo = competitor * (1 - rules.competitor_band)
    hi = competitor * (1 + rules.competitor_band)
    return floor, ceiling, lo, hi
