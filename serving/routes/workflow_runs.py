"""/api/v1/workflows: Dagster jobs run now or at a later time, their status, the list of
runs, cancellation; schedules and sensors listed and switched on and off. Everything goes
through Dagster's GraphQL API (``serving.services.dagster_runs``); Dagster not answering is
a 503 naming where it was looked for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import InvalidRequest, NotFound, Unavailable
from serving.deps import Dagster, WorkflowRunner
from serving.schemas.request_examples import examples_for
from serving.schemas.workflow_schemas import (NAME, CancelResponse, RunId, RunStatus, ScheduleInfo,
                                              ScheduleList, SensorInfo, SensorList, SwitchResponse,
                                              TriggerRequest, TriggerResponse, WorkflowRun,
                                              WorkflowRunList)
from serving.services.dagster_runs import (DAGSTER_UNAVAILABLE, DAGSTER_UNREACHABLE, INVALID_RUN,
                                           UNKNOWN_INSTIGATOR, UNKNOWN_JOB, UNKNOWN_RUN)

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])

EXAMPLE_URL = "http://127.0.0.1:3000"
NOT_RUNNING = documented(Unavailable, DAGSTER_UNREACHABLE, "Dagster not running", url=EXAMPLE_URL,
                         problem="[Errno 111] Connection refused")
EXAMPLE_RUN = "0f9a2c51-6d3e-4b8a-9e7f-2c41d5a8b7e3"
ScheduleName = Annotated[str, Path(pattern=NAME, description="A schedule of Dagster's code location.")]
SensorName = Annotated[str, Path(pattern=NAME, description="A sensor of Dagster's code location.")]


@router.post("/trigger", response_model=TriggerResponse, status_code=202,
             summary="Run a Dagster job now or later (permission workflows:run)",
             responses=error_responses(
                 "workflows:run", invalid(TriggerRequest, {}, "No job"),
                 documented(InvalidRequest, UNKNOWN_JOB, "Unknown job", job="nightly_retrain",
                            jobs="build_all, nightly_retraining, pms_sync, pricing_optimisation"),
                 documented(InvalidRequest, INVALID_RUN, "Run config the job refuses",
                            job="pms_sync", problem="Received unexpected config entry \"ops\""),
                 NOT_RUNNING,
                 documented(Unavailable, DAGSTER_UNAVAILABLE, "Dagster refused the run",
                            url=EXAMPLE_URL, job="pms_sync",
                            problem="Exception occured during execution of query")))
def trigger(body: Annotated[TriggerRequest, Body(openapi_examples=examples_for(TriggerRequest))],
            principal: WorkflowRunner, dagster: Dagster) -> TriggerResponse:
    """Submits a run of the job with its run config and tags (and `innsight/requested_by`,
    the caller) through Dagster's GraphQL API: the answer has its run id and its page in
    Dagster's UI. With `start_at` in the future the trigger is kept in the ops database
    (`workflow_triggers`) and Dagster's `deferred_runs_sensor` launches it once it is due:
    the answer is the trigger's id, `scheduled`; ask its status or cancel it by that id. A
    job the code location does not have is a 422 naming those it has."""
    return TriggerResponse(**dagster.trigger(body.job_name, body.run_config, body.tags,
                                             body.start_at, principal.subject))


@router.get("/status/{run_id}", response_model=WorkflowRun,
            summary="A run's or trigger's status (permission workflows:run)",
            responses=error_responses("workflows:run",
                                      documented(NotFound, UNKNOWN_RUN, "Unknown run", run_id=EXAMPLE_RUN),
                                      NOT_RUNNING))
def run_status(_: WorkflowRunner, dagster: Dagster, run_id: RunId) -> WorkflowRun:
    """Status (`queued`, `running`, `success`, `failure`, `canceling`, `canceled`, and
    Dagster's own), job, times, tags and the run's page in Dagster's UI. A trigger's id
    answers `scheduled` with its start time until the sensor launches it, then its run."""
    return WorkflowRun(**dagster.status(run_id))


@router.post("/cancel/{run_id}", response_model=CancelResponse,
             summary="Cancel a run or a trigger (permission workflows:run)",
             responses=error_responses("workflows:run",
                                       documented(NotFound, UNKNOWN_RUN, "Unknown run", run_id=EXAMPLE_RUN),
                                       NOT_RUNNING))
def cancel(principal: WorkflowRunner, dagster: Dagster, run_id: RunId) -> CancelResponse:
    """Terminates a queued or running run (Dagster's terminateRun), or cancels a trigger
    still waiting (a launched trigger: its run). A run already finished is left as it is:
    `canceled: false` says there was nothing to cancel."""
    return CancelResponse(**dagster.cancel(run_id, principal.subject))


@router.get("/list", response_model=WorkflowRunList,
            summary="Recent runs and waiting triggers (permission workflows:run)",
            responses=error_responses("workflows:run", NOT_RUNNING))
def list_runs(_: WorkflowRunner, dagster: Dagster,
              job_name: Annotated[str | None, Query(pattern=NAME, description="Only this job's.")] = None,
              status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> WorkflowRunList:
    """Triggers still waiting first (soonest first), then Dagster's runs, newest first
    (Dagster's `runsOrError`), filtered by job and status."""
    runs = [WorkflowRun(**r) for r in dagster.list_runs(job_name, status, limit)]
    return WorkflowRunList(runs=runs, count=len(runs), limit=limit)


@router.get("/schedules", response_model=ScheduleList,
            summary="Dagster's schedules (permission workflows:run)",
            responses=error_responses("workflows:run", NOT_RUNNING))
def schedules(_: WorkflowRunner, dagster: Dagster) -> ScheduleList:
    """Each schedule of the code location: on or off, its job, cron and time zone, its next
    tick."""
    return ScheduleList(schedules=[
        ScheduleInfo(name=s.name, status="on" if s.running else "off", job_name=s.jobs[0],
                     cron_schedule=s.cron_schedule or "", timezone=s.timezone,
                     next_tick=s.next_tick, description=s.description)
        for s in sorted(dagster.workspace().schedules.values(), key=lambda s: s.name)])


@router.get("/sensors", response_model=SensorList,
            summary="Dagster's sensors (permission workflows:run)",
            responses=error_responses("workflows:run", NOT_RUNNING))
def sensors(_: WorkflowRunner, dagster: Dagster) -> SensorList:
    """Each sensor of the code location: on or off, its jobs, its minimum interval, its next
    evaluation when it is on."""
    return SensorList(sensors=[
        SensorInfo(name=s.name, status="on" if s.running else "off", job_names=list(s.jobs),
                   min_interval_seconds=s.min_interval_seconds or 0, next_tick=s.next_tick,
                   description=s.description)
        for s in sorted(dagster.workspace().sensors.values(), key=lambda s: s.name)])


def _switch(dagster, kind: str, name: str, on: bool) -> SwitchResponse:
    before, running = dagster.switch(kind, name, on)
    return SwitchResponse(name=name, kind=kind, previous_status="on" if before.running else "off",
                          status="on" if running else "off")


def _unknown(kind: str, name: str, names: str):
    return documented(NotFound, UNKNOWN_INSTIGATOR, f"Unknown {kind}", kind=kind, name=name, names=names)


SCHEDULE_ERRORS = error_responses("workflows:run", _unknown(
    "schedule", "hourly_sync", "hourly_pms_sync, monthly_lake_maintenance, nightly_retraining"),
    NOT_RUNNING)
SENSOR_ERRORS = error_responses("workflows:run", _unknown(
    "sensor", "landing", "deferred_runs_sensor, knowledge_sensor, landing_sensor"), NOT_RUNNING)


@router.post("/schedules/{schedule_name}/start", response_model=SwitchResponse,
             summary="Switch a schedule on (permission workflows:run)", responses=SCHEDULE_ERRORS)
def start_schedule(_: WorkflowRunner, dagster: Dagster, schedule_name: ScheduleName) -> SwitchResponse:
    """Starts the schedule (Dagster's startSchedule); one already on stays on."""
    return _switch(dagster, "schedule", schedule_name, True)


@router.post("/schedules/{schedule_name}/stop", response_model=SwitchResponse,
             summary="Switch a schedule off (permission workflows:run)", responses=SCHEDULE_ERRORS)
def stop_schedule(_: WorkflowRunner, dagster: Dagster, schedule_name: ScheduleName) -> SwitchResponse:
    """Stops the schedule (Dagster's stopRunningSchedule); one already off stays off."""
    return _switch(dagster, "schedule", schedule_name, False)


@router.post("/sensors/{sensor_name}/start", response_model=SwitchResponse,
             summary="Switch a sensor on (permission workflows:run)", responses=SENSOR_ERRORS)
def start_sensor(_: WorkflowRunner, dagster: Dagster, sensor_name: SensorName) -> SwitchResponse:
    """Starts the sensor (Dagster's startSensor); one already on stays on."""
    return _switch(dagster, "sensor", sensor_name, True)


@router.post("/sensors/{sensor_name}/stop", response_model=SwitchResponse,
             summary="Switch a sensor off (permission workflows:run)", responses=SENSOR_ERRORS)
def stop_sensor(_: WorkflowRunner, dagster: Dagster, sensor_name: SensorName) -> SwitchResponse:
    """Stops the sensor (Dagster's stopSensor); one already off stays off."""
    return _switch(dagster, "sensor", sensor_name, False)
