"""From Python, as the serving layer will: load the champion, read a booking's features
from Feast's online store, predict — the same answer as from the marts row itself."""

import datetime as dt

import pandas as pd

from base.settings import Settings
from tests.conftest import known_booking_day


def test_cancellation_champion_scores_online_features_like_the_marts_row(marts_home, live_cancellation,
                                                                       tmp_path):
    import duckdb

    from features.store import FeatureStore
    from ml import cancellation
    from ml.registry import ModelRegistry

    candidate = live_cancellation
    with duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True) as marts:
        day = known_booking_day(marts_home)
        rows = marts.execute("select * from fct_bookings where booking_date = ? order by booking_id",
                             [day]).df()
    settings = Settings(home=tmp_path / "home")
    store, registry = FeatureStore.from_settings(settings), ModelRegistry.from_settings(settings)
    store.export_sources(marts_home / "warehouse" / "marts.duckdb")
    store.apply()
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone.utc)
    store.materialize(start=start, end=start + dt.timedelta(hours=12), views=["booking_features"])
    registry.log_and_promote(candidate)
    champion = registry.load_champion("cancellation")

    online = pd.DataFrame(store.online_features("cancellation", [{"booking_id": b} for b in rows["booking_id"]]))
    from_store = champion.predict(cancellation.booking_frame(online))
    from_marts = champion.predict(cancellation.booking_frame(rows))
    assert len(from_store) == len(rows) > 0
    pd.testing.assert_series_equal(from_store["probability"], from_marts["probability"],
                                   check_names=False)
    assert (from_store["risk_level"] == from_marts["risk_level"]).all()


def test_clv_champion_scores_online_features_like_guest_features(marts_home, live_clv, tmp_path):
    """The `clv` service serves features.inputs.guest_features as of the data's end, column
    for column."""
    import duckdb

    from features.store import FeatureStore
    from ml import clv
    from ml.registry import ModelRegistry

    with duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True) as marts:
        candidate = live_clv
        as_of = clv.data_range(marts)[1] + dt.timedelta(days=1)
        features = clv.guest_features(marts, as_of)
    # Every 25th guest, and guests with no stay yet (NaN recency, spend per stay): nulls too.
    never_stayed = features[features["recency_days"].isna()].head(5)
    expected = pd.concat([features.iloc[::25], never_stayed]).drop_duplicates("guest_id")
    expected = expected.reset_index(drop=True)
    assert len(never_stayed) > 0
    settings = Settings(home=tmp_path / "home")
    store, registry = FeatureStore.from_settings(settings), ModelRegistry.from_settings(settings)
    store.export_sources(marts_home / "warehouse" / "marts.duckdb")
    store.apply()
    store.materialize(views=["guest_clv_inputs"])
    registry.log_and_promote(candidate)
    champion = registry.load_champion("clv")

    online = pd.DataFrame(store.online_features("clv", [{"guest_id": g} for g in expected["guest_id"]]))
    assert sorted(online.columns) == sorted(["guest_id", *clv.FEATURES])
    pd.testing.assert_frame_equal(online[expected.columns], expected)
    from_store = champion.predict(online)
    from_marts = champion.predict(expected)
    assert len(from_store) == len(expected) > 0
    pd.testing.assert_frame_equal(from_store, from_marts)
