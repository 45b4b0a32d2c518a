"""Online features for the API: one entity's features as a record, the store's health, and
the warm-up before the first request."""

from __future__ import annotations

import logging
import time
from typing import Any

from features.store import FeatureStore
from serving.core.errors import Message, Unavailable

log = logging.getLogger("innsight.serving")

# service -> its entity key: what the warm-up reads (an unknown entity; any answer will do)
WARM_UP = {"cancellation": "booking_id", "clv": "guest_id"}
PROBE_SECONDS = 10.0
STORE_UNAVAILABLE = Message("the online feature store cannot serve '{service}': {problem}. "
                            "Build it with `make build` (features/online_store asset).")


class OnlineFeatures:
    def __init__(self, store: FeatureStore):
        self.store = store
        self._probe: tuple[float, dict] | None = None

    def record(self, service: str, entity: dict[str, Any]) -> dict[str, Any] | None:
        """The online features of one entity as a dict; None when the store does not know
        it; 503 when the store cannot answer."""
        try:
            record = self.store.online_record(service, entity)
        except Exception as e:  # store not built / unreachable: say so, do not guess
            raise Unavailable(STORE_UNAVAILABLE.format(service=service, problem=e)) from e
        known = [v for k, v in record.items() if k not in entity and v is not None]
        return record if known else None

    def known(self, service: str, key: str, values: list[str]) -> list[str]:
        """Those of ``values`` (of the entity key ``key``) the store has features of, in
        their order."""
        columns = self.store.online_features(service, [{key: v} for v in values])
        features = [col for name, col in columns.items() if name != key]
        return [v for i, v in enumerate(values) if any(col[i] is not None for col in features)]

    def warm_up(self) -> None:
        """The first online read loads Feast's registry and opens the store (seconds): done
        before the first request, not during it. A store not built yet is reported by
        /api/v1/ml/health."""
        for service, key in WARM_UP.items():
            try:
                self.store.online_record(service, {key: "__warm-up__"})
            except Exception as e:
                log.warning("feature store not ready for %s: %s", service, e)

    def status(self) -> dict:
        """Can the online store answer? Probed at most every 10 s (cheap, but not free)."""
        cached = self._probe
        if cached and time.monotonic() - cached[0] < PROBE_SECONDS:
            return cached[1]
        try:
            services = self.store.service_names()
            result = {"status": "ok", "online_store": self.store.online_store_type,
                      "services": services}
            if not services:
                result = {"status": "unavailable",
                          "reason": "no feature service registered: run `make build`"}
        except Exception as e:
            result = {"status": "unavailable", "reason": str(e)}
        self._probe = (time.monotonic(), result)
        return result
