"""Dagster through its webserver's GraphQL API: runs submitted (the retrain route, the
workflow routes), their status, the list of runs, termination, schedules and sensors on and
off; and the triggers kept for later (``operations.deferred_runs``), launched by Dagster's
``deferred_runs_sensor``.

Runs are submitted with ``dagster_graphql.DagsterGraphQLClient``; what it has no method for
(the workspace's jobs, schedules and sensors, the run list, the switches) is posted as
GraphQL to ``{url}/graphql``. Dagster not answering is a 503 naming its URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from operations.deferred_runs import (TRIGGER_TAG, DeferredRun, DeferredRuns, NotScheduled,
                                      is_trigger_id)
from serving.core.errors import InvalidRequest, Message, NotFound, Unavailable

DAGSTER_UNAVAILABLE = Message("Dagster at {url} did not accept the {job} run: {problem}. "
                              "Is the Dagster UI running (`make serve`)?")
DAGSTER_UNREACHABLE = Message("Dagster at {url} did not answer: {problem}. "
                              "Is the Dagster UI running (`make serve`)?")
UNKNOWN_JOB = Message("no job {job} in Dagster's code locations; the jobs: {jobs}")
INVALID_RUN = Message("Dagster refused the {job} run: {problem}")
UNKNOWN_RUN = Message("no workflow run or trigger {run_id}")
UNKNOWN_INSTIGATOR = Message("no {kind} {name} in Dagster's code locations; the {kind}s: {names}")
NOT_CANCELABLE = "run {run_id} is {status}: there was nothing to cancel"

TIMEOUT_S = 30  # a query
SUBMIT_TIMEOUT_S = 60  # a submission: without a run queue, Dagster launches the run before it answers

# Dagster's run statuses -> the API's
STATUSES = {"QUEUED": "queued", "NOT_STARTED": "queued", "STARTING": "running",
            "STARTED": "running", "MANAGED": "running", "SUSPENDED": "running",
            "SUCCESS": "success", "FAILURE": "failure", "CANCELING": "canceling",
            "CANCELED": "canceled"}
RUN_STATUSES = ("scheduled", "queued", "running", "success", "failure", "canceling", "canceled")
FINISHED = {"success", "failure", "canceled"}


_RUN_FIELDS = "runId jobName status creationTime startTime endTime tags { key value } canTerminate"

WORKSPACE = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace { locationEntries { name locationOrLoadError {
      __typename
      ... on RepositoryLocation { name repositories {
        name
        jobs { name description }
        schedules { name cronSchedule executionTimezone pipelineName description
                    scheduleState { id status } futureTicks(limit: 1) { results { timestamp } } }
        sensors { name minIntervalSeconds description sensorType
                  targets { pipelineName } sensorState { id status } nextTick { timestamp } }
      } }
      ... on PythonError { message }
    } } }
    ... on PythonError { message }
  }
}"""

RUNS = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { %s } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}""" % _RUN_FIELDS

RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { %s }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}""" % _RUN_FIELDS

TERMINATE = """
mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { status } }
    ... on TerminateRunFailure { message run { status } }
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""

START_SCHEDULE = """
mutation Start($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on ScheduleNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""

STOP_SCHEDULE = """
mutation Stop($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on ScheduleNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""

START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on SensorNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""

STOP_SENSOR = """
mutation Stop($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}"""


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc)


@dataclass(frozen=True)
class Instigator:
    """A schedule or sensor of a code location."""

    kind: str  # "schedule" | "sensor"
    name: str
    location: str
    repository: str
    state_id: str
    running: bool
    jobs: tuple[str, ...]
    cron_schedule: str | None
    timezone: str | None
    min_interval_seconds: int | None
    next_tick: datetime | None
    description: str | None


@dataclass(frozen=True)
class Workspace:
    jobs: dict[str, str | None]  # name -> description (asset jobs' hidden names left out)
    schedules: dict[str, Instigator]
    sensors: dict[str, Instigator]


class DagsterRuns:
    def __init__(self, host: str, port: int, deferred: DeferredRuns | None = None):
        self.host, self.port = host, port
        self.deferred = deferred

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run_url(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}"

    # -- transport --------------------------------------------------------------------------

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer; 503 naming Dagster's URL when it does not answer."""
        try:
            r = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                           timeout=TIMEOUT_S)
            r.raise_for_status()
            answer = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise Unavailable(DAGSTER_UNREACHABLE.format(url=self.url, problem=str(e) or type(e).__name__)) from None
        if answer.get("errors"):
            problem = "; ".join(str(e.get("message", e)) for e in answer["errors"])
            raise Unavailable(DAGSTER_UNREACHABLE.format(url=self.url, problem=problem))
        return answer["data"]

    @staticmethod
    def _result(value: dict[str, Any], ok: str, what: str, url: str) -> dict[str, Any]:
        if value["__typename"] != ok:
            raise Unavailable(DAGSTER_UNREACHABLE.format(
                url=url, problem=f"{what}: {value['__typename']}: {value.get('message', '')}"))
        return value

    # -- the workspace ----------------------------------------------------------------------

    def workspace(self) -> Workspace:
        data = self.graphql(WORKSPACE)["workspaceOrError"]
        self._result(data, "Workspace", "workspace", self.url)
        jobs: dict[str, str | None] = {}
        schedules: dict[str, Instigator] = {}
        sensors: dict[str, Instigator] = {}
        for entry in data["locationEntries"]:
            location = entry.get("locationOrLoadError") or {}
            if location.get("__typename") != "RepositoryLocation":
                continue  # a location that failed to load: its jobs are not there
            for repo in location["repositories"]:
                for job in repo["jobs"]:
                    if not job["name"].startswith("__"):  # __ASSET_JOB and the like
                        jobs[job["name"]] = job.get("description")
                for s in repo["schedules"]:
                    ticks = (s.get("futureTicks") or {}).get("results") or []
                    schedules[s["name"]] = Instigator(
                        "schedule", s["name"], location["name"], repo["name"],
                        s["scheduleState"]["id"], s["scheduleState"]["status"] == "RUNNING",
                        (s["pipelineName"],), s["cronSchedule"], s.get("executionTimezone"), None,
                        _time(ticks[0]["timestamp"]) if ticks else None, s.get("description"))
                for s in repo["sensors"]:
                    running = s["sensorState"]["status"] == "RUNNING"
                    tick = (s.get("nextTick") or {}).get("timestamp") if running else None
                    sensors[s["name"]] = Instigator(
                        "sensor", s["name"], location["name"], repo["name"],
                        s["sensorState"]["id"], running,
                        tuple(t["pipelineName"] for t in s.get("targets") or []), None, None,
                        s["minIntervalSeconds"], _time(tick), s.get("description"))
        return Workspace(jobs, schedules, sensors)

    def check_job(self, job: str) -> None:
        """422 naming the jobs there are when ``job`` is none of them (503 without Dagster)."""
        jobs = self.workspace().jobs
        if job not in jobs:
            raise InvalidRequest(UNKNOWN_JOB.format(job=job, jobs=", ".join(sorted(jobs)) or "none"))

    # -- runs -------------------------------------------------------------------------------

    def submit(self, job: str, tags: dict[str, str] | None = None,
               run_config: dict[str, Any] | None = None) -> str:
        """Start a run of `job`; its run id. 503 naming the job and where Dagster was looked
        for when it does not accept the run."""
        from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

        client = DagsterGraphQLClient(self.host, port_number=self.port, timeout=SUBMIT_TIMEOUT_S)
        try:
            return client.submit_job_execution(job, run_config=run_config or {}, tags=tags or {})
        except DagsterGraphQLClientError as e:
            # Dagster answered and refused the run: a config that does not fit the job
            kind = e.args[0] if e.args else ""
            if kind in ("RunConfigValidationInvalid", "InvalidStepError", "InvalidOutputError",
                        "JobNotFoundError"):
                problem = "; ".join(map(str, e.args[1:])) or str(e.body or kind)
                raise InvalidRequest(INVALID_RUN.format(job=job, problem=problem[:1000])) from None
            raise Unavailable(DAGSTER_UNAVAILABLE.format(url=self.url, job=job, problem=e)) from None
        except Exception as e:  # transport errors: Dagster is not there
            raise Unavailable(DAGSTER_UNAVAILABLE.format(url=self.url, job=job, problem=e)) from None

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The run as Dagster has it (``_RUN_FIELDS``), or None."""
        data = self.graphql(RUN, {"runId": run_id})["runOrError"]
        if data["__typename"] == "RunNotFoundError":
            return None
        return self._result(data, "Run", "run", self.url)

    def runs(self, job: str | None = None, statuses: list[str] | None = None,
             tags: dict[str, str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, filtered by job, Dagster statuses and tags."""
        filter_: dict[str, Any] = {}
        if job:
            filter_["pipelineName"] = job
        if statuses:
            filter_["statuses"] = statuses
        if tags:
            filter_["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        data = self.graphql(RUNS, {"filter": filter_, "limit": limit})["runsOrError"]
        return self._result(data, "Runs", "runs", self.url)["results"]

    def terminate(self, run_id: str) -> tuple[bool, str, str | None]:
        """Ask Dagster to terminate the run: (terminated, its Dagster status now, why not)."""
        data = self.graphql(TERMINATE, {"runId": run_id})["terminateRun"]
        if data["__typename"] == "RunNotFoundError":
            raise NotFound(UNKNOWN_RUN.format(run_id=run_id))
        if data["__typename"] == "TerminateRunFailure":
            return False, data["run"]["status"], data["message"]
        return True, self._result(data, "TerminateRunSuccess", "terminate", self.url)["run"]["status"], None

    def run_of_trigger(self, trigger: DeferredRun) -> dict[str, Any] | None:
        """The run a launched trigger started (tagged with its id), if Dagster has it yet."""
        found = self.runs(tags={TRIGGER_TAG: trigger.trigger_id}, limit=1)
        return found[0] if found else None

    # -- schedules and sensors ----------------------------------------------------------------

    def instigator(self, kind: str, name: str) -> Instigator:
        space = self.workspace()
        known = space.schedules if kind == "schedule" else space.sensors
        if name not in known:
            raise NotFound(UNKNOWN_INSTIGATOR.format(kind=kind, name=name,
                                                     names=", ".join(sorted(known)) or "none"))
        return known[name]

    def switch(self, kind: str, name: str, on: bool) -> tuple[Instigator, bool]:
        """Start or stop a schedule or sensor: (it before, whether it runs now)."""
        it = self.instigator(kind, name)
        if it.running == on:
            return it, on
        if kind == "schedule":
            selector = {"repositoryLocationName": it.location, "repositoryName": it.repository,
                        "scheduleName": name}
            if on:
                data = self.graphql(START_SCHEDULE, {"selector": selector})["startSchedule"]
            else:
                data = self.graphql(STOP_SCHEDULE, {"id": it.state_id})["stopRunningSchedule"]
            state = self._result(data, "ScheduleStateResult", f"{kind} {name}", self.url)["scheduleState"]
        else:
            if on:
                data = self.graphql(START_SENSOR, {"selector": {
                    "repositoryLocationName": it.location, "repositoryName": it.repository,
                    "sensorName": name}})["startSensor"]
                state = self._result(data, "Sensor", f"{kind} {name}", self.url)["sensorState"]
            else:
                data = self.graphql(STOP_SENSOR, {"id": it.state_id})["stopSensor"]
                state = self._result(data, "StopSensorMutationResult", f"{kind} {name}",
                                     self.url)["instigationState"]
        return it, state["status"] == "RUNNING"


    # -- the workflow routes: runs and triggers as the API shows them ---------------------------

    def _as_run(self, run: dict[str, Any]) -> dict[str, Any]:
        tags = {t["key"]: t["value"] for t in run.get("tags") or []}
        started, ended = _time(run.get("startTime")), _time(run.get("endTime"))
        return {"run_id": run["runId"], "job_name": run["jobName"],
                "status": STATUSES.get(run["status"], run["status"].lower()),
                "dagster_status": run["status"], "start_at": None,
                "created_at": _time(run.get("creationTime")), "started_at": started,
                "ended_at": ended,
                "duration_seconds": round((ended - started).total_seconds(), 3)
                if started and ended else None,
                "tags": tags, "run_url": self.run_url(run["runId"]),
                "trigger_id": tags.get(TRIGGER_TAG), "note": None}

    @staticmethod
    def _as_trigger(t: DeferredRun) -> dict[str, Any]:
        status = {"scheduled": "scheduled", "canceled": "canceled", "failed": "failure",
                  "launched": "queued"}[t.status]
        return {"run_id": t.trigger_id, "job_name": t.job_name, "status": status,
                "dagster_status": None, "start_at": t.start_at, "created_at": t.created_at,
                "started_at": None, "ended_at": None, "duration_seconds": None,
                "tags": t.tags, "run_url": None, "trigger_id": t.trigger_id,
                "note": t.note or ("launched by deferred_runs_sensor; its run is not in Dagster yet"
                                   if t.status == "launched" else None)}

    def _trigger(self, trigger_id: str) -> DeferredRun:
        found = self.deferred.get(trigger_id) if self.deferred else None
        if found is None:
            raise NotFound(UNKNOWN_RUN.format(run_id=trigger_id))
        return found

    def trigger(self, job: str, run_config: dict[str, Any], tags: dict[str, str],
                start_at: datetime | None, requested_by: str) -> dict[str, Any]:
        """A run now (start_at absent or past), or a trigger kept for later."""
        self.check_job(job)
        now = datetime.now(timezone.utc)
        tags = {**tags, "innsight/requested_by": requested_by}
        if start_at is not None and start_at > now and self.deferred is not None:
            t = self.deferred.schedule(job, start_at, run_config, tags, requested_by)
            return {"run_id": t.trigger_id, "job_name": job, "status": "scheduled", "run_url": None,
                    "start_at": t.start_at, "tags": t.tags, "created_at": t.created_at}
        run_id = self.submit(job, tags=tags, run_config=run_config)
        run = self.run(run_id)
        return {"run_id": run_id, "job_name": job,
                "status": STATUSES.get(run["status"], "queued") if run else "queued",
                "run_url": self.run_url(run_id), "start_at": None, "tags": tags, "created_at": now}

    def status(self, run_id: str) -> dict[str, Any]:
        if is_trigger_id(run_id):
            t = self._trigger(run_id)
            if t.status == "launched" and (run := self.run_of_trigger(t)):
                return {**self._as_run(run), "start_at": t.start_at}
            return self._as_trigger(t)
        run = self.run(run_id)
        if run is None:
            raise NotFound(UNKNOWN_RUN.format(run_id=run_id))
        return self._as_run(run)

    def cancel(self, run_id: str, by: str) -> dict[str, Any]:
        """Cancel a trigger still waiting, or terminate a run (a launched trigger: its run)."""
        asked = run_id
        if is_trigger_id(run_id):
            t = self._trigger(run_id)
            if t.status == "scheduled":
                try:
                    self.deferred.cancel(run_id, by)
                    return {"run_id": run_id, "previous_status": "scheduled", "status": "canceled",
                            "canceled": True,
                            "message": f"trigger {run_id} canceled: {t.job_name} will not run"}
                except NotScheduled:  # the sensor launched it meanwhile
                    t = self._trigger(run_id)
            run = self.run_of_trigger(t) if t.status == "launched" else None
            if run is None:
                status = self._as_trigger(t)["status"]
                return {"run_id": run_id, "previous_status": status, "status": status,
                        "canceled": False, "message": NOT_CANCELABLE.format(run_id=run_id, status=t.status)}
            run_id = run["runId"]
        run = self.run(run_id)
        if run is None:
            raise NotFound(UNKNOWN_RUN.format(run_id=run_id))
        previous = STATUSES.get(run["status"], run["status"].lower())
        if previous in FINISHED or previous == "canceling":
            return {"run_id": run_id, "previous_status": previous, "status": previous,
                    "canceled": False, "message": NOT_CANCELABLE.format(run_id=asked, status=previous)}
        done, now, why = self.terminate(run_id)
        status = STATUSES.get(now, now.lower())
        message = (f"run {run_id} of {run['jobName']} {'canceled' if status == 'canceled' else 'is being canceled'}"
                   f" at the request of {by}" if done else f"Dagster could not cancel run {run_id}: {why}")
        return {"run_id": run_id, "previous_status": previous, "status": status, "canceled": done,
                "message": message}

    def list_runs(self, job: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Triggers still waiting (soonest first), then Dagster's runs (newest first)."""
        found: list[dict[str, Any]] = []
        if status in (None, "scheduled") and self.deferred is not None:
            found += [self._as_trigger(t) for t in self.deferred.waiting(job, limit)]
        if status != "scheduled" and len(found) < limit:
            statuses = [k for k, v in STATUSES.items() if v == status] if status else None
            found += [self._as_run(r) for r in self.runs(job, statuses, limit=limit - len(found))]
        return found
