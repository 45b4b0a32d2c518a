"""Several API worker processes share their Prometheus metrics: a scrape answered by any
one of them counts the requests of all (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from base.settings import REPO_ROOT, Settings
from innsight.cli import api_environment

# A worker: counts requests and sets its gauges; ``close`` as the app's shutdown does.
WORKER = textwrap.dedent("""
    import sys
    from base.settings import Settings
    from serving.core.observability import Metrics
    requests, version, pending, close = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "close"
    metrics = Metrics(Settings().api_metrics_dir)  # as the app makes them
    assert metrics.shared
    metrics.requests.labels("POST", "/api/v1/ml/churn/predict", "200").inc(requests)
    metrics.champion.labels("cancellation").set(version)
    metrics.watch_pending(lambda: pending)
    sys.stdout.write(metrics.exposition().decode())
    if close:
        metrics.close()
""")


def _worker(env: dict, requests: int, version: float, pending: int, close: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(requests), str(version), str(pending),
                          "close" if close else "stay"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return {(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "pid"))): s.value
            for family in text_string_to_metric_families(out) for s in family.samples}


def test_a_scrape_of_any_worker_counts_every_workers_requests(tmp_path):
    folder = tmp_path / "home" / "serving" / "metrics"
    folder.mkdir(parents=True)
    (folder / "counter_99999.db").write_bytes(b"an earlier run's file")  # must not count
    env = {**os.environ, **api_environment(Settings(home=tmp_path / "home", api_workers=2))}
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
    assert not list(folder.glob("*.db"))  # emptied for this run

    request = ("innsight_http_requests_total", (("method", "POST"), ("route", "/api/v1/ml/churn/predict"),
                                                ("status", "200")))
    champion = ("innsight_ml_champion_version", (("model", "cancellation"),))
    pending = ("innsight_ml_predictions_pending", ())
    first = _worker(env, requests=3, version=1, pending=2, close=True)  # served, then stopped
    assert first[request] == 3
    second = _worker(env, requests=4, version=2, pending=5, close=False)
    # the stopped worker's requests still count; its gauges left with it
    assert second[request] == 7
    assert second[champion] == 2
    assert second[pending] == 5
    third = _worker(env, requests=0, version=2, pending=1, close=False)
    assert third[request] == 7
    assert third[pending] == 6  # each live worker's count as of its last scrape


def test_one_worker_keeps_its_metrics_in_its_own_process(tmp_path):
    assert api_environment(Settings(home=tmp_path, api_workers=1)) == {}
    assert not (tmp_path / "serving" / "metrics").exists()
    # prometheus_client's variable alone (Feast sets it when its metrics module is
    # imported) does not make an API's metrics shared: the setting does
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("INNSIGHT_API_METRICS_DIR", None)
    out = subprocess.run([sys.executable, "-c", "from serving.core.observability import Metrics; "
                          "m = Metrics(); m.requests.labels('GET', '/', '200').inc(); "
                          "print(m.shared, b'innsight_http_requests_total{' in m.exposition())"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_sharing_without_prometheus_clients_variable_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env["INNSIGHT_API_METRICS_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", "from base.settings import Settings; "
                          "from serving.core.observability import Metrics; "
                          "Metrics(Settings().api_metrics_dir)"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR" in out.stderr
