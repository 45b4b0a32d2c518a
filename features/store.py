"""The feature store API the orchestration, training code and the serving layer call.

    export_sources()                      # marts -> <home>/feast/sources/*.parquet
    apply()                               # register entities, views, services (feast apply)
    materialize()                         # offline -> online store (SQLite | Redis)
    online_features("churn", [{"booking_id": "RH-..."}])      -> {name: [values]}
    training_frame(entity_df, "churn")    # point-in-time-correct get_historical_features

The store follows ``get_settings()`` (home and profile): a changed setting gives a new store.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, Iterable, Mapping

import pandas as pd
from feast import FeatureStore

from features.config import ensure_registry_database, repo_config
from features.definitions import Repository, build
from features.export import export_sources  # noqa: F401  (part of the API)
from innsight.settings import Settings, get_settings

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

_lock = threading.Lock()
_stores: dict[tuple, FeatureStore] = {}
_services: dict[tuple, Any] = {}


def _key(settings: Settings) -> tuple:
    return (
        str(settings.home), settings.profile, settings.redis_url, settings.postgres_url,
        settings.feast_database,
    )


def feature_store(settings: Settings | None = None) -> FeatureStore:
    """The FeatureStore of the settings' profile (one per configuration, reused)."""
    settings = settings or get_settings()
    key = _key(settings)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                config = repo_config(settings)
                if settings.profile != "production":
                    (settings.home / "feast").mkdir(parents=True, exist_ok=True)
                store = FeatureStore(config=config)
                _stores[key] = store
    return store


def reset() -> None:
    """Forget the cached stores (tests, or after the settings changed in-process)."""
    with _lock:
        _stores.clear()
        _services.clear()


def repository(settings: Settings | None = None) -> Repository:
    return build(settings or get_settings())


def apply(settings: Settings | None = None) -> dict[str, list[str]]:
    """``feast apply`` of the definitions: registers them and creates the online tables.

    Objects of the project that are no longer defined are deleted (their online tables
    dropped). Returns the names applied per kind.
    """
    settings = settings or get_settings()
    if settings.profile == "production":
        ensure_registry_database(settings)
    store = feature_store(settings)
    repo = repository(settings)
    wanted = {type(o).__name__ + ":" + o.name for o in repo.objects}
    existing: list[Any] = [
        *store.list_entities(), *store.list_feature_views(), *store.list_feature_services(),
    ]
    stale = [o for o in existing
             if type(o).__name__ + ":" + o.name not in wanted and o.name != "__dummy"]
    store.apply(repo.objects, objects_to_delete=stale, partial=False)
    _services.clear()
    return {
        "entities": [e.name for e in repo.entities],
        "feature_views": list(repo.views),
        "feature_services": list(repo.services),
        "deleted": [o.name for o in stale],
    }


def materialize(
    end: dt.datetime | None = None,
    start: dt.datetime | None = None,
    views: list[str] | None = None,
    incremental: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Load the latest row per entity with an event time in [start, end] into the online store.

    By default the whole history up to now (``end``: now, ``start``: 1970), so that a
    corrected old row (same event time) reaches the online store too. ``incremental=True``
    loads only what has an event time after each view's last materialisation (Feast's
    ``materialize_incremental``): much faster on a large history, blind to corrections.
    """
    settings = settings or get_settings()
    store = feature_store(settings)
    end = _utc(end) if end is not None else dt.datetime.now(dt.timezone.utc)
    names = views or [v.name for v in store.list_feature_views()]
    started = time.perf_counter()
    if incremental:
        # A view never materialised has no last end time; Feast would then start a year
        # back (ttl 0): load its whole history instead.
        fresh = [n for n in names if store.get_feature_view(n).most_recent_end_time is None]
        done = [n for n in names if n not in fresh]
        if fresh:
            store.materialize(start_date=EPOCH, end_date=end, feature_views=fresh)
        if done:
            store.materialize_incremental(end_date=end, feature_views=done)
        start_text = "incremental"
    else:
        start = _utc(start) if start is not None else EPOCH
        store.materialize(start_date=start, end_date=end, feature_views=views)
        start_text = start.isoformat()
    return {"start": start_text, "end": end.isoformat(), "feature_views": names,
            "online_store": store.config.online_store.type,
            "seconds": round(time.perf_counter() - started, 3)}


def _service(store: FeatureStore, settings: Settings, name: str):
    key = (_key(settings), name)
    service = _services.get(key)
    if service is None:
        service = store.get_feature_service(name)
        _services[key] = service
    return service


def _date_key(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    return value


def online_features(
    service_name: str,
    entity_rows: Iterable[Mapping[str, Any]],
    settings: Settings | None = None,
) -> dict[str, list[Any]]:
    """Online features of a service for entity rows: ``{column: [value per row]}``.

    Join keys come back too. A ``stay_date`` may be given as a date; unknown entities get
    None for every feature.
    """
    settings = settings or get_settings()
    store = feature_store(settings)
    rows = [
        {k: (_date_key(v) if k == "stay_date" else v) for k, v in row.items()}
        for row in entity_rows
    ]
    return store.get_online_features(
        features=_service(store, settings, service_name), entity_rows=rows
    ).to_dict()


def training_frame(
    entity_df: pd.DataFrame,
    service_name: str,
    settings: Settings | None = None,
    full_feature_names: bool = False,
) -> pd.DataFrame:
    """Point-in-time-correct training set: for each entity row, the latest feature values
    with an event time at or before its ``event_timestamp`` (naive timestamps are UTC)."""
    settings = settings or get_settings()
    store = feature_store(settings)
    if "event_timestamp" not in entity_df.columns:
        raise ValueError("entity_df needs an event_timestamp column (when each row is scored).")
    df = entity_df.copy()
    ts = pd.to_datetime(df["event_timestamp"])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    df["event_timestamp"] = ts.astype("datetime64[us, UTC]")
    if "stay_date" in df.columns:
        df["stay_date"] = df["stay_date"].map(_date_key)
    return store.get_historical_features(
        entity_df=df,
        features=_service(store, settings, service_name),
        full_feature_names=full_feature_names,
    ).to_df()


def _utc(value: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
