"""The language side of the API, built once per app: the text embedder and the knowledge
base (LanceDB), the request router, the LLM (``language.llm``), the staff assistant and its
tools bound to this platform's marts and champion models, the task runner, the messages
and the log monitor; and what they hand to the workflows (the lake tables
``language/guest_requests`` and ``language/queued_actions``).

The router is trained from the labelled messages (``routing_data``) when the API starts (in
the background, under a minute; its endpoint answers 503 "still loading" meanwhile) and cached under the
platform's home by the training file's digest and the embedder, so a restart loads it.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import threading
import uuid
from datetime import date, datetime, timezone

import joblib
import polars as pl

from base.settings import Settings
from lake.delta_tables import Lake
from lake.properties import PropertyMaster
from lake.tables import GUEST_REQUESTS, QUEUED_ACTIONS
from language.assistant import Assistant
from language.assistant_tools import DataTools, Marts
from language.embedders import Embedder
from language.knowledge_base import KnowledgeBase, query_language
from language.llm import LLMConfig
from language.log_monitoring import LogMonitor
from language.messages import HotelVoice, Message as GuestMessage, polish, render
from language.request_routing import RequestRouter
from language.routing_program import LlmRouting
from language.task_plan import TaskRunner
from serving.core.errors import NOT_LOADED_YET, ApiError, InvalidRequest, Message, Unavailable
from serving.services.champions import CANCELLATION, FORECASTS, PRICING, ChampionRegistry
from serving.services.online_features import OnlineFeatures
from serving.services.price_book import PriceBook

log = logging.getLogger("innsight.serving")

NOT_READY = Message("the {what} is not ready: {reason}")
NO_CURRENCY = Message("hotel {hotel} has no currency in the property master: add its ISO code "
                      "(currency: VND) to lake/reference/properties.yaml")


class Language:
    """What the /api/v1/llm routes use."""

    def __init__(self, settings: Settings, lake: Lake, champions: ChampionRegistry,
                 features: OnlineFeatures, price_book: PriceBook, currencies: dict[str, str]):
        s = settings
        self.settings, self.lake = s, lake
        self.embedder = Embedder(s.text_embedder)
        self.knowledge = KnowledgeBase(s.vectors_root, self.embedder)
        self.llm = LLMConfig(s.llm_provider, s.llm_url, s.llm_model,
                             s.llm_api_key.get_secret_value())
        self.champions, self.features, self.price_book = champions, features, price_book
        self.currencies = currencies  # hotel -> currency
        self.data = DataTools(Marts(s.marts_path), self.knowledge, self._score_bookings,
                              self._suggest_prices, self._forecast)
        use_llm = s.assistant_mode == "llm" or (s.assistant_mode == "auto" and self.llm.capable)
        self.assistant = Assistant(self.data, self.llm.lm() if use_llm else None, use_llm=use_llm)
        self.monitor = LogMonitor()
        self.router: LlmRouting | None = None
        self.router_problem: str | None = NOT_LOADED_YET
        self.runner = TaskRunner(self.data, None, self.queue_action)
        self._write = threading.Lock()
        self._loaded = threading.Event()

    # -- loading ------------------------------------------------------------------------
    def load(self) -> None:
        """Train (or load) the router in the background: the API answers meanwhile."""
        threading.Thread(target=self._load_router, name="router-loader", daemon=True).start()

    def _load_router(self) -> None:
        try:
            data = self.settings.routing_data
            digest = hashlib.sha256(data.read_bytes()).hexdigest()[:12]
            cache = (self.settings.home / "models" / "request_router"
                     / f"{self.embedder.name}-{digest}.joblib")
            if cache.exists():
                router = dataclasses.replace(joblib.load(cache), embedder=self.embedder)
            else:
                router = RequestRouter.from_file(data, self.embedder)
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(".tmp")
                joblib.dump(dataclasses.replace(router, embedder=None), tmp)
                tmp.replace(cache)  # atomic: a crash leaves no half-written model
            # the LLM second-reads unsure messages only where it is capable
            self.router = LlmRouting(router, self.llm.lm() if self.llm.capable else None)
            self.router_problem = None
            self.runner.router = router
            log.info("request router loaded", extra={"fields": {"cache": str(cache)}})
        except Exception as e:  # the routing endpoint says why; the rest of the API works
            self.router_problem = f"{type(e).__name__}: {e}"
            log.exception("request router failed to load")
        finally:
            # what it built and imported joins the long-lived objects out of the cyclic GC
            # (see app.py): left in, each full pass over them stalled requests for ~90 ms
            gc.freeze()
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def route(self, text: str) -> dict:
        """The routing of one guest message (503 while the router loads)."""
        if self.router is None:
            raise Unavailable(NOT_READY.format(what="request router", reason=self.router_problem))
        return {**self.router.classify(text), "language": query_language(text)}

    def message(self, template: str, variables: dict, language: str, hotel: str | None,
                polished: bool, properties: PropertyMaster) -> GuestMessage:
        """A message in the voice of ``hotel`` (default: the group's first property)."""
        h = properties.find(hotel) if hotel else properties.hotels[0]
        if not h.currency:  # never guess the currency of an amount a guest will pay
            raise InvalidRequest(NO_CURRENCY.format(hotel=h.code))
        message = render(template, variables, language, HotelVoice(h.name, h.currency))
        if not polished:
            return message
        if not self.llm.enabled:
            return dataclasses.replace(message, polish_note="no LLM configured: the template is kept")
        if language != "en" and not self.llm.capable:
            return dataclasses.replace(message, polish_note="the bundled LLM writes English only: "
                                                            "the template is kept")
        return polish(message, self.llm.lm())

    def status(self) -> dict:
        return {"embedder": {"name": self.embedder.name},
                "knowledge_base": self.knowledge.status(),
                "router": {"loaded": self.router is not None, "reason": self.router_problem},
                "llm": self.llm.status(),
                "assistant_mode": self.assistant.mode}

    # -- the assistant's model tools (the champions' public methods) --------------------
    def _champion(self, served):
        try:
            return self.champions.get(served)
        except ApiError as e:
            raise LookupError(e.message) from e

    def _score_bookings(self, booking_ids: list[str]) -> dict[str, dict]:
        champion = self._champion(CANCELLATION)
        out = {}
        for booking_id in booking_ids[:500]:
            record = self.features.record("cancellation", {"booking_id": booking_id})
            if record is not None:
                p = champion.model.predict_one(record)
                out[booking_id] = {"probability": round(p["probability"], 4),
                                   "risk_level": p["risk_level"],
                                   "model_version": champion.version}
        return out

    def _suggest_prices(self, day: date, room_types: list[str] | None,
                        hotels: list[str] | None) -> list[dict]:
        """The 03:00 schedule's rows for ``day``, else the champion pricing model's."""
        book = self.price_book.current()
        rows = [r for key, rs in book.rows.items() if key[1] == day
                and (not room_types or key[0] in room_types) for r in rs
                if not hotels or r["hotel"] in hotels]
        if rows:
            return [{"hotel": r["hotel"], "room_type": r["room_type"], "date": str(day),
                     "suggested_price": r["suggested_price"],
                     "currency": self.currencies.get(r["hotel"]), "source": "price_schedule"}
                    for r in rows]
        champion = self._champion(PRICING)
        out = []
        for hotel in hotels or champion.model.hotels():
            types = [t for t in champion.model.room_types(hotel) if not room_types or t in room_types]
            if types:
                frame = champion.model.optimise(hotel, day, 1, types)
                out += [{"hotel": hotel, "room_type": r.room_type, "date": r.date,
                         "suggested_price": float(r.suggested_price),
                         "currency": self.currencies.get(hotel), "source": "pricing",
                         "source_kind": "model"} for r in frame.itertuples()]
        return out

    def _forecast(self, target: str, hotel: str, start: date, days: int) -> list[dict]:
        champion = self._champion(FORECASTS[target])
        if hotel not in champion.model.hotels:
            return []
        frame = champion.model.forecast(hotel, start, days)
        return [{"hotel": hotel, "date": str(r.date)[:10], "value": round(float(r.value), 4),
                 "lower": round(float(r.lower), 4), "upper": round(float(r.upper), 4)}
                for r in frame.itertuples()]

    # -- what the workflows receive -----------------------------------------------------
    def _append(self, table, row: dict) -> None:
        with self._write:
            self.lake.ensure(table.name, table.schema)
            self.lake.append(table.name, pl.DataFrame([row], schema=table.schema))

    def queue_action(self, action: str, arguments: dict, source: str = "execute/task",
                     requested_by: str | None = None, correlation_id: str | None = None) -> str:
        action_id = f"ACT-{uuid.uuid4().hex[:12].upper()}"
        self._append(QUEUED_ACTIONS, {
            "action_id": action_id, "queued_at": datetime.now(timezone.utc), "action": action,
            "arguments": json.dumps(arguments, default=str, ensure_ascii=False),
            "source": source, "requested_by": requested_by, "correlation_id": correlation_id,
            "status": "queued"})
        return action_id

    def record_request(self, message: str, routed: dict, *, guest_id: str | None,
                       hotel: str | None, channel: str | None, received_at: datetime | None,
                       requested_by: str | None, correlation_id: str | None) -> str:
        request_id = f"REQ-{uuid.uuid4().hex[:12].upper()}"
        r = routed["request"]
        self._append(GUEST_REQUESTS, {
            "request_id": request_id, "received_at": received_at or datetime.now(timezone.utc),
            "guest_id": guest_id, "hotel": hotel, "channel": channel, "message": message,
            "language": query_language(message), "category": routed["category"],
            "confidence": routed["confidence"], "priority": routed["priority"],
            "team": routed["team"], "request_type": r["type"], "room_number": r["room_number"],
            "items": r["items"], "quantity": r["quantity"], "urgency": r["urgency"],
            "needs_human": routed["needs_human"], "routed_by": routed.get("routed_by", "classifier"),
            "requested_by": requested_by, "correlation_id": correlation_id})
        return request_id
