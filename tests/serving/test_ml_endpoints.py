"""The ML endpoints on a served platform: answers computed from the champions and the
online features, checked against the models run directly on the marts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from serving.services import champions as served
from tests.serving.conftest import services

ML = "/api/v1/ml"


@pytest.fixture(scope="module")
def marts(platform_home):
    with duckdb.connect(str(platform_home / "warehouse" / "marts.duckdb"), read_only=True) as con:
        yield con


def champion(client, model: served.ServedModel):
    return services(client).champions.get(model)


def test_churn_by_booking_id_is_the_champion_on_the_marts_row(client, reader, served_bookings, marts):
    from ml import cancellation

    ids = served_bookings[:5]
    rows = marts.execute(f"select * from fct_bookings where booking_id in ({','.join('?' * len(ids))}) "
                         "order by booking_id", ids).df()
    expected = champion(client, served.CANCELLATION).model.predict(cancellation.booking_frame(rows))
    for booking_id, p, level in zip(rows["booking_id"], expected["probability"], expected["risk_level"]):
        r = client.post(f"{ML}/churn/predict", json={"booking_id": booking_id}, headers=reader)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["booking_id"] == booking_id and body["features_from"] == "online_store"
        assert body["churn_probability"] == pytest.approx(p, abs=1e-4)
        assert body["risk_level"] == level
        assert 1 <= len(body["risk_factors"]) <= 3
        assert {"factor", "value", "impact"} <= set(body["risk_factors"][0])
        assert body["model_version"] == champion(client, served.CANCELLATION).version
        # checked on the booking's own hotel's last months (the champion's own evaluation)
        hotel = rows.loc[rows["booking_id"] == booking_id, "hotel"].iloc[0]
        assert body["evaluation"] == champion(client, served.CANCELLATION).model.evaluation_for(hotel)
        assert body["evaluation"]["evaluated"] is True and body["evaluation"]["auc"] > 0.5


def test_churn_scores_a_new_booking_from_its_fields(client, reader):
    booking = {"hotel": "City Hotel", "arrival_date": "2017-09-01", "lead_time": 300, "adults": 2,
               "stays_in_week_nights": 3, "deposit_type": "Non Refund", "market_segment": "Groups"}
    risky = client.post(f"{ML}/churn/predict", json={"features": booking}, headers=reader).json()
    safe = client.post(f"{ML}/churn/predict", json={"features": {
        **booking, "lead_time": 2, "deposit_type": "No Deposit", "market_segment": "Direct",
        "total_of_special_requests": 2}}, headers=reader).json()
    assert risky["features_from"] == "request" and risky["booking_id"] is None
    assert risky["churn_probability"] > safe["churn_probability"]
    assert risky["risk_level"] == "high" and risky["recommended_actions"]
    assert risky["evaluation"]["as_of"] and risky["evaluation"]["evaluated"] in (True, False)


def test_health_says_as_of_which_day_each_hotel_is_current(client, marts):
    as_of = client.get("/health").json()["marts"]["data_as_of"]
    hotels = {h for (h,) in marts.execute("select distinct hotel from fct_bookings").fetchall()}
    assert set(as_of) == hotels
    # the bundled extract is history; the synthetic chain is live (it ends today)
    assert as_of["City Hotel"] < "2018-01-01"
    live = [day for hotel, day in as_of.items() if hotel not in ("City Hotel", "Resort Hotel")]
    # (a small chain's quietest hotel may have had no booking for some days)
    assert live and max(live) >= (dt.date.today() - dt.timedelta(days=2)).isoformat(), as_of
    assert min(live) >= (dt.date.today() - dt.timedelta(days=30)).isoformat(), as_of


def test_churn_unknown_booking_is_404_and_bad_fields_422(client, reader):
    r = client.post(f"{ML}/churn/predict", json={"booking_id": "XX-404"}, headers=reader)
    assert r.status_code == 404 and "XX-404" in r.json()["message"]
    r = client.post(f"{ML}/churn/predict", json={"features": {
        "hotel": "Atlantis", "arrival_date": "2017-09-01", "booking_date": "2017-10-01",
        "adults": -1, "meal": "XX"}}, headers=reader)
    assert r.status_code == 422
    fields = {d["field"]: d["problem"] for d in r.json()["details"]}
    assert "unknown hotel" in fields["body.features.hotel"]
    assert "greater than or equal to 0" in fields["body.features.adults"]
    assert "body.features.meal" in fields
    assert "body.features.hotel" in r.json()["message"]
    r = client.post(f"{ML}/churn/predict", json={}, headers=reader)
    assert r.status_code == 422 and "booking_id" in r.json()["message"]


def test_clv_is_the_champion_on_guest_features(client, reader, marts):
    from features.inputs import data_range, guest_features

    as_of = data_range(marts)[1] + dt.timedelta(days=1)
    features = guest_features(marts, as_of).iloc[::500].head(4)
    expected = champion(client, served.CLV).model.predict(features)
    for guest_id, value, p, segment in expected[["guest_id", "predicted_value_12m",
                                                 "retention_probability", "segment"]].itertuples(index=False):
        body = client.post(f"{ML}/clv/predict", json={"guest_id": guest_id}, headers=reader).json()
        assert body["predicted_clv"] == pytest.approx(value, abs=0.01)
        assert body["retention_probability"] == pytest.approx(p, abs=1e-4)
        assert body["segment"] == segment and body["time_horizon_months"] == 12
    r = client.post(f"{ML}/clv/predict", json={"guest_id": "NOBODY"}, headers=reader)
    assert r.status_code == 404 and "NOBODY" in r.json()["message"]


def test_pricing_optimize_gives_a_schedule_per_date_and_room_type(client, reader):
    body = {"date_range": {"start": "2026-12-01", "end": "2026-12-07"}, "room_types": ["A", "D"], "hotel": "CH"}
    r = client.post(f"{ML}/pricing/optimize", json=body, headers=reader)
    assert r.status_code == 200, r.text
    schedule = pd.DataFrame(r.json()["pricing_schedule"])
    assert len(schedule) == 14 and set(schedule["room_type"]) == {"A", "D"}
    assert set(schedule["hotel_code"]) == {"CH"} and set(schedule["currency"]) == {"EUR"}
    assert (schedule["suggested_price"] > 0).all() and schedule["expected_occupancy"].between(0, 1).all()
    for bad, field in ((dict(body, date_range={"start": "2026-12-07", "end": "2026-12-01"}), "body"),
                       (dict(body, room_types=["ZZ"]), "body.room_types"),
                       # found by the schemathesis run: year 11 overflowed pandas (a 500)
                       (dict(body, date_range={"start": "0011-12-01", "end": "0011-12-02"}), "body"),
                       (dict(body, hotel="Nowhere"), "body.hotel")):
        r = client.post(f"{ML}/pricing/optimize", json=bad, headers=reader)
        assert r.status_code == 422, r.text
        assert any(d["field"].startswith(field) for d in r.json()["details"])


def test_pricing_current_reads_todays_row_of_the_lake_schedule(client, reader, api_settings):
    from lake.delta_tables import Lake
    from lake.tables import PRICE_SCHEDULE

    table = Lake.from_settings(api_settings).read(PRICE_SCHEDULE.name).to_pandas()
    today = table[pd.to_datetime(table["date"]).dt.date == dt.date.today()]
    row = today[today["room_type"] == "A"].sort_values("hotel").iloc[0]
    r = client.get(f"{ML}/pricing/current/A", headers=reader)
    assert r.status_code == 200, r.text
    prices = {p["hotel"]: p for p in r.json()["prices"]}
    assert prices[row["hotel"]]["suggested_price"] == pytest.approx(row["suggested_price"])
    assert len(prices) == (today["room_type"] == "A").sum()
    assert client.get(f"{ML}/pricing/current/A?hotel=CH", headers=reader).json()["prices"][0]["hotel_code"] == "CH"
    assert client.get(f"{ML}/pricing/current/ZZ", headers=reader).status_code == 404
    far = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    r = client.get(f"{ML}/pricing/current/A?on={far}", headers=reader)
    assert r.status_code == 404 and "covers" in r.json()["message"]


@pytest.mark.parametrize("target,field", [("occupancy", "predicted_occupancy"),
                                          ("revenue", "predicted_revenue"),
                                          ("housekeeping_demand", "predicted_rooms_to_clean")])
def test_forecasts_give_daily_values_with_intervals(client, reader, target, field):
    r = client.post(f"{ML}/forecast/{target}", json={"forecast_days": 7, "hotel": "RH"}, headers=reader)
    assert r.status_code == 200, r.text
    points = r.json()["forecasts"]
    assert len(points) == 7 and {p["hotel_code"] for p in points} == {"RH"}
    dates = [dt.date.fromisoformat(p["date"]) for p in points]
    assert dates == [dates[0] + dt.timedelta(days=i) for i in range(7)]
    assert all(p["lower_bound"] <= p[field] <= p["upper_bound"] for p in points)
    everyone = client.post(f"{ML}/forecast/{target}", json={"forecast_days": 2}, headers=reader).json()
    assert len({p["hotel"] for p in everyone["forecasts"]}) > 1
    r = client.post(f"{ML}/forecast/{target}", json={"forecast_days": 0, "room_type": "A"}, headers=reader)
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["details"]} == {"body.forecast_days", "body.room_type"}


def test_recommendations(client, reader, marts):
    # the guest with the most extras on past stays: the answer uses their history
    guest, = marts.execute(
        "select guest_id from fct_booking_services where guest_id is not null "
        "group by guest_id order by count(*) desc, guest_id limit 1").fetchone()
    assert champion(client, served.SERVICES).model.knows(guest)
    r = client.post(f"{ML}/recommend/services", json={"guest_id": guest, "top_k": 3}, headers=reader)
    assert r.status_code == 200, r.text
    recs = r.json()["recommendations"]
    assert len(recs) == 3 and all(rec["estimated_revenue"] > 0 for rec in recs)
    assert len({rec["service_id"] for rec in recs}) == 3
    assert any(rec["reason"].startswith("you had it on") for rec in recs), recs
    # estimated_revenue: the service's average charge per stay that had it, from the mart
    charges = dict(marts.execute("select service, round(avg(amount), 2) from fct_booking_services "
                                 "group by service").fetchall())
    assert all(rec["estimated_revenue"] == pytest.approx(charges[rec["service_name"]]) for rec in recs)
    assert client.post(f"{ML}/recommend/services", json={"guest_id": "NEW"}, headers=reader).status_code == 404
    new = client.post(f"{ML}/recommend/services", json={"guest_id": "NEW", "context": {
        "guest_segment": "business", "hotel": "HAN"}}, headers=reader)
    assert new.status_code == 200 and len(new.json()["recommendations"]) == 5

    stay = {"hotel": "RH", "check_in": "2017-08-01", "check_out": "2017-08-05", "adults": 2,
            "preferences": {"budget": 80, "view": "ocean"}}
    r = client.post(f"{ML}/recommend/rooms", json=stay, headers=reader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hotel_code"] == "RH" and len(body["recommendations"]) == 3
    assert body["unmet_preferences"] == ["view"]
    r = client.post(f"{ML}/recommend/rooms", json=dict(stay, check_out="2017-07-30"), headers=reader)
    assert r.status_code == 422 and "check_out" in r.json()["message"]


def test_every_prediction_is_recorded_in_the_lake(client, reader, served_bookings, api_settings):
    from lake.delta_tables import Lake
    from lake.tables import ML_PREDICTIONS

    r = client.post(f"{ML}/churn/predict", json={"booking_id": served_bookings[0]},
                    headers={**reader, "X-Correlation-ID": "trace-me-42"})
    assert r.headers["x-correlation-id"] == "trace-me-42"
    prediction_id = r.json()["prediction_id"]
    services(client).predictions.flush()
    log = Lake.from_settings(api_settings).read(ML_PREDICTIONS.name).to_pandas()
    row = log[log["prediction_id"] == prediction_id].iloc[0]
    assert (row["model"], row["endpoint"], row["correlation_id"], row["client"]) == (
        "cancellation", "churn/predict", "trace-me-42", "tester")
    assert row["model_version"] == champion(client, served.CANCELLATION).version and row["latency_ms"] > 0
    assert served_bookings[0] in row["inputs"] and str(r.json()["churn_probability"]) in row["outputs"]


def test_health_and_metrics(client, reader, api_settings):
    from tests.serving.conftest import bearer

    health = client.get(f"{ML}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert set(health.json()["models"]) >= {"cancellation", "clv", "pricing", "forecast_occupancy"}
    client.post(f"{ML}/churn/predict", json={"booking_id": "XX-404"}, headers=reader)
    text = client.get(f"{ML}/metrics", headers=bearer(api_settings, "monitoring")).text
    assert 'innsight_http_requests_total{method="POST",route="/api/v1/ml/churn/predict",status="404"}' in text
    assert 'innsight_ml_champion_version{model="cancellation"}' in text
    assert client.get("/health/live").json() == {"status": "alive"}
    assert client.get("/health/ready").status_code == 200
