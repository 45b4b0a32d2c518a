"""Requests and answers of /api/v1/ops/logs: service logs posted in batches into the lake
table ops/service_logs, and read back by service, level and time."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from serving.schemas.cv_schemas import Strict

LEVELS = ("debug", "info", "warning", "error", "critical", "fatal")
Level = Annotated[Literal["debug", "info", "warning", "error", "critical", "fatal"],
                  BeforeValidator(lambda v: {"warn": "warning"}.get(v.lower(), v.lower())
                                  if isinstance(v, str) else v)]
ServiceName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class ServiceLogIn(Strict):
    service: ServiceName
    level: Level = Field(description="debug, info, warning (warn), error, critical or fatal; any case.")
    message: str = Field(max_length=10_000)
    logged_at: AwareDatetime | None = Field(None, description="When it was logged, with its time "
                                                              "zone; absent: when it is received.")
    logger: str | None = Field(None, max_length=200)
    correlation_id: str | None = Field(None, max_length=128)
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100,
                                       description="Anything else, stored as JSON.")


class LogBatch(Strict):
    records: list[ServiceLogIn] = Field(min_length=1, max_length=5_000)


class LogBatchResponse(BaseModel):
    accepted: int
    log_ids: list[str]
    table: str = Field(description="The lake table the records were appended to.")


class ServiceLogOut(BaseModel):
    log_id: str
    service: str
    level: str
    message: str
    logged_at: AwareDatetime
    logger: str | None
    correlation_id: str | None
    attributes: dict[str, Any]
    received_at: AwareDatetime
    client: str | None = Field(description="Who posted it (the token's subject or the key's name).")


class LogQueryResponse(BaseModel):
    records: list[ServiceLogOut] = Field(description="Newest first.")
    count: int
    limit: int
