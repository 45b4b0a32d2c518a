"""Cancellation risk: the published benchmark (the bundled hotels trained through 2016,
held out on their 2017 arrivals), every property evaluated on its own months, as-of
honesty, booking-time features only, calibration, explanations and the pyfunc round trip."""

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow.models import infer_signature

from ml.cancellation import FORBIDDEN, RISK_THRESHOLDS, CancellationModel, booking_frame, train
from ml.cancellation_features import SOURCE, load_bookings
from ml.registry import GROUP
from ml.timeline import Timeline
from tests.ml.conftest import BENCHMARK

_trained = {}


@pytest.fixture
def candidate(marts):
    """Trained once for the module (the `marts` fixture is per test)."""
    if "cancellation" not in _trained:
        _trained["cancellation"] = train(marts, BENCHMARK)
    return _trained["cancellation"]


@pytest.fixture
def live(live_cancellation):
    """Trained as of yesterday: the bundled hotels and the synthetic chain that ends today."""
    return live_cancellation


@pytest.fixture
def test_bookings(marts) -> pd.DataFrame:
    bookings = load_bookings(marts, BENCHMARK.as_of)
    return bookings[bookings["arrived"] & (bookings["arrival_date"] >= "2017-01-01")]


def test_meets_the_2017_auc_target_and_beats_the_raw_baseline(candidate):
    m, b = candidate.metrics, candidate.baseline
    assert candidate.name == "cancellation" and candidate.primary == "auc" and candidate.higher_is_better
    assert set(b) == {"auc", "ece", "accuracy", "precision", "recall", "brier"} <= set(m)
    assert m["auc"] >= 0.90, m
    assert candidate.params["as_of"] == "2017-08-31"
    # the benchmark's held-out period is each bundled hotel's 2017 arrivals
    table = candidate.by_property.set_index("hotel")
    assert set(table.index) == {"City Hotel", "Resort Hotel", GROUP}, table  # nothing later read
    assert (table.drop(GROUP)["test_start"] == "2017-01-01").all()
    assert m["auc"] > b["auc"] + 0.01, (m, b)
    assert m["accuracy"] > b["accuracy"]
    assert candidate.params["training_seconds"] > 0 and candidate.params["test_rows"] > 30_000
    assert {"roc", "calibration", "feature_importance"} <= set(candidate.figures)


def test_uses_only_booking_time_fields(candidate, test_bookings):
    model: CancellationModel = candidate.model
    assert not FORBIDDEN & set(model.feature_names)
    assert not FORBIDDEN & {SOURCE[f] for f in model.feature_names}
    assert not FORBIDDEN & set(candidate.input_example.columns)
    # outcome columns handed in anyway change nothing, whatever their values
    rows = test_bookings.head(300)
    plain = model.predict(booking_frame(rows))
    leaked = booking_frame(rows).assign(
        is_canceled=True, reservation_status="Canceled", reservation_status_date=rows["booking_date"].to_numpy(),
        assigned_room_type="Z", is_room_changed=True, booking_changes=9, days_in_waiting_list=99,
        is_no_show=True, revenue_realised=0.0, revenue_lost=1e6)
    pd.testing.assert_frame_equal(plain, model.predict(leaked))


def test_probabilities_are_calibrated(candidate, test_bookings):
    assert candidate.metrics["brier"] < candidate.baseline["brier"]
    y = test_bookings["is_canceled"].astype(int).to_numpy()
    p = candidate.model.predict(booking_frame(test_bookings))["probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    # reliability: risk deciles are ordered and each one's observed rate is near its mean
    # prediction (measured on the bundled extract: at most 0.17 off, in the 0.8-0.95 deciles,
    # where City Hotel's 2017 bookings cancel less than their 2016 look-alikes)
    bins = pd.qcut(p, 10, labels=False, duplicates="drop")
    frame = pd.DataFrame({"p": p, "y": y, "bin": bins}).groupby("bin").mean()
    assert frame["y"].is_monotonic_increasing, frame
    assert (frame["p"] - frame["y"]).abs().max() < 0.19, frame
    assert abs(p.mean() - y.mean()) < 0.05, (p.mean(), y.mean())
    # calibration error on the held-out year: 0.043 measured (0.022 Resort, 0.066 City; a
    # sigmoid refitted on 2017 itself reaches only 0.030: the drift is not in the past)
    assert candidate.metrics["ece"] < min(0.05, candidate.baseline["ece"]), candidate.metrics


def test_every_property_is_evaluated_on_its_own_last_months(live, marts):
    table = live.by_property.set_index("hotel")
    hotels = {h for (h,) in marts.execute("select distinct hotel from fct_bookings").fetchall()}
    assert set(table.index) == hotels | {GROUP}
    yesterday = Timeline.of(None).as_of
    for hotel, row in table.drop(GROUP).iterrows():
        assert row["evaluated"], (hotel, row["reason"])
        assert row["rows"] > 0 and 0.5 < row["auc"] <= 1, (hotel, row)
        assert pd.Timestamp(row["last_day"]) <= pd.Timestamp(yesterday)
        # the held-out period is the hotel's own last 3 months, wherever its calendar ends
        months = (pd.Timestamp(row["last_day"]) - pd.Timestamp(row["test_start"])).days / 30.4
        assert 2.8 < months < 3.1, (hotel, row)
    synthetic = table.drop([GROUP, "City Hotel", "Resort Hotel"])
    # the live chain ends today: its last known arrivals are within days of yesterday
    assert (pd.Timestamp(yesterday) - pd.to_datetime(synthetic["last_day"])).dt.days.max() <= 7
    assert live.params["on_the_books"] > 0  # future arrivals: scored, never labels
    # the API tells which hotel's answers were checked
    some = synthetic.index[0]
    assert live.model.evaluation_for(some)["evaluated"] is True
    assert live.model.evaluation_for("No Such Hotel")["evaluated"] is False


def _booking(**overrides) -> pd.DataFrame:
    row = {
        "hotel": "City Hotel", "booking_date": "2017-03-01", "arrival_date": "2017-04-10",
        "lead_time": 40, "stays_in_weekend_nights": 1, "stays_in_week_nights": 2, "adults": 2,
        "children": 0, "babies": 0, "meal": "BB", "country": "FRA", "market_segment": "Online TA",
        "distribution_channel": "TA/TO", "customer_type": "Transient", "deposit_type": "No Deposit",
        "agent": "9", "company": None, "reserved_room_type": "A", "is_repeated_guest": 0,
        "previous_cancellations": 0, "previous_bookings_not_canceled": 0,
        "required_car_parking_spaces": 0, "total_of_special_requests": 0, "adr": 100.0,
    }
    row.update(overrides)
    return booking_frame(pd.DataFrame([row]))


def test_high_risk_booking_gets_factors_and_actions_low_risk_none(candidate):
    model = candidate.model
    high = model.predict(_booking(
        deposit_type="Non Refund", lead_time=300, booking_date="2016-06-13", country="PRT",
        market_segment="Groups", customer_type="Transient", agent="1"))
    low = model.predict(_booking(
        lead_time=3, booking_date="2017-04-07", market_segment="Direct", distribution_channel="Direct",
        agent=None, is_repeated_guest=1, previous_bookings_not_canceled=3,
        required_car_parking_spaces=1, total_of_special_requests=2, country="GBR"))
    ph, pl = high["probability"].iat[0], low["probability"].iat[0]
    assert ph >= RISK_THRESHOLDS["high"] and high["risk_level"].iat[0] == "high"
    assert pl < RISK_THRESHOLDS["medium"] and low["risk_level"].iat[0] == "low"

    factors = json.loads(high["top_factors"].iat[0])
    assert len(factors) == 3 and all({"factor", "value", "impact"} == set(f) for f in factors)
    by_name = {f["factor"]: f for f in factors}
    assert "deposit_type" in by_name and by_name["deposit_type"]["value"] == "Non Refund"
    assert by_name["deposit_type"]["impact"] > 0.05
    assert sum(f["impact"] > 0 for f in factors) >= 2
    actions = json.loads(high["actions"].iat[0])
    assert actions[0] == "confirmation_call" and "verify_deposit_payment" in actions

    low_factors = json.loads(low["top_factors"].iat[0])
    assert all(f["impact"] < 0 for f in low_factors), low_factors
    assert json.loads(low["actions"].iat[0]) == []


def test_pyfunc_round_trip(candidate, test_bookings, tmp_path):
    model = candidate.model
    example = candidate.input_example
    rows = booking_frame(test_bookings.sample(200, random_state=1))  # missing agents, companies
    expected = model.predict(rows)
    mlflow.pyfunc.save_model(tmp_path / "cancellation", python_model=model, input_example=example,
                             signature=infer_signature(example, model.predict(example)))
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "cancellation"))
    pd.testing.assert_frame_equal(loaded.predict(rows), expected)
    assert candidate.score(loaded) == pytest.approx(candidate.metrics["auc"], abs=1e-9)
    assert loaded.unwrap_python_model().evaluation_for("City Hotel")["evaluated"] is True
    assert np.isfinite(expected["probability"]).all()


def test_one_booking_path_gives_the_frame_answer(candidate, test_bookings):
    """predict_one (the API's path, no pandas) agrees with predict on real bookings, one at
    a time (a frame counts its own rows as a group; one booking is its own batch)."""
    model = candidate.model
    sample = test_bookings.sample(150, random_state=3)
    for record in booking_frame(sample).to_dict("records"):
        x, _ = model.features.transform_one(record)
        np.testing.assert_allclose(x, model.features.transform(pd.DataFrame([record])).iloc[0],
                                   rtol=1e-12, equal_nan=True)
        one, frame = model.predict_one(record), model.predict(pd.DataFrame([record])).iloc[0]
        assert one["probability"] == pytest.approx(frame["probability"], abs=1e-6)
        assert one["risk_level"] == frame["risk_level"]
        assert json.dumps(one["top_factors"]) == frame["top_factors"]
        assert json.dumps(one["actions"]) == frame["actions"]
    # the numpy tree walk explains exactly as XGBoost's own (approximate) contributions
    X = model.features.transform(booking_frame(sample)).to_numpy(float)
    xgb_contribs = model.booster.predict(xgb.DMatrix(X), pred_contribs=True, approx_contribs=True,
                                         validate_features=False)
    ours = np.array([model._tree_paths().contributions(x) for x in X])
    np.testing.assert_allclose(ours, xgb_contribs, atol=1e-5)
    payload = {"hotel": "City Hotel", "arrival_date": "2017-08-01", "lead_time": 30, "adults": 2,
               "agent": 9.0, "country": " PRT ", "meal": ""}  # API-style input: strings, floats, blanks
    x, _ = model.features.transform_one(payload)
    np.testing.assert_allclose(x, model.features.transform(pd.DataFrame([payload])).iloc[0],
                               rtol=1e-12, equal_nan=True)


def test_nothing_after_the_as_of_day_reaches_training(marts_settings, candidate, tmp_path):
    """Today's marts trained as of a past day give the very model that the marts of that
    day give: every booking made later, and every status settled later, left unread. The
    marts hold plenty that would change the model if read (eight months of later bookings,
    and bookings cancelled after the day)."""
    import shutil

    import duckdb

    as_of = Timeline.of("2016-12-31", evaluation_months=3)
    then = tmp_path / "marts_then.duckdb"
    shutil.copyfile(marts_settings.marts_path, then)
    with duckdb.connect(str(then)) as con:
        later = con.execute("select count(*) from fct_bookings where booking_date > ?", [as_of.as_of]).fetchone()[0]
        settled_later = con.execute("select count(*) from fct_bookings where booking_date <= ? "
                                    "and reservation_status_date > ? and is_canceled",
                                    [as_of.as_of, as_of.as_of]).fetchone()[0]
        assert later > 1_000 and settled_later > 1_000, (later, settled_later)
        con.execute("delete from fct_bookings where booking_date > ?", [as_of.as_of])
        con.execute("update fct_bookings set is_canceled = false, reservation_status = null, "
                    "reservation_status_date = null where reservation_status_date > ?", [as_of.as_of])
    with duckdb.connect(str(marts_settings.marts_path), read_only=True) as now, \
            duckdb.connect(str(then), read_only=True) as past:
        a, b = train(now, as_of), train(past, as_of)
        probe = booking_frame(load_bookings(now, as_of.as_of).tail(2_000))
    assert a.metrics == b.metrics and a.params["train_rows"] == b.params["train_rows"]
    np.testing.assert_array_equal(a.model.predict(probe)["probability"], b.model.predict(probe)["probability"])
    # and the as-of day matters: the benchmark's later day reads more
    assert a.params["train_rows"] < candidate.params["train_rows"]
