"""Work done once when a champion is loaded, so that no request pays for it."""

from __future__ import annotations

import logging

import duckdb

from base.settings import get_settings
from serving.champions import Champion

log = logging.getLogger("innsight.serving")


def warm_feature_store(settings) -> None:
    """The first online read loads Feast's registry and opens the store (seconds): do it
    before the first request, not during it. A store not built yet is reported by /health."""
    from features.store import online_features

    for service, key in (("cancellation", "booking_id"), ("clv", "guest_id")):
        try:
            online_features(service, [{key: "__warm-up__"}], settings=settings)
        except Exception as e:
            log.warning("feature store not ready for %s: %s", service, e)


def _churn(champion: Champion) -> Champion:
    """Builds the booster and the look-up caches with one throw-away prediction."""
    champion.model.predict_one({"hotel": "City Hotel", "arrival_date": "2017-08-01",
                                "lead_time": 30, "stays_in_week_nights": 2, "adults": 2})
    return champion


def _services(champion: Champion) -> Champion:
    """Guest profiles from every stay in the marts (the model was fitted on a past cut-off),
    and each service's average charge for `estimated_revenue`."""
    path = get_settings().marts_path
    if not path.exists():
        log.warning("marts file %s missing: service recommendations use training-time profiles", path)
        return champion
    with duckdb.connect(str(path), read_only=True) as marts:
        model = champion.model.with_profiles(marts)
        model.serving_amounts = dict(marts.execute(
            "select description, round(avg(charged), 2) from ("
            "  select booking_id, description, sum(amount) as charged from staging.stg_pms_folio_lines"
            "  where category <> 'room' group by all) group by description").fetchall())
    return Champion(champion.name, champion.version, model, champion.loaded_at)


PREPARE = {"cancellation": _churn, "recommend_services": _services}
