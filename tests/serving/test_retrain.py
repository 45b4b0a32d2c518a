"""POST /retrain/{model_name} against a real Dagster (its webserver on the served platform):
the run it returns is the Dagster run that trains and registers the model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from base.settings import REPO_ROOT
from tests.conftest import free_port
from tests.serving.conftest import bearer


@pytest.fixture(scope="module")
def dagster_port(platform_home: Path, api_settings):
    """Dagster's webserver on the served platform: the code location builds its Settings
    from the environment the server is started with (INNSIGHT_HOME), as `innsight serve`
    starts it. Without the daemon `dagster dev` adds: its sensors would start a run for each
    landing file and workflow of the platform beside the retrain run (minutes on 2 cores),
    so the instance launches a submitted run at once instead of queueing it for a daemon."""
    import yaml

    from orchestration.instance import instance_config

    dagster_home = api_settings.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = {**instance_config(api_settings), "run_coordinator": {
        "module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}}
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "INNSIGHT_HOME": str(platform_home),
           "DAGSTER_HOME": str(dagster_home), "OMP_WAIT_POLICY": "passive"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(REPO_ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(platform_home / "dagster-webserver.log", "w"))
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (platform_home / "dagster-webserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "dagster-webserver did not answer in 240 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        yield port
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def test_retrain_submits_the_models_dagster_job_and_returns_its_run(platform_home, api_settings,
                                                                   dagster_port, client):
    from dagster_graphql import DagsterGraphQLClient

    from ml.registry import ModelRegistry
    from serving import deps
    from serving.services.dagster_runs import DagsterRuns

    dagster_runs = DagsterRuns("127.0.0.1", dagster_port)
    client.app.dependency_overrides[deps.dagster_dep] = lambda: dagster_runs  # this Dagster
    admin = bearer(api_settings, "admin")
    try:
        registry = ModelRegistry.from_settings(api_settings).client()
        versions_before = len(registry.search_model_versions("name = 'recommend_rooms'"))
        r = client.post("/api/v1/ml/retrain/recommend_rooms", headers=admin)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["job_name"] == "retrain_recommend_rooms"
        assert body["run_url"] == f"{dagster_runs.url}/runs/{body['run_id']}"

        dagster = DagsterGraphQLClient("127.0.0.1", port_number=dagster_port)
        deadline = time.monotonic() + 1200  # a loaded machine trains slowly
        status = None
        while time.monotonic() < deadline:
            status = dagster.get_run_status(body["run_id"]).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(2)
        assert status == "SUCCESS", f"run {body['run_id']} ended {status}"
        versions = registry.search_model_versions("name = 'recommend_rooms'")
        assert len(versions) == versions_before + 1
        newest = max(versions, key=lambda v: int(v.version))
        assert "promotion" in newest.tags  # trained, compared with the champion, decided

        unknown = client.post("/api/v1/ml/retrain/not_a_model", headers=admin)
        assert unknown.status_code == 422 and "cancellation" in unknown.json()["message"]
    finally:
        client.app.dependency_overrides.clear()
