"""POST /api/v1/llm/monitoring/analyze and GET .../status: error spikes per service against
its own baseline; an issue found is queued as an alert for the workflows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import AwareDatetime

from base.logging import correlation_id
from language.log_monitoring import LogRecord
from serving.core.error_docs import error_responses, invalid
from serving.deps import LanguageDep, LlmUser, ServiceLogsDep
from serving.schemas.llm_schemas import AnalyzeRequest, AnalyzeResponse, LogIssue, MonitoringStatus
from serving.schemas.request_examples import examples_for

router = APIRouter(tags=["llm: monitoring"])

ALERT_CHANNELS = {"critical": ["slack", "email", "sms"], "high": ["slack", "email"],
                  "medium": ["slack"], "low": []}


@router.post("/monitoring/analyze", response_model=AnalyzeResponse,
             responses=error_responses("llm:query", invalid(AnalyzeRequest, {}, "No logs")),
             summary="Find error spikes in service logs (permission llm:query)")
def analyze(principal: LlmUser, language: LanguageDep, stored: ServiceLogsDep,
            body: Annotated[AnalyzeRequest | None,
                            Body(openapi_examples=examples_for(AnalyzeRequest))] = None,
            service: Annotated[str | None, Query(
                min_length=1, max_length=64,
                description="Without logs in the body: only this service's stored logs.")] = None,
            since: Annotated[AwareDatetime | None, Query(
                description="Without logs in the body: stored logs from (default: the monitor's "
                            "history, 24 hours, before `until`).")] = None,
            until: Annotated[AwareDatetime | None, Query(
                description="Without logs in the body: stored logs before, and the time the "
                            "window ends (default: now).")] = None) -> AnalyzeResponse:
    """Per service, the error rate of the last window (5 minutes before the latest log)
    against the service's own baseline (its earlier logs, here and in earlier calls): a
    spike, or a burst of a service that had no errors, becomes an issue with a severity, a
    description with the numbers and a recommended action. Issues of medium severity or
    more are queued as alerts for the workflows (lake table language/queued_actions).

    Sent no body, it reads the logs posted to `/api/v1/ops/logs` (lake table
    `ops/service_logs`) between `since` and `until`, of one `service` or all, and judges
    the window that ends at `until`."""
    if body is not None:
        records = [LogRecord(line.service, line.level, line.message, line.timestamp) for line in body.logs]
        issues = language.monitor.analyze(records)
    else:
        until = until or datetime.now(timezone.utc)
        since = since or until - timedelta(minutes=language.monitor.history_minutes)
        issues = language.monitor.analyze(stored.for_monitoring(service, since, until), now=until)
    channels = sorted({c for i in issues for c in ALERT_CHANNELS[i.severity]})
    alert_ids = [language.queue_action("send_alert", {
        "service": i.service, "severity": i.severity, "description": i.description,
        "recommended_action": i.recommended_action, "channels": ALERT_CHANNELS[i.severity]},
        "monitoring/analyze", principal.subject, correlation_id.get())
        for i in issues if ALERT_CHANNELS[i.severity]]
    return AnalyzeResponse(
        anomalies_detected=bool(issues),
        issues=[LogIssue(**{k: getattr(i, k) for k in LogIssue.model_fields}) for i in issues],
        alert_sent=bool(alert_ids), alert_channels=channels, alert_ids=alert_ids)


@router.get("/monitoring/status", response_model=MonitoringStatus, summary="What the log monitor knows per service "
                                          "(permission llm:query)",
            responses=error_responses("llm:query"))
def monitoring_status(_: LlmUser, language: LanguageDep) -> MonitoringStatus:
    """Per service: its baseline error rate, the last window's rate and its open issues, as
    of the last analysis; overall ok or degraded."""
    return MonitoringStatus(**language.monitor.status())
