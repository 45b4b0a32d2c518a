"""Guest value: out-of-time validation on the guests with an id against an RFM heuristic,
as of a day, per home hotel and for the group."""

from datetime import timedelta

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest

from ml import clv
from ml.registry import GROUP
from ml.timeline import Timeline
from tests.ml.conftest import LIVE, marts_copy

@pytest.fixture(scope="module")
def candidate(marts_home, live_clv):
    con = duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True)
    try:
        yield live_clv, clv.split_dates(con, LIVE.as_of), con
    finally:
        con.close()


def test_split_is_out_of_time(candidate):
    c, s, con = candidate
    assert s.train_cutoff + timedelta(days=s.horizon_days) == s.cutoff  # training targets end at T
    assert (s.end - s.cutoff).days == clv.HORIZON_DAYS
    assert c.params["validation_cutoff"] == s.cutoff.isoformat()
    # The validation window ends on the last guest arrival known as of the day.
    last = con.execute("select max(arrival_date) from fct_bookings where guest_id is not null "
                       "and arrival_date <= ? and booking_date <= ?", [LIVE.as_of, LIVE.as_of]).fetchone()[0]
    assert s.end == last + timedelta(days=1) and s.end <= LIVE.as_of + timedelta(days=1)
    assert LIVE.params().items() <= c.params.items()


def test_what_happens_after_the_as_of_day_changes_nothing(marts_home, candidate):
    """Trained as of a day two months before the data end: the split ends by that day, and
    rewriting everything dated after it (bookings, statuses, extras) changes neither the
    training frame nor the model nor its evaluation."""
    _, _, con = candidate
    as_of = clv.data_range(con, LIVE.as_of)[1] - timedelta(days=60)
    timeline = Timeline.of(as_of)
    path = marts_home / "warehouse" / "marts.duckdb"
    plain, _ = marts_copy(path)
    planted, touched = marts_copy(path, plant_after=as_of)
    assert all(n > 0 for n in touched.values()), touched  # the plant reached every kind of row
    try:
        s = clv.split_dates(plain, as_of)
        assert s.end <= as_of + timedelta(days=1)  # no target window reads past the day
        assert clv.split_dates(planted, as_of) == s
        for day, end in ((s.train_cutoff, s.cutoff), (s.cutoff, s.end)):
            pd.testing.assert_frame_equal(clv.labelled(plain, day, end), clv.labelled(planted, day, end))
        a, b = clv.train(plain, timeline), clv.train(planted, timeline)
    finally:
        plain.close()
        planted.close()
    assert a.params["validation_end"] <= (as_of + timedelta(days=1)).isoformat()
    assert a.params["as_of"] == as_of.isoformat()
    # (sums taken in another row order may differ in the last bits: equal up to rounding)
    assert a.metrics == pytest.approx(b.metrics) and a.baseline == pytest.approx(b.baseline)
    pd.testing.assert_frame_equal(a.by_property, b.by_property)
    pd.testing.assert_frame_equal(a.model.predict(a.input_example), b.model.predict(a.input_example))


def test_figures_per_home_hotel_and_for_the_group(candidate):
    c, _, con = candidate
    bp = c.by_property.set_index("hotel")
    hotels = {h for (h,) in con.execute("select distinct hotel from fct_bookings where arrival_date <= ?",
                                        [LIVE.as_of]).fetchall()}
    assert set(bp.index) == hotels | {GROUP}
    with_ids = {h for (h,) in con.execute("select distinct hotel from fct_bookings where guest_id is not null "
                                          "and arrival_date <= ?", [LIVE.as_of]).fetchall()}
    # The bundled extract has no guest ids: its hotels are listed, not evaluated, with why.
    for hotel in hotels - with_ids:
        assert not bp.loc[hotel, "evaluated"] and "guest_id" in bp.loc[hotel, "reason"]
        assert bp.loc[hotel, "rows"] == 0
    own = bp.loc[sorted(with_ids)]
    assert own["evaluated"].all(), own[["evaluated", "reason", "rows"]]
    # Every validation guest has one home hotel; the group row is all of them.
    assert own["rows"].sum() == bp.loc[GROUP, "rows"] == c.metrics["validation_guests"]
    for k, v in c.metrics.items():
        assert bp.loc[GROUP, k] == pytest.approx(v)
    for k, v in c.baseline.items():
        assert bp.loc[GROUP, f"baseline_{k}"] == pytest.approx(v)
    # Each hotel on its own guests: the model beats the heuristic.
    assert (own["mae"] < own["baseline_mae"]).all(), own
    assert (own["spearman"] > own["baseline_spearman"]).all(), own
    assert (own["retention_auc"] > 0.6).all(), own


def test_features_use_only_the_past(candidate):
    _, s, con = candidate
    x = clv.guest_features(con, s.cutoff)
    assert x["guest_id"].is_unique and set(clv.FEATURES) <= set(x.columns)
    assert (x["recency_days"].dropna() > 0).all()  # every counted stay arrived before T
    later = clv.guest_features(con, s.cutoff + timedelta(days=90))
    assert len(later) >= len(x)  # more guests known later, none forgotten
    # a guest first seen after T is not a validation guest
    first_booking = con.execute(
        "select guest_id, min(booking_date) from fct_bookings where guest_id is not null group by 1").df()
    known = set(first_booking[pd.to_datetime(first_booking.iloc[:, 1]) < pd.Timestamp(s.cutoff)]["guest_id"])
    assert set(x["guest_id"]) == known


def test_model_beats_the_rfm_baseline_out_of_time(candidate):
    c, _, _ = candidate
    m, b = c.metrics, c.baseline
    assert m["mae"] < b["mae"] or m["spearman"] > b["spearman"]
    assert m["mae"] < b["mae"]
    assert m["spearman"] > b["spearman"] + 0.05
    assert m["top_decile_capture"] > b["top_decile_capture"]
    assert m["retention_auc"] > 0.6
    assert c.primary == "mae" and c.higher_is_better is False
    assert c.score(c.model) == pytest.approx(m["mae"])
    assert c.params["training_seconds"] > 0 and {"clv_predicted_vs_actual", "clv_lift"} <= set(c.figures)


def test_output_shape_and_segments_cover_all_guests(candidate):
    c, s, con = candidate
    x = clv.guest_features(con, s.cutoff)
    out = c.model.predict(x)
    assert list(out.columns) == ["guest_id", "predicted_value_12m", "retention_probability", "segment"]
    assert len(out) == len(x) and out["guest_id"].tolist() == x["guest_id"].tolist()
    assert out["segment"].notna().all() and set(out["segment"]) <= set(clv.SEGMENTS)
    assert (out["predicted_value_12m"] >= 0).all()
    assert out["retention_probability"].between(0, 1).all()
    # the rule: champions are likely to return and valuable, dormant ones unlikely to return
    champ = out[out["segment"] == "champion"]
    assert (champ["retention_probability"] >= 0.5).all()
    assert (out.loc[out["segment"] == "dormant", "retention_probability"] < 0.2).all()
    assert out.groupby("segment")["retention_probability"].mean().idxmax() in {"champion", "loyal"}


def test_missing_feature_is_a_clear_error(candidate):
    c, s, con = candidate
    x = clv.guest_features(con, s.cutoff).drop(columns=["recency_days"])
    with pytest.raises(ValueError, match="recency_days"):
        c.model.predict(x)


def test_segment_rule():
    seg = clv.segment_of(np.array([1000, 10, 10, 10, 10]), np.array([0.9, 0.9, 0.1, 0.3, 0.1]),
                         np.array([0, 0, 5000, 0, 0]), value_hi=500, spend_hi=1000)
    assert seg.tolist() == ["champion", "loyal", "at_risk", "promising", "dormant"]


def test_pyfunc_round_trip(candidate, tmp_path):
    c, s, con = candidate
    x = clv.guest_features(con, s.cutoff).head(50)
    mlflow.pyfunc.save_model(str(tmp_path / "clv"), python_model=c.model, input_example=c.input_example,
                             pip_requirements=["mlflow", "xgboost", "pandas"])  # no inference subprocess
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "clv"))
    pd.testing.assert_frame_equal(loaded.predict(x).reset_index(drop=True), c.model.predict(x))
    assert c.score(loaded) == pytest.approx(c.metrics["mae"])


def test_one_guest_path_gives_the_frame_answer(candidate):
    """predict_one (the API's path, no pandas) agrees with predict, missing values included."""
    c, s, con = candidate
    x = clv.guest_features(con, s.cutoff).iloc[::40].head(200)
    frame = c.model.predict(x)
    records = x.to_dict("records")
    records[0] = {**records[0], "recency_days": None, "home_hotel": "nowhere"}
    frame.iloc[0] = c.model.predict(pd.DataFrame([records[0]])).iloc[0]
    one = pd.DataFrame([c.model.predict_one(r) for r in records])
    np.testing.assert_allclose(one["predicted_value_12m"], frame["predicted_value_12m"], atol=0.011)
    np.testing.assert_allclose(one["retention_probability"], frame["retention_probability"], atol=1e-4)
    assert (one["segment"] == frame["segment"]).all()
