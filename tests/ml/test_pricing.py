"""Pricing: the demand model judged on realised rooms sold against seasonal-naive (the
bundled benchmark and every property of the lake, each on its own held-out months), nothing
read after the as-of day, the uplift only as a model estimate with its interval, the
optimiser's rules, today's schedule from the rooms on the books, and the pyfunc round trip."""

from datetime import timedelta

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from ml.dynamic_pricing import (
    DEFAULT_HORIZON,
    HORIZONS,
    OUTPUT_COLUMNS,
    NOT_PRICED,
    PricingModel,
    _prepare_rows,
    backtest,
    build_dataset,
    train,
    uplift_estimate,
)
from ml.pricing_rules import PricingRules
from ml.registry import GROUP
from ml.timeline import Timeline, bookings_as_of
from tests.ml.conftest import BENCHMARK

QUICK_ROUNDS = 60  # trainings that check data handling, not accuracy
_CACHE: dict = {}


def cached(key, make):
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


@pytest.fixture
def benchmark(con):
    return cached("benchmark", lambda: train(con, BENCHMARK))


@pytest.fixture
def default_timeline():
    return cached("timeline", lambda: Timeline.of(None))


@pytest.fixture
def candidate(con, default_timeline):
    """The model a nightly run registers: the default timeline, every hotel of the lake."""
    return cached("default", lambda: train(con, default_timeline))


def lake_hotels(con) -> set[str]:
    return set(con.sql("select hotel from fct_bookings union select hotel from dim_room_types")
               .df()["hotel"])


def held_out_rows(con, model: PricingModel, timeline: Timeline, horizon=None) -> pd.DataFrame:
    ds = build_dataset(con, timeline)
    grid = ds.grid[ds.grid["split"] == "test"]
    if horizon is not None:
        grid = grid[grid["horizon"] == horizon]
    return _prepare_rows(model, grid.reset_index(drop=True))


def copy_marts(con, as_of=None) -> duckdb.DuckDBPyConnection:
    """The three marts pricing reads, in memory; with `as_of`, cut to what the PMS showed at
    the end of that day (later bookings gone, later statuses unknown: ``bookings_as_of``)
    and with the occupancy mart's outcomes blanked."""
    mem = duckdb.connect()
    for table in ("fct_bookings", "fct_daily_occupancy", "dim_room_types"):
        frame = con.sql(f"select * from {table}").df()
        if as_of is not None and table == "fct_bookings":
            frame = bookings_as_of(frame, as_of).drop(columns=["arrived", "outcome_known"])
        if as_of is not None and table == "fct_daily_occupancy":
            frame = frame[pd.to_datetime(frame["date"]) <= pd.Timestamp(as_of)].assign(
                rooms_sold=None, room_revenue=None, adr=None, occupancy=None, revpar=None)
        types = con.sql(f"describe {table}").df()
        columns = ", ".join(f'"{c}"::{t} as "{c}"' for c, t in zip(types["column_name"], types["column_type"]))
        mem.register("frame", frame)
        mem.execute(f"create table {table} as select {columns} from frame")
        mem.unregister("frame")
    return mem


# --------------------------------------------------------------------------- evaluation


def test_benchmark_demand_model_beats_seasonal_naive_on_realised_rooms_sold(benchmark, con):
    m, b, bp = benchmark.metrics, benchmark.baseline, benchmark.by_property
    assert benchmark.name == "pricing" and benchmark.primary == "mae" and not benchmark.higher_is_better
    assert m["mae"] < b["mae"] and m["rmse"] < b["rmse"], (m, b)
    assert abs(m["bias"]) < abs(b["bias"])
    assert benchmark.params["as_of"] == "2017-08-31" and benchmark.params["evaluation_months"] == 8
    # the bundled hotels: held out on their 2017 stays, trained on what came before
    evaluated = bp[bp["evaluated"] & (bp["hotel"] != GROUP)].set_index("hotel")
    assert len(evaluated) >= 2 and set(evaluated["test_start"]) == {"2017-01-01"}
    assert benchmark.params["train_last_stay_date"] == "2016-12-31"
    assert benchmark.params["test_last_stay_date"] == "2017-08-31"
    assert (evaluated["mae"] < evaluated["baseline_mae"]).all(), evaluated[["mae", "baseline_mae"]]
    # every hotel of the marts is listed; those without a booking by then say why
    assert set(bp["hotel"]) == lake_hotels(con) | {GROUP}
    others = bp[~bp["evaluated"]]
    assert others["reason"].notna().all() and (others["rows"] == 0).all()
    group = bp.set_index("hotel").loc[GROUP]
    assert group["rows"] == evaluated["rows"].sum() == m["test_rows"]
    assert group["mae"] == pytest.approx(m["mae"]) and group["baseline_mae"] == pytest.approx(b["mae"])
    # the champion gate re-scores any model on these same held-out rows
    assert benchmark.score(benchmark.model) == pytest.approx(m["mae"])
    print("\nbenchmark", BENCHMARK.params())
    print(bp[["hotel", "evaluated", "rows", "mae", "baseline_mae", "baseline_pickup_mae", "rmse",
              "baseline_rmse", "bias", "baseline_bias"]].round(3).to_string())


def test_uplift_is_only_a_labelled_model_estimate_with_an_interval(benchmark, con):
    m, b = benchmark.metrics, benchmark.baseline
    assert not [k for k in {**m, **b} if "uplift" in k and not k.startswith("model_estimated_uplift")]
    lo, point, hi = (m[f"model_estimated_uplift_pct{s}"] for s in ("_p05", "", "_p95"))
    assert lo < point < hi, (lo, point, hi)
    assert "not a measured gain" in benchmark.params["uplift"]
    # the figures are what the optimiser and the rate card earn under the demand model,
    # relative to the prices actually charged on the same held-out stays
    rows = held_out_rows(con, benchmark.model, BENCHMARK, DEFAULT_HORIZON)
    bt = backtest(benchmark.model, rows)
    charged = bt["revenue_current"].sum()
    assert point == pytest.approx(100 * (bt["revenue_suggested"].sum() / charged - 1), rel=1e-6)
    assert b["model_estimated_uplift_pct"] == pytest.approx(
        100 * (bt["revenue_rate_card"].sum() / charged - 1), rel=1e-6)
    assert m["model_revenue_at_charged_prices"] == pytest.approx(charged)
    assert m["realised_revenue"] == pytest.approx((rows["rooms_sold"] * rows["current_price"]).sum())
    print(f"\nmodel-estimated uplift {point:.2f}% [{lo:.2f}, {hi:.2f}] "
          f"(rate card {b['model_estimated_uplift_pct']:.2f}%)")
    print(benchmark.by_property[["hotel", "model_estimated_uplift_pct", "model_estimated_uplift_pct_p05",
                                 "model_estimated_uplift_pct_p95",
                                 "baseline_model_estimated_uplift_pct"]].round(2).to_string())


def test_uplift_interval_follows_the_prices_and_the_model_errors():
    days = pd.date_range("2020-01-01", periods=40)
    bt = pd.DataFrame({"hotel": "h", "date": days, "rooms_available": 50.0, "current_price": 100.0,
                       "demand_current": np.linspace(10, 30, 40)})
    same = bt.assign(suggested_price=100.0, demand_suggested=bt["demand_current"])
    errors = {"h": np.random.default_rng(1).normal(0, 5, 200)}
    zero = uplift_estimate(same, errors)
    assert zero["uplift_pct"] == 0 and zero["uplift_pct_p05"] == pytest.approx(0, abs=1e-9)
    dearer = bt.assign(suggested_price=110.0, demand_suggested=bt["demand_current"] * 0.95)
    est = uplift_estimate(dearer, errors)
    assert est["uplift_pct"] == pytest.approx(100 * (1.1 * 0.95 - 1))
    assert est["uplift_pct_p05"] < est["uplift_pct"] < est["uplift_pct_p95"]
    calm = uplift_estimate(dearer, {"h": errors["h"] / 10})
    assert calm["uplift_pct_p95"] - calm["uplift_pct_p05"] < est["uplift_pct_p95"] - est["uplift_pct_p05"]


def test_default_timeline_trains_with_every_property_of_the_lake(candidate, con, default_timeline):
    bp = candidate.by_property
    assert set(bp["hotel"]) == lake_hotels(con) | {GROUP}
    assert {k: candidate.params[k] for k in default_timeline.params()} == default_timeline.params()
    assert candidate.params["train_last_stay_date"] <= default_timeline.as_of.isoformat()
    evaluated = bp[bp["evaluated"] & (bp["hotel"] != GROUP)]
    assert len(evaluated) == len(bp) - 1, bp[["hotel", "evaluated", "reason"]]
    assert (evaluated["rows"] > 0).all() and np.isfinite(evaluated[["mae", "baseline_mae"]]).all().all()
    assert (evaluated["train_rows"] > 0).all()
    assert candidate.metrics["mae"] < candidate.baseline["mae"]
    assert candidate.score(candidate.model) == pytest.approx(candidate.metrics["mae"])
    print("\ndefault", default_timeline.params())
    print(bp[["hotel", "test_start", "rows", "mae", "baseline_mae", "baseline_pickup_mae", "bias",
              "model_estimated_uplift_pct", "model_estimated_uplift_pct_p05",
              "model_estimated_uplift_pct_p95"]].round(3).to_string())


def test_reads_nothing_after_the_as_of_day(con, candidate, default_timeline):
    last_booking = con.execute("select max(booking_date) from fct_bookings").fetchone()[0]
    earlier = Timeline.of(last_booking - timedelta(days=75))
    full = build_dataset(con, earlier)
    cut = build_dataset(copy_marts(con, earlier.as_of), earlier)
    # the marts cut to the as-of day give the same rows, windows and rooms on the books
    pd.testing.assert_frame_equal(full.grid, cut.grid)
    assert full.windows == cut.windows
    pd.testing.assert_frame_equal(full.on_books, cut.on_books)
    assert full.grid["date"].max() <= pd.Timestamp(earlier.as_of)
    assert full.on_books["date"].min() > pd.Timestamp(earlier.as_of)

    early = train(con, earlier, rounds=QUICK_ROUNDS)
    assert early.params["as_of"] == earlier.as_of.isoformat()
    assert early.params["train_last_stay_date"] <= earlier.as_of.isoformat()
    assert early.params["test_last_stay_date"] <= earlier.as_of.isoformat()
    assert early.model.as_of == earlier.as_of
    # an earlier as-of day moves the held-out periods of the properties live then
    now = candidate.by_property.set_index("hotel")
    then = early.by_property.set_index("hotel")
    moved = [h for h in then.index if h != GROUP and then.loc[h, "evaluated"]
             and then.loc[h, "test_start"] != now.loc[h, "test_start"]]
    assert moved, then[["test_start"]]
    assert early.metrics["test_rows"] != candidate.metrics["test_rows"]
    assert early.metrics["train_rows"] != candidate.metrics["train_rows"]


def test_properties_lacking_fields_train_and_are_priced(con, candidate):
    mem = copy_marts(con)
    hotels = mem.sql("select hotel, count(*) n from fct_bookings group by 1 order by 2").df()["hotel"]
    bare, unlisted = hotels.iloc[0], hotels.iloc[1]
    mem.execute("update fct_bookings set adr = null, assigned_room_type = null, "
                "reservation_status_date = null, reservation_status = null where hotel = ?", [bare])
    mem.execute("update dim_room_types set base_rate = null where hotel = ?", [bare])
    mem.execute("delete from dim_room_types where hotel = ?", [unlisted])
    c = train(mem, Timeline.of(None), rounds=QUICK_ROUNDS)
    bp = c.by_property.set_index("hotel")
    assert bp.loc[unlisted, "reason"] == NOT_PRICED and not bp.loc[unlisted, "evaluated"]
    assert bp.loc[bare, "train_rows"] > 0 and np.isfinite(c.metrics["mae"])
    schedule = c.model.optimise(bare, pd.Timestamp.today().normalize(), 7)
    assert schedule.notna().all().all() and (schedule["suggested_price"] > 0).all()
    assert unlisted not in c.model.hotels()
    # the champion gate re-scores a model that never saw a property on rows that include it
    assert unlisted in set(candidate.by_property.query("rows > 0")["hotel"])
    assert np.isfinite(candidate.score(c.model))


# --------------------------------------------------------------------------- demand and optimiser


def test_expected_demand_never_rises_with_price(candidate, con, default_timeline):
    model = candidate.model
    rows = held_out_rows(con, model, default_timeline, DEFAULT_HORIZON)
    f = rows.sort_values("rooms_available", ascending=False).groupby("hotel").head(2).reset_index(drop=True)
    factors = np.linspace(0.5, 2.0, 25)
    curves = np.column_stack([model.demand_at(f, f["competitor_avg"].to_numpy() * k) for k in factors])
    assert (np.diff(curves, axis=1) <= 1e-9).all()  # monotone non-increasing in price
    assert (curves[:, -1] < curves[:, 0]).sum() >= len(f) // 2  # and it does respond
    assert candidate.metrics["price_elasticity"] < 0


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


def biggest_hotel(model: PricingModel) -> str:
    return model.tables["inventory"].groupby("hotel")["rooms"].sum().idxmax()


@pytest.mark.parametrize("rules", [PricingRules(), PricingRules(
    floor_factor=0.6, ceiling_factor=1.6, max_daily_change=0.04, competitor_band=0.08)])
def test_every_suggested_price_respects_the_rules(candidate, rules):
    model = PricingModel(candidate.model.booster, candidate.model.tables, rules, candidate.model.as_of)
    hotel = biggest_hotel(model)
    start = candidate.by_property.set_index("hotel").loc[hotel, "test_start"]
    schedule = model.optimise(hotel, start, 45)
    assert_rules(schedule, model)
    # wild current prices must not pull the suggestion outside the rules
    cur = schedule[["hotel", "room_type", "date"]].assign(current_price=np.where(
        np.arange(len(schedule)) % 2, 5.0, 900.0))
    assert_rules(model.optimise(hotel, start, 45, current_prices=cur), model)


def test_optimiser_never_does_worse_than_the_charged_price_when_it_is_allowed(candidate, con,
                                                                              default_timeline):
    model = candidate.model
    bt = backtest(model, held_out_rows(con, model, default_timeline, DEFAULT_HORIZON))
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
    # the recorded demand at the charged price is the model's own prediction
    np.testing.assert_allclose(bt.loc[allowed, "demand_current"],
                               model.demand_at(bt[allowed], cur[allowed].to_numpy()), rtol=1e-5, atol=1e-6)


def test_todays_schedule_prices_from_the_rooms_on_the_books(candidate, con, default_timeline):
    model, as_of = candidate.model, default_timeline.as_of
    today, days = as_of + timedelta(days=1), 30
    # what the PMS had on the books at the end of the as-of day, per reserved room type
    b = bookings_as_of(con.sql("select * from fct_bookings").df(), as_of)
    b = b[~b["is_canceled"] & (b["nights"] > 0)]
    nights = b.loc[b.index.repeat(b["nights"]), ["hotel", "reserved_room_type", "arrival_date"]]
    nights["date"] = pd.to_datetime(nights["arrival_date"]) + pd.to_timedelta(
        nights.groupby(level=0).cumcount(), unit="D")
    ahead = nights[(nights["date"] >= pd.Timestamp(today))
                   & (nights["date"] < pd.Timestamp(today) + pd.Timedelta(days=days))]
    booked = ahead.groupby(["hotel", "reserved_room_type", "date"]).size()
    live = sorted(set(ahead["hotel"]) & set(model.hotels()))
    assert live, "the synthetic chain has bookings on the books ahead"
    for hotel in live:
        schedule = model.optimise(hotel, today, days)
        assert list(schedule.columns) == OUTPUT_COLUMNS
        assert len(schedule) == days * len(model.room_types(hotel)) and schedule.notna().all().all()
        assert schedule["date"].min() == today.isoformat()
        assert_rules(schedule, model)
        frame = schedule[["hotel", "room_type", "date"]]
        f = model.prepare(frame)
        expected = [booked.get((hotel, rt, d), 0) for rt, d in zip(f["room_type"], f["date"])]
        np.testing.assert_array_equal(f["otb"].to_numpy(), expected)
        np.testing.assert_array_equal(f["horizon"], (f["date"] - pd.Timestamp(as_of)).dt.days)
        assert sum(expected) > 0
    assert min(HORIZONS) <= 1  # today, a day after the as-of day, is a trained horizon
    # a hotel without anything on the books ahead (a closed extract) is priced from its profile
    for hotel in sorted(set(model.hotels()) - set(model.tables["on_books"]["hotel"]))[:1]:
        f = model.prepare(model.optimise(hotel, today, 3)[["hotel", "room_type", "date"]])
        assert (f["horizon"] == DEFAULT_HORIZON).all()


def test_schedule_shape(candidate):
    model = candidate.model
    hotel = biggest_hotel(model)
    inventory = model.tables["inventory"]
    schedule = model.optimise(hotel, "2025-02-01", 10)
    assert list(schedule.columns) == OUTPUT_COLUMNS
    assert len(schedule) == 10 * (inventory["hotel"] == hotel).sum()
    assert schedule["date"].min() == "2025-02-01" and schedule["date"].max() == "2025-02-10"
    assert schedule.notna().all().all()
    assert schedule["expected_occupancy"].between(0, 1).all() and schedule["confidence"].between(0, 1).all()
    types = model.room_types(hotel)[:2]
    two = model.optimise(hotel, "2025-02-01", 3, room_types=types)
    assert sorted(two["room_type"].unique()) == types and len(two) == 6
    with pytest.raises(ValueError, match="unknown"):
        model.optimise("Nowhere Inn", "2025-02-01", 3)


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
    inner = loaded.unwrap_python_model()
    hotel = example["hotel"].iloc[0]
    schedule = inner.optimise(hotel, example["date"].iloc[0], 5, room_types=[example["room_type"].iloc[0]])
    assert len(schedule) == 5
