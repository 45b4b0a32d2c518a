"""/api/v1/workflows against a real Dagster webserver (a tiny code location of its own, with
the names of the platform's that the API's examples use: jobs pms_sync and
nightly_retraining, a schedule, a sensor and the deferred runs sensor): trigger -> status ->
list -> cancel, schedules and sensors on and off, a trigger for later launched once by
``deferred_runs_sensor``, the OpenAPI page's examples of these routes, and the 503 naming
Dagster's URL when it is not there."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from base.settings import REPO_ROOT, Settings
from tests.conftest import free_port
from tests.serving.conftest import bearer

pytestmark = pytest.mark.xdist_group("dagster_webserver")

WF = "/api/v1/workflows"
LOCATION = textwrap.dedent('''
    import os
    import time

    import dagster as dg

    from operations.deferred_runs import DeferredRuns
    from orchestration.workflow_api.sensors import build_deferred_runs_sensor


    class WaitConfig(dg.Config):
        seconds: float = 0.0


    @dg.op
    def wait(config: WaitConfig):
        time.sleep(config.seconds)


    @dg.job
    def pms_sync():
        wait()


    @dg.job
    def nightly_retraining():
        wait()


    hourly_pms_sync = dg.ScheduleDefinition(name="hourly_pms_sync", job=pms_sync,
                                           cron_schedule="0 3 * * *",
                                           execution_timezone="Asia/Ho_Chi_Minh")


    @dg.sensor(job=pms_sync, minimum_interval_seconds=45)
    def landing_sensor(context):
        return dg.SkipReason("nothing to do")


    defs = dg.Definitions(
        jobs=[pms_sync, nightly_retraining], schedules=[hourly_pms_sync],
        sensors=[landing_sensor, build_deferred_runs_sensor([pms_sync, nightly_retraining])],
        resources={"deferred_runs": DeferredRuns.from_url(os.environ.get("TEST_OPS_DATABASE_URL", "sqlite://"))})
''')


@pytest.fixture(scope="module")
def wf_settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("workflows") / "home", dagster_port=free_port(),
                    champion_poll_seconds=3600, predictions_flush_seconds=3600)


@pytest.fixture(scope="module")
def location(wf_settings) -> Path:
    path = wf_settings.home.parent / "tiny_location.py"
    path.write_text(LOCATION)
    return path


@pytest.fixture(scope="module")
def dagster(wf_settings, location):
    """dagster-webserver on the tiny code location (no daemon: the default run coordinator
    launches a submitted run at once)."""
    dagster_home = wf_settings.home.parent / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(textwrap.dedent("""
        telemetry:
          enabled: false
        run_coordinator:
          module: dagster._core.run_coordinator
          class: DefaultRunCoordinator
    """))
    log = wf_settings.home.parent / "webserver.log"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "OMP_WAIT_POLICY": "passive",
           "PYTHONPATH": str(REPO_ROOT), "TEST_OPS_DATABASE_URL": wf_settings.ops_database_url}
    port = wf_settings.dagster_port
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-f", str(location),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=open(log, "w"))
    try:
        import serving.app  # noqa: F401  (the API's imports, while the webserver starts)

        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "dagster-webserver did not answer in 120 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


@pytest.fixture(scope="module")
def api(wf_settings, dagster):
    from serving.app import create_app

    return TestClient(create_app(wf_settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def operator(wf_settings):
    return bearer(wf_settings, "operations")


def wait_for(api, headers, run_id: str, statuses: set[str], seconds: float = 90) -> dict:
    """The run's status once it is one of ``statuses`` (the API's, or Dagster's in capitals)."""
    deadline = time.monotonic() + seconds
    while True:
        r = api.get(f"{WF}/status/{run_id}", headers=headers)
        assert r.status_code == 200, r.text
        if {r.json()["status"], r.json()["dagster_status"]} & statuses:
            return r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.5)


def test_trigger_status_list_and_cancel(api, wf_settings, operator):
    # a run that waits a minute, its start in the past: it runs now
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    r = api.post(f"{WF}/trigger", headers=operator, json={
        "job_name": "pms_sync", "start_at": past, "tags": {"reason": "test"},
        "run_config": {"ops": {"wait": {"config": {"seconds": 60}}}}})
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["job_name"] == "pms_sync" and run["status"] in ("queued", "running")
    assert run["run_url"] == f"{wf_settings.dagster_url}/runs/{run['run_id']}"
    assert run["tags"] == {"reason": "test", "innsight/requested_by": "tester"} and run["start_at"] is None
    running = wait_for(api, operator, run["run_id"], {"STARTED"})
    assert running["status"] == "running" and running["started_at"] and not running["ended_at"]
    assert running["tags"]["reason"] == "test" and running["run_url"] == run["run_url"]

    # the list, filtered by job and status
    runs = api.get(f"{WF}/list", headers=operator).json()
    assert run["run_id"] in {x["run_id"] for x in runs["runs"]}
    assert runs["count"] == len(runs["runs"]) and runs["limit"] == 50
    listed = api.get(f"{WF}/list", params={"status": "running", "job_name": "pms_sync"},
                     headers=operator).json()["runs"]
    assert [x["run_id"] for x in listed] == [run["run_id"]]
    assert api.get(f"{WF}/list", params={"status": "success"}, headers=operator).json()["runs"] == []
    assert api.get(f"{WF}/list", params={"job_name": "other_job"}, headers=operator).json()["runs"] == []

    # cancel it: terminated; canceled, there is nothing more to cancel
    r = api.post(f"{WF}/cancel/{run['run_id']}", headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["canceled"] and r.json()["previous_status"] == "running"
    done = wait_for(api, operator, run["run_id"], {"canceled"})
    assert done["dagster_status"] == "CANCELED" and done["ended_at"] and done["duration_seconds"] >= 0
    r = api.post(f"{WF}/cancel/{run['run_id']}", headers=operator)
    assert r.status_code == 200 and not r.json()["canceled"] and r.json()["status"] == "canceled", r.text
    listed = api.get(f"{WF}/list", params={"status": "canceled"}, headers=operator).json()["runs"]
    assert [x["run_id"] for x in listed] == [run["run_id"]]

    # unknown job, config the job refuses, unknown run
    r = api.post(f"{WF}/trigger", headers=operator, json={"job_name": "nightly_retrain"})
    assert r.status_code == 422 and "pms_sync" in r.json()["message"], r.text
    r = api.post(f"{WF}/trigger", headers=operator,
                 json={"job_name": "pms_sync", "run_config": {"ops": {"nope": {}}}})
    assert r.status_code == 422 and "refused the pms_sync run" in r.json()["message"], r.text
    unknown = "0f9a2c51-6d3e-4b8a-9e7f-2c41d5a8b7e3"
    for method, path in (("GET", f"{WF}/status/{unknown}"), ("POST", f"{WF}/cancel/{unknown}")):
        r = api.request(method, path, headers=operator)
        assert r.status_code == 404 and unknown in r.json()["message"], r.text


def test_schedules_and_sensors_on_and_off(api, operator):
    schedules = api.get(f"{WF}/schedules", headers=operator).json()["schedules"]
    (quick,) = schedules
    assert quick["name"] == "hourly_pms_sync" and quick["status"] == "off"
    assert quick["cron_schedule"] == "0 3 * * *" and quick["timezone"] == "Asia/Ho_Chi_Minh"
    assert quick["job_name"] == "pms_sync" and quick["next_tick"]
    sensors = {s["name"]: s for s in api.get(f"{WF}/sensors", headers=operator).json()["sensors"]}
    assert set(sensors) == {"landing_sensor", "deferred_runs_sensor"}
    assert sensors["landing_sensor"]["status"] == "off" and sensors["landing_sensor"]["min_interval_seconds"] == 45
    assert sensors["deferred_runs_sensor"]["status"] == "on"  # running by default
    assert sorted(sensors["deferred_runs_sensor"]["job_names"]) == ["nightly_retraining", "pms_sync"]

    for kind, name in (("schedules", "hourly_pms_sync"), ("sensors", "landing_sensor")):
        r = api.post(f"{WF}/{kind}/{name}/start", headers=operator)
        assert r.status_code == 200, r.text
        assert r.json() == {"name": name, "kind": kind[:-1], "previous_status": "off", "status": "on"}
        listed = {x["name"]: x for x in api.get(f"{WF}/{kind}", headers=operator).json()[kind]}
        assert listed[name]["status"] == "on"
        again = api.post(f"{WF}/{kind}/{name}/start", headers=operator).json()
        assert again["previous_status"] == again["status"] == "on"
        r = api.post(f"{WF}/{kind}/{name}/stop", headers=operator)
        assert r.status_code == 200 and r.json()["status"] == "off", r.text
        listed = {x["name"]: x for x in api.get(f"{WF}/{kind}", headers=operator).json()[kind]}
        assert listed[name]["status"] == "off"
        r = api.post(f"{WF}/{kind}/no_such_{kind}/start", headers=operator)
        assert r.status_code == 404 and name in r.json()["message"], r.text


def test_a_trigger_for_later_is_launched_once_by_the_sensor(api, wf_settings, operator, location):
    import dagster as dg

    from operations.deferred_runs import TRIGGER_TAG, DeferredRuns

    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    r = api.post(f"{WF}/trigger", headers=operator, json={
        "job_name": "pms_sync", "start_at": soon.isoformat(), "tags": {"reason": "later"},
        "run_config": {"ops": {"wait": {"config": {"seconds": 0.1}}}}})
    assert r.status_code == 202, r.text
    trigger = r.json()
    assert trigger["status"] == "scheduled" and trigger["run_id"].startswith("trigger-")
    assert trigger["run_url"] is None
    assert datetime.fromisoformat(trigger["start_at"]) == soon.replace(microsecond=soon.microsecond)
    later = api.post(f"{WF}/trigger", headers=operator, json={
        "job_name": "pms_sync", "start_at": (soon + timedelta(hours=5)).isoformat()}).json()
    assert later["status"] == "scheduled"

    status = api.get(f"{WF}/status/{trigger['run_id']}", headers=operator).json()
    assert status["status"] == "scheduled" and status["start_at"] == trigger["start_at"]
    waiting = api.get(f"{WF}/list", params={"status": "scheduled"}, headers=operator).json()["runs"]
    assert [x["run_id"] for x in waiting] == [trigger["run_id"], later["run_id"]]  # soonest first

    # the sensor, evaluated as Dagster would: nothing due yet, then the due one, once
    spec = importlib.util.spec_from_file_location("tiny_location", location)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sensor = next(s for s in module.defs.sensors if s.name == "deferred_runs_sensor")

    class At(DeferredRuns):  # the store, as of a given time
        clock = datetime.now(timezone.utc)

        def due(self, now=None):
            return super().due(now or self.clock)

    store = At.from_url(wf_settings.ops_database_url)

    def evaluate():
        with dg.build_sensor_context(resources={"deferred_runs": store}) as context:
            return sensor(context)

    assert isinstance(evaluate(), dg.SkipReason)  # not due yet
    store.clock = soon + timedelta(seconds=1)
    (request,) = evaluate()
    assert request.run_key == trigger["run_id"] and request.job_name == "pms_sync"
    assert request.tags[TRIGGER_TAG] == trigger["run_id"] and request.tags["reason"] == "later"
    assert request.run_config == {"ops": {"wait": {"config": {"seconds": 0.1}}}}
    assert isinstance(evaluate(), dg.SkipReason)  # launched once
    launched = api.get(f"{WF}/status/{trigger['run_id']}", headers=operator).json()
    assert launched["status"] == "queued" and "deferred_runs_sensor" in launched["note"]

    # the one for later is canceled; a trigger canceled is not canceled twice
    r = api.post(f"{WF}/cancel/{later['run_id']}", headers=operator)
    assert r.status_code == 200 and r.json()["canceled"] and r.json()["status"] == "canceled", r.text
    assert api.get(f"{WF}/status/{later['run_id']}", headers=operator).json()["status"] == "canceled"
    again = api.post(f"{WF}/cancel/{later['run_id']}", headers=operator).json()
    assert not again["canceled"]
    assert api.get(f"{WF}/list", params={"status": "scheduled"}, headers=operator).json()["runs"] == []
    assert isinstance(evaluate(), dg.SkipReason)


def test_who_may_run_workflows(api, wf_settings):
    assert api.get(f"{WF}/list").status_code == 401
    r = api.get(f"{WF}/schedules", headers=bearer(wf_settings, "front_desk"))
    assert r.status_code == 403 and "'workflows:run' permission" in r.json()["message"], r.text
    assert api.get(f"{WF}/sensors", headers=bearer(wf_settings, "admin")).status_code == 200


def test_without_dagster_every_route_answers_503_naming_its_url(tmp_path):
    from serving.app import create_app

    settings = Settings(home=tmp_path / "home", dagster_port=free_port(),
                        champion_poll_seconds=3600, predictions_flush_seconds=3600)
    api = TestClient(create_app(settings), raise_server_exceptions=False)
    operator = bearer(settings, "operations")
    for method, path, body in (("POST", "/trigger", {"job_name": "pms_sync"}),
                               ("GET", "/status/0f9a2c51-6d3e-4b8a-9e7f-2c41d5a8b7e3", None),
                               ("POST", "/cancel/0f9a2c51-6d3e-4b8a-9e7f-2c41d5a8b7e3", None),
                               ("GET", "/list", None), ("GET", "/schedules", None),
                               ("GET", "/sensors", None), ("POST", "/schedules/hourly_pms_sync/stop", None),
                               ("POST", "/sensors/landing_sensor/start", None)):
        r = api.request(method, WF + path, headers=operator, **({"json": body} if body else {}))
        assert r.status_code == 503, (path, r.text)
        assert settings.dagster_url in r.json()["message"] and r.headers["retry-after"] == "30"
    # a trigger's own status needs no Dagster
    r = api.get(f"{WF}/status/trigger-{'0' * 32}", headers=operator)
    assert r.status_code == 404, r.text


def test_the_documented_examples_answer_on_a_real_dagster(api, operator):
    """What tests/serving/test_api_examples.py cannot send without Dagster: each request
    example of these routes answers with success (a run id example names no run: its
    documented 404), and each documented 404 is what the route answers."""
    from serving.core.error_docs import TEMPLATE_NOTE
    from serving.core.errors import Message

    spec = api.get("/openapi.json").json()
    sent = 0
    for path, methods in spec["paths"].items():
        if not path.startswith(WF):
            continue
        for method, op in methods.items():
            values = {p["name"]: next(iter(p["examples"].values()))["value"]
                      for p in op.get("parameters", []) if p["in"] == "path" and "examples" in p}
            assert set(values) == set(re.findall(r"\{(\w+)\}", path)), (method, path)
            url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
            bodies = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
            for body in [e["value"] for e in bodies.values()] or [None]:
                r = api.request(method.upper(), url, headers=operator, **({"json": body} if body else {}))
                sent += 1
                expected = 404 if "run_id" in values else min(int(s) for s in op["responses"] if s[0] == "2")
                assert r.status_code == expected, (method, path, body, r.text)
            if "404" in op["responses"]:
                documented = op["responses"]["404"]["content"]["application/json"]["examples"]
                templates = [Message(e["description"][len(TEMPLATE_NOTE):]) for e in documented.values()]
                unknown = re.sub(r"\{(\w+)\}", lambda m: "trigger-" + "0" * 32 if m.group(1) == "run_id"
                                 else "no_such_name", path)
                r = api.request(method.upper(), unknown, headers=operator)
                assert r.status_code == 404, (method, path, r.text)
                assert any(t.pattern().fullmatch(r.json()["message"]) for t in templates), r.json()
    assert sent >= 11
