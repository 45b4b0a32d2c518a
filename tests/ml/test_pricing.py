"""Pricing: demand model (price-monotone, beats a seasonal baseline), the optimiser's rules,
the backtest, the schedule shape and the pyfunc round trip."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from ml.dynamic_pricing import (
    DEFAULT_HORIZON,
    OUTPUT_COLUMNS,
    TEST_START,
    PricingModel,
    _prepare_rows,
    backtest,
    build_dataset,
    train,
)
from ml.pricing_rules import PricingRules

_CACHE: dict = {}


@pytest.fixture
def candidate(marts):
    """One training per test session (the marts are session-scoped and read-only)."""
    if "candidate" not in _CACHE:
        _CACHE["candidate"] = train(marts)
        grid, _ = build_dataset(marts)
        _CACHE["test_rows"] = grid[(grid["date"] >= TEST_START) & (grid["horizon"] == DEFAULT_HORIZON)]
    return _CACHE["candidate"]


def with_rules(model: PricingModel, rules: PricingRules) -> PricingModel:
    return PricingModel(model.booster, model.tables, rules)


def test_demand_model_beats_the_seasonal_baseline_and_reports_the_backtest(candidate):
    m, b = candidate.metrics, candidate.baseline
    assert candidate.name == "pricing" and candidate.primary == "mae" and not candidate.higher_is_better
    assert m["mae"] < b["mae"], (m["mae"], b["mae"])
    assert m["rmse"] < b["rmse"]
    assert m["price_elasticity"] < 0  # demand falls when the price rises
    assert m["backtest_uplift_pct"] >= 0 and b["backtest_uplift_pct"] == 0
    assert m["backtest_revenue_optimised"] >= m["backtest_revenue_actual"] > 0
    assert candidate.params["training_seconds"] > 0 and "SIMULATED" in candidate.params["competitor"]
    assert set(candidate.figures) == {"demand_vs_price", "backtest_revenue_by_month"}
    assert candidate.score(candidate.model) == pytest.approx(m["mae"])


def test_expected_demand_never_rises_with_price(candidate):
    model = candidate.model
    rows = _CACHE["test_rows"]
    sample = rows.sort_values("rooms_available", ascending=False).groupby("hotel").head(2)
    f = _prepare_rows(model, sample.reset_index(drop=True))
    factors = np.linspace(0.5, 2.0, 25)
    curves = np.column_stack([model.demand_at(f, f["competitor_avg"].to_numpy() * k) for k in factors])
    assert (np.diff(curves, axis=1) <= 1e-9).all()  # monotone non-increasing in price
    assert (curves[:, -1] < curves[:, 0]).sum() >= len(f) // 2  # and it does respond


def assert_rules(schedule: pd.DataFrame, model: PricingModel):
    r = model.rules
    s = schedule.merge(model.tables["inventory"], on=["hotel", "room_type"])
    s = s.sort_values(["hotel", "room_type", "date"]).reset_index(drop=True)
    p, base = s["suggested_price"], s["base_rate"]
    eps = 0.006  # prices are rounded to cents
    assert (p >= base * r.floor_factor - eps).all() and (p <= base * r.ceiling_factor + eps).all()
    checked_band = 0
    for _, g in s.groupby(["hotel", "room_type"]):
        g = g.reset_index(drop=True)
        for i in range(len(g)):
            lo, hi = g.competitor_avg[i] * (1 - r.competitor_band), g.competitor_avg[i] * (1 + r.competitor_band)
            a_lo, a_hi = g.base_rate[i] * r.floor_factor, g.base_rate[i] * r.ceiling_factor
            if i:
                prev = g.suggested_price[i - 1]
                assert abs(g.suggested_price[i] / prev - 1) <= r.max_daily_change + 1e-3
                a_lo, a_hi = max(a_lo, prev * (1 - r.max_daily_change)), min(a_hi, prev * (1 + r.max_daily_change))
            if max(a_lo, lo) <= min(a_hi, hi) - 0.02:  # the band is reachable: respected
                assert lo - eps <= g.suggested_price[i] <= hi + eps
                checked_band += 1
            elif max(a_lo, lo) > min(a_hi, hi) + 0.02:  # not: the allowed price nearest to it
                assert g.suggested_price[i] == pytest.approx(a_lo if hi < a_lo else a_hi, abs=0.02)
    assert checked_band >= len(s) * 0.5


@pytest.mark.parametrize("rules", [PricingRules(), PricingRules(
    floor_factor=0.6, ceiling_factor=1.6, max_daily_change=0.04, competitor_band=0.08)])
def test_every_suggested_price_respects_the_rules(candidate, rules):
    model = with_rules(candidate.model, rules)
    schedule = model.optimise("City Hotel", "2017-02-01", 45)
    assert_rules(schedule, model)
    # wild current prices must not pull the suggestion outside the rules
    cur = schedule[["hotel", "room_type", "date"]].assign(current_price=np.where(
        np.arange(len(schedule)) % 2, 5.0, 900.0))
    assert_rules(model.optimise("City Hotel", "2017-02-01", 45, current_prices=cur), model)


def test_optimiser_never_does_worse_than_the_current_price_when_it_is_allowed(candidate):
    model = candidate.model
    rows = _CACHE["test_rows"]
    rows = rows[rows["hotel"].isin(["Resort Hotel", "Innsight Da Nang Beach"])].reset_index(drop=True)
    bt = backtest(model, _prepare_rows(model, rows))
    r = model.rules
    floor, ceil = bt["base_rate"] * r.floor_factor, bt["base_rate"] * r.ceiling_factor
    lo, hi = bt["competitor_avg"] * (1 - r.competitor_band), bt["competitor_avg"] * (1 + r.competitor_band)
    same = (bt["hotel"] == bt["hotel"].shift()) & (bt["room_type"] == bt["room_type"].shift()) & (
        bt["date"] - bt["date"].shift() == pd.Timedelta(days=1))
    prev = bt["suggested_price"].shift()
    cur = bt["current_price"]
    allowed = (cur >= floor) & (cur <= ceil) & (cur >= lo) & (cur <= hi) & (
        ~same | ((cur >= prev * (1 - r.max_daily_change)) & (cur <= prev * (1 + r.max_daily_change))))
    assert allowed.sum() >= 50
    gain = bt["revenue_suggested"] - bt["revenue_current"]
    assert (gain[allowed] >= -1e-6).all(), bt.loc[allowed & (gain < -1e-6)].head()
    # the recorded demand at the current price is the model's own prediction
    np.testing.assert_allclose(bt.loc[allowed, "demand_current"],
                               model.demand_at(bt[allowed], cur[allowed].to_numpy()), rtol=1e-5, atol=1e-6)


def test_schedule_shape(candidate):
    schedule = candidate.model.optimise("City Hotel", "2025-02-01", 10)
    inventory = candidate.model.tables["inventory"]
    assert list(schedule.columns) == OUTPUT_COLUMNS
    assert len(schedule) == 10 * (inventory["hotel"] == "City Hotel").sum()
    assert schedule["date"].min() == "2025-02-01" and schedule["date"].max() == "2025-02-10"
    assert schedule.notna().all().all()
    assert schedule["expected_occupancy"].between(0, 1).all() and schedule["confidence"].between(0, 1).all()
    two = candidate.model.optimise("City Hotel", "2025-02-01", 3, room_types=["A", "D"])
    assert sorted(two["room_type"].unique()) == ["A", "D"] and len(two) == 6
    with pytest.raises(ValueError, match="unknown"):
        candidate.model.optimise("Nowhere Inn", "2025-02-01", 3)


def test_pyfunc_round_trip(candidate, tmp_path):
    model, example = candidate.model, candidate.input_example
    expected = model.predict(example)
    path = str(tmp_path / "pricing")
    mlflow.pyfunc.save_model(path, python_model=model, input_example=example,
                             signature=infer_signature(example, expected))
    loaded = mlflow.pyfunc.load_model(path)
    pd.testing.assert_frame_equal(loaded.predict(example), expected)
    # the optional prices may be left out: the competitor average is simulated
    bare = loaded.predict(example[["hotel", "room_type", "date"]])
    assert list(bare.columns) == OUTPUT_COLUMNS and (bare["competitor_avg"] > 0).all()
    assert candidate.score(loaded) == pytest.approx(candidate.metrics["mae"])
    schedule = loaded.unwrap_python_model().optimise("Resort Hotel", "2017-07-01", 5, room_types=["A"])
    assert len(schedule) == 5
