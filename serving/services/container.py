"""Everything the API's routes use, built once per app by ``serving.app.create_app`` and
handed to the routes by ``serving.deps``."""

from __future__ import annotations

from dataclasses import dataclass

from base.settings import Settings
from lake.contact_vault import ContactVault
from lake.properties import PropertyMaster
from operations.outbox import Outbox
from operations.tasks import TaskBoard
from reports.report_store import ReportStore
from reports.subscriptions import Subscriptions
from serving.core.auth import Authenticator
from serving.core.observability import Metrics
from serving.core.rate_limits import RateLimiter
from serving.services.champions import ChampionRegistry
from serving.services.dagster_runs import DagsterRuns
from serving.services.event_inbox import EventInbox
from serving.services.language_models import Language
from serving.services.marts_file import MartsFile
from serving.services.online_features import OnlineFeatures
from serving.services.predictions import PredictionLog
from serving.services.price_book import PriceBook
from serving.services.service_logs import ServiceLogs
from serving.services.vision_models import Vision


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    authenticator: Authenticator
    limiter: RateLimiter
    properties: PropertyMaster
    champions: ChampionRegistry
    features: OnlineFeatures
    predictions: PredictionLog
    price_book: PriceBook
    events: EventInbox
    dagster: DagsterRuns
    marts: MartsFile
    vision: Vision
    language: Language
    service_logs: ServiceLogs
    outbox: Outbox  # the ops database's messages (operations.outbox)
    vault: ContactVault  # guests' contact details, encrypted
    tasks: TaskBoard  # the lake's ops/tasks
    reports: ReportStore  # the rendered reports, in the lake's storage
    subscriptions: Subscriptions  # who receives them (the ops database)
