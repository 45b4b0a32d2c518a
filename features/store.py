"""The feature store the orchestration, training code and the serving layer call.

    store = FeatureStore(StoreConfig.from_settings(settings))     # at an entry point
    store.export_sources(marts_path)      # marts -> <home>/feast/sources/*.parquet
    store.apply()                         # register entities, views, services (feast apply)
    store.materialize()                   # offline -> online store (SQLite | Redis)
    store.online_features("cancellation", [{"booking_id": "RH-..."}])  -> {name: [values]}
    store.online_record("cancellation", {"booking_id": "RH-..."})    -> {name: value}
    store.training_frame(entity_df, "cancellation")  # point-in-time-correct training set

Feast's own store is opened on first use and kept for the object's life.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import feast
import pandas as pd
import redis
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import (_mmh3, _redis_key, compute_table_id,
                                                compute_versioned_name,
                                                get_online_store_from_config)
from feast.infra.online_stores.redis import RedisOnlineStore
from feast.infra.online_stores.sqlite import SqliteOnlineStore, _quote_id
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values
from feast.value_type import ValueType

from features.config import StoreConfig, ensure_registry_database, repo_config
from features.export import export_sources
from features.repository import Repository, build

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
SQLITE_MMAP_BYTES = 1 << 31  # address space, not memory (SQLite caps it near 2 GB by default)


class FeatureStore:
    def __init__(self, config: StoreConfig):
        self.config = config
        self._feast: feast.FeatureStore | None = None
        self._services: dict[str, Any] = {}
        self._lookups: dict[str, list[_Lookup]] = {}
        self._online_read: Any = None  # (lookup, entity key) -> {feature: Value}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "FeatureStore":
        return cls(StoreConfig.from_settings(settings))

    @property
    def feast(self) -> feast.FeatureStore:
        """Feast's FeatureStore for this configuration (opened once)."""
        if self._feast is None:
            with self._lock:
                if self._feast is None:
                    if not self.config.production:
                        self.config.directory.mkdir(parents=True, exist_ok=True)
                    self._feast = feast.FeatureStore(config=repo_config(self.config))
        return self._feast

    @property
    def online_store_type(self) -> str:
        return self.feast.config.online_store.type

    def repository(self) -> Repository:
        return build(self.config)

    def export_sources(self, marts_path: Path) -> dict[str, int]:
        """Write every feature source from the marts file; returns the row count per source."""
        return export_sources(self.config, marts_path)

    def service_names(self) -> list[str]:
        return sorted(s.name for s in self.feast.list_feature_services())

    def apply(self) -> dict[str, list[str]]:
        """``feast apply`` of the definitions: registers them and creates the online tables.

        Objects of the project that are no longer defined are deleted (their online tables
        dropped). Returns the names applied per kind.
        """
        if self.config.production:
            ensure_registry_database(self.config)
        store = self.feast
        repo = self.repository()
        wanted = {type(o).__name__ + ":" + o.name for o in repo.objects}
        existing: list[Any] = [
            *store.list_entities(), *store.list_feature_views(), *store.list_feature_services(),
        ]
        stale = [o for o in existing
                 if type(o).__name__ + ":" + o.name not in wanted and o.name != "__dummy"]
        store.apply(repo.objects, objects_to_delete=stale, partial=False)
        self._services.clear()
        self._lookups.clear()
        return {
            "entities": [e.name for e in repo.entities],
            "feature_views": list(repo.views),
            "feature_services": list(repo.services),
            "deleted": [o.name for o in stale],
        }

    def materialize(
        self,
        end: dt.datetime | None = None,
        start: dt.datetime | None = None,
        views: list[str] | None = None,
        incremental: bool = False,
    ) -> dict[str, Any]:
        """Load the latest row per entity with an event time in [start, end] into the online
        store.

        By default the whole history up to now (``end``: now, ``start``: 1970), so that a
        corrected old row (same event time) reaches the online store too. ``incremental=True``
        loads only what has an event time after each view's last materialisation (Feast's
        ``materialize_incremental``): much faster on a large history, blind to corrections.
        """
        store = self.feast
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
                "online_store": self.online_store_type,
                "seconds": round(time.perf_counter() - started, 3)}

    def _service(self, name: str):
        service = self._services.get(name)
        if service is None:
            service = self._services[name] = self.feast.get_feature_service(name)
        return service

    def online_features(self, service_name: str,
                        entity_rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """Online features of a service for entity rows: ``{column: [value per row]}``.

        Join keys come back too. A ``stay_date`` may be given as a date; unknown entities
        get None for every feature.
        """
        rows = [{k: (_date_key(v) if k == "stay_date" else v) for k, v in row.items()}
                for row in entity_rows]
        return self.feast.get_online_features(
            features=self._service(service_name), entity_rows=rows).to_dict()

    def online_record(self, service_name: str, entity: Mapping[str, Any]) -> dict[str, Any]:
        """One entity's online features of a service, ``{column: value}``: exactly what
        ``online_features(service_name, [entity])`` answers, value by value, at a fraction
        of its cost (the API's path, once per request).

        Feast stays the definition (the service's projections, from its registry) and the
        only writer of the online store; this reads one entity as one key lookup per feature
        view -- on Redis one HMGET of Feast's hash (``_RedisRead``), on SQLite from Feast's
        table itself (``_SqliteRead``), any other store through its ``online_read`` -- and
        converts the values with Feast's own type map, skipping the general read path's
        per-request planning. Tests hold it equal to ``get_online_features``."""
        entity = {k: (_date_key(v) if k == "stay_date" else v) for k, v in entity.items()}
        record: dict[str, Any] = dict(entity)
        for lookup in self._lookups_of(service_name):
            key = EntityKey(join_keys=[k for k, _, _ in lookup.join_keys], entity_values=[
                _key_value(entity.get(given), value_type) for _, given, value_type in lookup.join_keys])
            values = self._online_read(lookup, key)
            for name in lookup.features:
                value = values.get(name)
                record[name] = _python(value) if value is not None else None
        return record

    def _lookups_of(self, service_name: str) -> list["_Lookup"]:
        lookups = self._lookups.get(service_name)
        if lookups is None:
            if self._online_read is None:
                self._online_read = _reader(self.feast.config)
            lookups = []
            for projection in self._service(service_name).feature_view_projections:
                view = self.feast.get_feature_view(projection.name)
                join_keys = [(c.name, projection.join_key_map.get(c.name, c.name),
                              c.dtype.to_value_type()) for c in view.entity_columns]
                lookups.append(_Lookup(view, join_keys, tuple(f.name for f in projection.features)))
            self._lookups[service_name] = lookups
        return lookups

    def training_frame(self, entity_df: pd.DataFrame, service_name: str,
                       full_feature_names: bool = False) -> pd.DataFrame:
        """Point-in-time-correct training set: for each entity row, the latest feature values
        with an event time at or before its ``event_timestamp`` (naive timestamps are UTC)."""
        if "event_timestamp" not in entity_df.columns:
            raise ValueError("entity_df needs an event_timestamp column (when each row is scored).")
        df = entity_df.copy()
        ts = pd.to_datetime(df["event_timestamp"])
        ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
        df["event_timestamp"] = ts.astype("datetime64[us, UTC]")
        if "stay_date" in df.columns:
            df["stay_date"] = df["stay_date"].map(_date_key)
        return self.feast.get_historical_features(
            entity_df=df, features=self._service(service_name),
            full_feature_names=full_feature_names).to_df()


def _reader(config) -> Callable[["_Lookup", EntityKey], Mapping[str, ValueProto]]:
    """One-entity reads of the online store of this configuration: ``(lookup, key) ->
    {feature: Value}``, empty for an entity the store does not hold."""
    store = get_online_store_from_config(config.online_store)
    if isinstance(store, SqliteOnlineStore):
        return _SqliteRead(config)
    if isinstance(store, RedisOnlineStore):
        return _RedisRead(config, store)

    def read(lookup: "_Lookup", key: EntityKey) -> Mapping[str, ValueProto]:
        # a copy of the names: a store's read may append to the list it is given
        return store.online_read(config, lookup.view, [key], list(lookup.features))[0][1] or {}

    return read


class _SqliteRead:
    """Feast's SQLite online store read the way Feast's ``online_read`` reads it -- the
    view's table (Feast's own name for it), one row per feature of the serialised entity
    key, each value a ``Value`` protobuf -- through a read-only connection of our own.

    Feast's connection parses every row's timestamps (``detect_types``), which a record does
    not use: half the CPU of a read. And it keeps SQLite's default 2 MB page cache while
    the API reads a file of a GB or more at random: memory-mapping it halves the rest and
    spares most reads the disk. Feast stays the only writer; tests hold the two reads equal."""

    def __init__(self, config):
        path = SqliteOnlineStore._get_db_path(config)  # Feast's own rule for where it is
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._conn.execute(f"pragma mmap_size={SQLITE_MMAP_BYTES}")
        self._config = config
        self._sql: dict[str, str] = {}

    def __call__(self, lookup: "_Lookup", key: EntityKey) -> dict[str, ValueProto]:
        config = self._config
        sql = self._sql.get(lookup.view.name)
        if sql is None:
            table = compute_table_id(config.project, lookup.view,
                                     config.registry.enable_online_feature_view_versioning)
            sql = self._sql[lookup.view.name] = (
                f"SELECT feature_name, value FROM {_quote_id(table)} WHERE entity_key = ?")
        blob = serialize_entity_key(
            key, entity_key_serialization_version=config.entity_key_serialization_version)
        return {name: ValueProto.FromString(value)
                for name, value in self._conn.execute(sql, (blob,)).fetchall()}


class _RedisRead:
    """Feast's Redis online store read the way Feast's ``online_read`` reads it -- the
    entity's hash (Feast's key: the serialised entity key and the project), one field per
    feature (Feast's murmur3 of ``view:feature``), each value a ``Value`` protobuf -- as one
    HMGET on Feast's own client (standalone, sentinel or cluster, as configured).

    Feast's read wraps the command in a pipeline, hashes every field name and parses the
    row's timestamp on every call: more than half the CPU of a read, for fields that are
    the same on every call and a timestamp a record does not use. On a standalone server the
    command goes over a connection of the client's pool that each thread keeps: the client's
    own call (pool check-out, retry and telemetry wrappers) cost 85 µs of CPU where the
    round trip itself costs 30. Feast stays the only writer; tests hold the two reads equal."""

    def __init__(self, config, store: RedisOnlineStore):
        self._client = store._get_client(config.online_store)  # Feast's, as it connects
        # standalone or sentinel: commands go over a connection of its pool each thread keeps
        self._pool = self._client.connection_pool if isinstance(self._client, redis.Redis) else None
        self._config = config
        self._fields: dict[str, list[bytes]] = {}
        self._held = threading.local()

    def __call__(self, lookup: "_Lookup", key: EntityKey) -> dict[str, ValueProto]:
        config = self._config
        fields = self._fields.get(lookup.view.name)
        if fields is None:
            name = compute_versioned_name(lookup.view,
                                          config.registry.enable_online_feature_view_versioning)
            fields = self._fields[lookup.view.name] = [_mmh3(f"{name}:{feature}")
                                                       for feature in lookup.features]
        values = self._hmget(_redis_key(config.project, key, config.entity_key_serialization_version),
                             fields)
        # a field the hash lacks is left out: the record reads it as None, as it reads the
        # empty Value Feast's read gives it
        return {name: ValueProto.FromString(value)
                for name, value in zip(lookup.features, values) if value is not None}

    def _hmget(self, key: bytes, fields: list[bytes]) -> list[bytes | None]:
        if self._pool is None:  # a cluster: the client routes each key to its node
            return self._client.hmget(key, fields)
        conn = getattr(self._held, "conn", None)
        if conn is None:
            conn = self._held.conn = self._pool.get_connection()
        try:
            return _command(conn, "HMGET", key, *fields)
        except (redis.ConnectionError, redis.TimeoutError):
            # the server restarted or dropped an idle connection: once more, on a new one
            # (send_command connects a disconnected connection)
            return _command(conn, "HMGET", key, *fields)


def _command(conn: redis.Connection, *args) -> Any:
    """One command's reply on a held connection, dropped on any failure: a reply left
    unread must never reach the next command."""
    try:
        conn.send_command(*args)
        return conn.read_response()
    except BaseException:
        conn.disconnect()
        raise


@dataclass(frozen=True)
class _Lookup:
    """One feature view of a service: its join keys (the view's name, the entity row's name
    and the Feast value type of each) and the features the service takes from it."""

    view: Any
    join_keys: list[tuple[str, str, Any]]
    features: tuple[str, ...]


def _key_value(value: Any, value_type: ValueType) -> ValueProto:
    """``python_values_to_proto_values([value], value_type)[0]``: a text key (the usual
    entity id) built directly, the type map's checks cost more than the rest of the key."""
    if type(value) is str and value_type == ValueType.STRING:
        return ValueProto(string_val=value)
    return python_values_to_proto_values([value], value_type)[0]


# Value kinds Feast's type map returns as they are: read straight, without its ~20 checks
_PLAIN = frozenset({"int32_val", "int64_val", "float_val", "double_val", "string_val",
                    "bool_val", "bytes_val"})


def _python(value: ValueProto) -> Any:
    """``feast_value_type_to_python_type`` of one value, plain scalars read directly."""
    kind = value.WhichOneof("val")
    return getattr(value, kind) if kind in _PLAIN else feast_value_type_to_python_type(value)


def _date_key(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    return value


def _utc(value: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
