"""Requests and answers of /api/v1/workflows: runs of Dagster jobs (now or later), their
status, the list of runs, cancellation, schedules and sensors (the seeds' orchestration
endpoints, on Dagster instead of Prefect)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, Field

from serving.schemas.cv_schemas import Strict

RunStatus = Literal["scheduled", "queued", "running", "success", "failure", "canceling", "canceled"]
NAME = r"^[A-Za-z0-9_.\-]{1,200}$"
# a Dagster run id (a uuid) or a trigger's id (trigger-<hex>)
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-]{1,64}$",
                            description="A Dagster run id, or the id of a trigger for later.")]
JobName = Annotated[str, Field(pattern=NAME, description="A job of Dagster's code location.")]


class TriggerRequest(Strict):
    job_name: JobName
    run_config: dict[str, Any] = Field(default_factory=dict, description=(
        "Dagster run config (ops, resources), as in the launchpad; empty: the job's defaults."))
    tags: dict[Annotated[str, Field(min_length=1, max_length=200)],
               Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=dict, max_length=50, description="Tags put on the run (shown in Dagster's UI).")
    start_at: AwareDatetime | None = Field(None, description=(
        "When to start it, with its time zone; absent or past: now. In the future: the trigger "
        "is kept and Dagster's `deferred_runs_sensor` launches it when it is due."))


class TriggerResponse(BaseModel):
    run_id: str = Field(description="Dagster's run id, or the trigger's id (`trigger-...`) for later.")
    job_name: str
    status: RunStatus
    run_url: str | None = Field(description="The run in Dagster's UI (none until a trigger launches).")
    start_at: AwareDatetime | None = Field(description="When a trigger for later starts the run.")
    tags: dict[str, str]
    created_at: AwareDatetime


class WorkflowRun(BaseModel):
    run_id: str
    job_name: str
    status: RunStatus
    dagster_status: str | None = Field(description="Dagster's own status (QUEUED, STARTED, SUCCESS...).")
    start_at: AwareDatetime | None = Field(None, description="A trigger's start time.")
    created_at: AwareDatetime | None
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    duration_seconds: float | None
    tags: dict[str, str]
    run_url: str | None
    trigger_id: str | None = Field(None, description="The trigger for later that launched it.")
    note: str | None = Field(None, description="Why a trigger failed, or what it waits for.")


class WorkflowRunList(BaseModel):
    runs: list[WorkflowRun] = Field(description="Triggers still waiting first, then runs, newest first.")
    count: int
    limit: int


class CancelResponse(BaseModel):
    run_id: str
    previous_status: RunStatus
    status: RunStatus
    canceled: bool = Field(description="False when there was nothing to cancel (a finished run).")
    message: str


class ScheduleInfo(BaseModel):
    name: str
    status: Literal["on", "off"]
    job_name: str
    cron_schedule: str
    timezone: str | None
    next_tick: AwareDatetime | None = Field(description="The next time it fires.")
    description: str | None


class SensorInfo(BaseModel):
    name: str
    status: Literal["on", "off"]
    job_names: list[str]
    min_interval_seconds: int
    next_tick: AwareDatetime | None = Field(description="The next evaluation, when it is on.")
    description: str | None


class ScheduleList(BaseModel):
    schedules: list[ScheduleInfo]


class SensorList(BaseModel):
    sensors: list[SensorInfo]


class SwitchResponse(BaseModel):
    name: str
    kind: Literal["schedule", "sensor"]
    previous_status: Literal["on", "off"]
    status: Literal["on", "off"]
