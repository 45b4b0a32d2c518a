"""Prophet forecasts of occupancy, revenue and housekeeping demand per hotel, as of a day."""

import pickle
from datetime import timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from ml.forecasting import (HOLDOUT_DAYS, ORIGIN_OFFSETS, TARGETS, WARMUP_DAYS, ForecastModel,
                            load_series, train)
from ml.registry import GROUP
from ml.timeline import Timeline
from tests.ml.conftest import BENCHMARK, BUNDLED, LIVE

METRICS = ("mape_7d", "mape_14d", "mape_30d", "holdout_mape_7d")


@pytest.fixture(scope="module")
def candidates(con):
    """Each target trained once for the module, on the session's marts as of yesterday."""
    return {target: train(con, LIVE, target) for target in TARGETS}


@pytest.fixture(scope="module")
def benchmark(con):
    return {target: train(con, BENCHMARK, target) for target in TARGETS}


def rows_of(candidate, hotels=None) -> pd.DataFrame:
    bp = candidate.by_property.set_index("hotel")
    return bp if hotels is None else bp.loc[list(hotels)]


def hotels_reaching(con, as_of) -> set[str]:
    """Hotels with bookings made by the as-of day that arrive on it or later."""
    return {h for (h,) in con.execute(
        "select distinct hotel from fct_bookings where booking_date <= $d and arrival_date >= $d",
        {"d": as_of}).fetchall()}


def same_days(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same forecast for the same days asked in two requests: the point forecast exactly;
    the interval, a Monte-Carlo quantile (reproducible per request), up to sampling noise."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    pd.testing.assert_frame_equal(a[["hotel", "date", "value"]], b[["hotel", "date", "value"]])
    np.testing.assert_allclose(a[["lower", "upper"]], b[["lower", "upper"]], rtol=0.05)


def test_every_hotel_of_the_marts_is_served_and_evaluated_against_seasonal_naive(candidates, con):
    hotels = {h for (h,) in con.execute("select distinct hotel from fct_bookings where arrival_date <= ?",
                                        [LIVE.as_of]).fetchall()}
    assert set(BUNDLED) < hotels and len(hotels) > len(BUNDLED)  # the real extract and the chain
    for target, c in candidates.items():
        bp = c.by_property
        assert list(bp.columns[:4]) == ["hotel", "evaluated", "reason", "rows"]
        assert set(bp["hotel"]) == hotels | {GROUP} and bp["hotel"].is_unique
        assert set(c.model.hotels) == hotels
        own = rows_of(c).drop(GROUP)
        # Every hotel of the session's marts has a year or more of history: all evaluated.
        assert own["evaluated"].all() and own["reason"].isna().all(), own
        assert (pd.to_datetime(own["last_day"]) <= pd.Timestamp(LIVE.as_of)).all()
        for m in METRICS:
            assert own[m].notna().all() and own[f"baseline_{m}"].notna().all(), (target, m)
            # The group: the mean over the evaluated hotels, and the candidate's figures.
            assert rows_of(c).loc[GROUP, m] == pytest.approx(own[m].mean())
            assert c.metrics[m] == pytest.approx(own[m].mean())
            assert c.baseline[m] == pytest.approx(own[f"baseline_{m}"].mean())
        assert rows_of(c).loc[GROUP, "rows"] == own["rows"].sum() > 0
        assert c.params["as_of"] == LIVE.as_of.isoformat() and LIVE.params().items() <= c.params.items()
        assert set(c.tables["backtest"]["hotel"]) == hotels
        assert len(c.tables["backtest"]) == len(hotels) * len(ORIGIN_OFFSETS)
        assert c.score(c.model) == pytest.approx(c.metrics[c.primary])


def test_benchmark_prophet_beats_seasonal_naive_on_the_bundled_hotels(benchmark, candidates, con):
    for target, c in benchmark.items():
        assert c.params["as_of"] == "2017-08-31" and c.params["evaluation_months"] == 8
        bundled = rows_of(c, BUNDLED)
        assert bundled["evaluated"].all()
        # Every origin of the backtest lies in 2017, the held-out year of the benchmark.
        origins = c.tables["backtest"].set_index("hotel").loc[list(BUNDLED), "origin"]
        assert len(origins) == 2 * len(ORIGIN_OFFSETS) and (origins >= "2017-01-01").all()
        # Averaged over the two hotels and the origins, at every horizon (the hold-out week,
        # one week per hotel, is reported, not asserted: one week is a coin toss).
        for h in (7, 14, 30):
            m = f"mape_{h}d"
            assert bundled[m].mean() < bundled[f"baseline_{m}"].mean(), (target, m, bundled)
        # The bundled hotels' data end before yesterday: as of yesterday they are judged on
        # the same days, so their figures are the same.
        live = rows_of(candidates[target], BUNDLED)
        for m in METRICS:
            np.testing.assert_allclose(live[m], bundled[m], rtol=1e-3)
        if target == "occupancy":
            # A clear margin at 7 days, not a tie.
            assert bundled["mape_7d"].mean() < 0.85 * bundled["baseline_mape_7d"].mean(), bundled
            # City Hotel: clearly better. Resort Hotel sits on a flat summer plateau where last
            # week is a near-perfect predictor; one origin (early June 2017 dipped below May and
            # below June 2016) costs Prophet its lead there, so it must only stay close.
            city, resort = bundled.loc["City Hotel"], bundled.loc["Resort Hotel"]
            assert city.mape_7d < 0.7 * city.baseline_mape_7d, bundled
            assert resort.mape_7d < 1.15 * resort.baseline_mape_7d, bundled
            # MAPEs are percentages of a plausible size (a unit slip would show here).
            assert 0.5 < bundled["mape_7d"].mean() < 15


def test_nothing_after_the_as_of_day_is_read_and_forecasts_start_the_day_after(benchmark, con):
    as_of = BENCHMARK.as_of
    reaching = hotels_reaching(con, as_of)
    assert set(BUNDLED) <= reaching  # the extract's last arrivals are on 2017-08-31
    for target, c in benchmark.items():
        series = load_series(con, target, as_of)
        assert series["ds"].max() == pd.Timestamp(as_of)
        model = c.model
        for hotel in model.hotels:
            end = date_of(model.history_end[hotel])
            assert end <= as_of and str(end) == rows_of(c).loc[hotel, "last_day"]
            # Fitted up to the hold-out week, forecasting from the day after the data.
            assert (end - date_of(model.trained_until[hotel])).days == HOLDOUT_DAYS
            first = model.forecast(hotel, None, 3)["date"].iloc[0]
            assert first == end + timedelta(days=1)
            if hotel in reaching:
                assert first == as_of + timedelta(days=1)


def date_of(text: str):
    return pd.Timestamp(text).date()


def test_a_hotel_with_little_history_is_served_but_not_evaluated(con):
    """As of a day shortly after the latest hotel opened: it has too little history for the
    backtest, so it is fitted on all of it and served, reported as not evaluated; the hotels
    with enough history are evaluated and make the group."""
    opened = con.execute("select hotel, min(arrival_date) from fct_bookings group by hotel").fetchall()
    newest, opened = max(opened, key=lambda row: row[1])
    as_of = opened + timedelta(days=WARMUP_DAYS + 120)
    timeline = Timeline.of(as_of)
    c = train(con, timeline, "occupancy")
    bp = rows_of(c)
    young = bp.loc[newest]
    assert not young["evaluated"] and "not evaluated" in young["reason"], young
    assert young["rows"] > 0 and np.isnan(young["mape_7d"]) and np.isnan(young["holdout_mape_7d"])
    # Served: fitted on every known day, forecasting from the day after the as-of day.
    assert newest in c.model.hotels
    assert c.model.trained_until[newest] == c.model.history_end[newest] == young["last_day"]
    if newest in hotels_reaching(con, as_of):
        assert young["last_day"] == as_of.isoformat()
        assert c.model.forecast(newest, None, 1)["date"].iloc[0] == as_of + timedelta(days=1)
    assert (pd.to_datetime(bp.drop(GROUP)["last_day"]) <= pd.Timestamp(as_of)).all()
    judged = bp.drop(GROUP)[bp.drop(GROUP)["evaluated"]]
    assert len(judged) and newest not in judged.index
    assert c.metrics["mape_7d"] == pytest.approx(judged["mape_7d"].mean())
    assert set(c.tables["backtest"]["hotel"]) == set(judged.index)
    assert c.params["as_of"] == as_of.isoformat() and c.params["evaluated_hotels"] == len(judged)


def test_intervals_contain_the_point_forecast_and_cover_most_actuals(candidates, con):
    for target, c in candidates.items():
        # Backtest: share of actuals inside the 80 % interval, averaged over the hotels.
        assert 0.65 <= c.metrics["interval_coverage_30d"] <= 0.99, (target, c.metrics)
        series = load_series(con, target, LIVE.as_of)
        out = pd.concat([c.model.forecast(h, None, 30) for h in c.model.hotels])
        assert (out["lower"] <= out["value"]).all() and (out["value"] <= out["upper"]).all()
        assert (out["upper"] > out["lower"]).mean() > 0.99  # intervals, not points
        assert (out["lower"] >= 0).all()
        if target == "occupancy":
            assert (out["upper"] <= 1).all()
        # The served model on the bundled hotels' hold-out week (the days it never saw).
        for hotel in BUNDLED:
            s = series[series["hotel"] == hotel]
            week = s[s["ds"] > pd.Timestamp(c.model.trained_until[hotel])]
            assert len(week) == HOLDOUT_DAYS
            fc = c.model.predict(pd.DataFrame({"hotel": hotel, "date": week["ds"]}))
            inside = (week["y"].to_numpy() >= fc["lower"].to_numpy()) & (
                week["y"].to_numpy() <= fc["upper"].to_numpy())
            assert inside.mean() >= 3 / 7, (target, hotel, week, fc)


@pytest.mark.parametrize("hotel, day", [("Resort Hotel", "2016-08-15"),
                                        ("City Hotel", "2017-03-06"),
                                        ("Innsight Hanoi Old Quarter", None)])
def test_housekeeping_demand_is_departures_plus_stay_overs_from_the_bookings(con, hotel, day):
    b = con.execute("select hotel, arrival_date, departure_date, is_canceled from fct_bookings"
                    " where hotel = ?", [hotel]).df()
    b = b[~b["is_canceled"].astype(bool)]
    arrival, departure = pd.to_datetime(b["arrival_date"]), pd.to_datetime(b["departure_date"])
    series = load_series(con, "housekeeping_demand", LIVE.as_of)
    days = series.loc[series["hotel"] == hotel, "ds"]
    # The small synthetic chain: its busiest departure day within its known history.
    d = pd.Timestamp(day) if day else departure[departure.isin(days)].mode().iloc[0]
    departures = int((departure == d).sum())
    stay_overs = int(((arrival < d) & (departure > d)).sum())
    assert departures > 0 and stay_overs > 0

    value = series.loc[(series["hotel"] == hotel) & (series["ds"] == d), "y"]
    assert value.tolist() == [departures + stay_overs]

    # Cross-check with the occupancy mart: every room occupied the night before is either
    # leaving (full clean) or staying (service); day-use bookings add a departure clean.
    night_before = con.execute("select sum(rooms_sold) from fct_daily_occupancy"
                               " where hotel = ? and date = ?",
                               [hotel, (d - pd.Timedelta(days=1)).date()]).fetchone()[0]
    day_use = int(((arrival == d) & (departure == d)).sum())
    assert departures + stay_overs == night_before + day_use


def test_predict_for_a_horizon_request(candidates):
    model = candidates["revenue"].model
    assert set(BUNDLED) <= set(model.hotels) and len(model.hotels) > 2  # synthetic too
    synthetic = next(h for h in model.hotels if h not in BUNDLED)
    start = date_of(model.history_end[synthetic]) + timedelta(days=1)
    out = model.predict(pd.DataFrame({"hotel": ["City Hotel", synthetic],
                                      "start_date": ["2017-09-01", str(start)],
                                      "horizon_days": [14, 30]}))
    assert list(out.columns) == ["hotel", "date", "value", "lower", "upper"]
    assert len(out) == 44
    city = out[out["hotel"] == "City Hotel"]
    assert list(city["date"]) == list(pd.date_range("2017-09-01", periods=14).date)
    assert out[out["hotel"] == synthetic]["date"].iloc[-1] == start + timedelta(days=29)
    assert out[["value", "lower", "upper"]].notna().all().all()
    assert (city["value"] > 1_000).all()  # a 268-room hotel sells more than this in September

    by_date = model.predict(pd.DataFrame({"hotel": ["City Hotel"] * 2,
                                          "date": ["2017-09-03", "2017-09-01"]}))
    assert list(by_date["date"]) == [pd.Timestamp("2017-09-03").date(), pd.Timestamp("2017-09-01").date()]
    same_days(by_date.iloc[[1, 0]], city.iloc[[0, 2]])

    with pytest.raises(KeyError, match="no revenue forecast model for hotel 'Atlantis'"):
        model.predict(pd.DataFrame({"hotel": ["Atlantis"], "date": ["2017-09-01"]}))
    with pytest.raises(ValueError, match="needs columns"):
        model.predict(pd.DataFrame({"hotel": ["City Hotel"]}))
    with pytest.raises(ValueError, match="horizon_days must be"):
        model.predict(pd.DataFrame({"hotel": ["City Hotel"], "start_date": ["2017-09-01"],
                                    "horizon_days": [0]}))
    assert model.predict(pd.DataFrame({"hotel": [], "date": []})).empty


def test_pyfunc_save_load_round_trip_and_same_score(candidates, tmp_path):
    c = candidates["occupancy"]
    assert isinstance(c.model, ForecastModel)
    assert c.name == "forecast_occupancy" and c.primary == "holdout_mape_7d"
    assert not c.higher_is_better
    assert set(METRICS) <= set(c.metrics) and set(METRICS) <= set(c.baseline)
    assert c.params["training_seconds"] > 0
    evaluated = rows_of(c).drop(GROUP).query("evaluated").index
    assert len(c.figures) == len(evaluated)  # one per evaluated hotel

    clone = pickle.loads(pickle.dumps(c.model))
    request = pd.DataFrame({"hotel": ["Resort Hotel"], "start_date": ["2017-08-20"],
                            "horizon_days": [21]})
    expected = c.model.predict(request)
    pd.testing.assert_frame_equal(clone.predict(request), expected)
    assert clone.history_end == c.model.history_end

    # Saved the way ml.registry logs it: the signature inferred from the input example (the
    # horizon form, the API's), so a loaded model takes horizon requests.
    assert list(c.input_example.columns) == ["hotel", "start_date", "horizon_days"]
    output = c.model.predict(c.input_example)
    assert len(output) == HOLDOUT_DAYS * len(evaluated)
    mlflow.pyfunc.save_model(path=str(tmp_path / "model"), python_model=c.model,
                             signature=infer_signature(c.input_example, output),
                             input_example=c.input_example)
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.predict(request), expected)
    pd.testing.assert_frame_equal(loaded.predict(c.input_example), output)
    by_date = pd.DataFrame({"hotel": ["Resort Hotel"] * 2, "date": ["2017-08-21", "2017-08-20"]})
    same_days(loaded.unwrap_python_model().predict(by_date), expected.iloc[[1, 0]])
    # The registry gate scores a loaded model on the same hold-out week as the challenger.
    assert c.score(loaded) == pytest.approx(c.metrics["holdout_mape_7d"])
    assert c.score(c.model) == pytest.approx(c.metrics[c.primary])
