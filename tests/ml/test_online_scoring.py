"""From Python, as the serving layer will: load the champion, read a booking's features
from Feast's online store, predict — the same answer as from the marts row itself."""

import datetime as dt

import pandas as pd

from innsight.settings import get_settings
from tests.features.conftest import known_booking_day, use_home


def test_churn_champion_scores_online_features_like_the_marts_row(marts_home, tmp_path, monkeypatch):
    import duckdb

    from features import export, store
    from ml import churn
    from ml.tracking import load_champion, log_and_promote

    with duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True) as marts:
        candidate = churn.train(marts)
        day = known_booking_day(marts_home)
        rows = marts.execute("select * from fct_bookings where booking_date = ? order by booking_id",
                             [day]).df()
    use_home(monkeypatch, tmp_path / "home")
    export.export_sources(marts_path=marts_home / "warehouse" / "marts.duckdb")
    store.apply()
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone.utc)
    store.materialize(start=start, end=start + dt.timedelta(hours=12), views=["booking_features"])
    log_and_promote(candidate)
    champion = load_champion("churn")

    online = pd.DataFrame(store.online_features("churn", [{"booking_id": b} for b in rows["booking_id"]]))
    from_store = champion.predict(churn.booking_frame(online))
    from_marts = champion.predict(churn.booking_frame(rows))
    assert len(from_store) == len(rows) > 0
    pd.testing.assert_series_equal(from_store["probability"], from_marts["probability"],
                                   check_names=False)
    assert (from_store["risk_level"] == from_marts["risk_level"]).all()
    assert get_settings().home == tmp_path / "home"
