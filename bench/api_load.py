"""Latency and throughput of the API under a steady request rate, from a second process.

Starts the API server (`uvicorn --factory serving.app:create_app`, the app as `make serve`
runs it, with 1 worker process or more: ``--workers 1 2`` measures each in turn), on the
settings of the environment (INNSIGHT_HOME; INNSIGHT_PROFILE=production with its secrets
for the production profile: PostgreSQL, Redis) on the built platform (`innsight build`
first, with the same environment), then for each endpoint and rate sends requests on an
open-loop schedule (request i is due at t0 + i / rate, whether or not earlier ones have
answered, so a slow server shows up as latency instead of a slower schedule) over
keep-alive connections, and reports p50 / p99 (from the due time to the last byte) and the
achieved throughput. The baseline is the bare liveness endpoint at the same rate in the
same run, measured in turns with each endpoint (5-second slices, alternately first) so that
a slower spell of this shared machine lands on both: the ratio is what the model, features
and bookkeeping cost on top of the framework. Each line also prints the server's CPU time
per request served (user + system of all its processes, over the measured seconds), how
many requests took over 50 ms (stalls), and how many of those the server itself took over
50 ms to answer (its latency histogram). A last line per endpoint offers far more than it
can serve (``--saturate`` requests/s for 5 s) and prints what it served: its throughput
at saturation. The header and the last line of each table give the CPU time of a fixed
pure-Python loop: this shared machine's speed drifts by 3x between days, and the CPU per
request with it.

    .venv/bin/python bench/api_load.py [--seconds 20] [--rates 50 200 400] [--workers 1 2]
    .venv/bin/python bench/api_load.py --seconds 300 --rates 200 --endpoints churn/predict \
        --no-baseline --saturate 0     # the 5-minute stall run
    .venv/bin/python bench/api_load.py --seconds 20 --rates 200 --pin
        # the server on one core, the load generator on the other: the server's own cost,
        # without a neighbour on its core between requests (as with the load on another machine)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from innsight.cli import PROCESS_ENV, api_environment  # noqa: E402  (as `innsight serve` runs it)

CONNECTIONS = 32
WARM_UP_SECONDS = 5
STALL_MS = 50.0  # a request slower than this counts as a stall (the target: none in 5 minutes)
SATURATION_SECONDS = 5
SLICE_SECONDS = 5  # an endpoint and its baseline alternate in slices this long


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int, path: str) -> dict:
    """A health route's body (a 503 says "degraded" with the same body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())
    except OSError:
        return {}


def _wait_for_loaders(port: int, deadline: float) -> None:
    """Wait until the guest-request router and CLIP have loaded (or said why not): they load
    in threads of the server after it answers, and their CPU (a minute to train the router
    where it is not cached) would be counted against the requests measured meanwhile."""
    from serving.core.errors import NOT_LOADED_YET

    while time.monotonic() < deadline:
        router = _health(port, "/api/v1/llm/health").get("router", {})
        clip = _health(port, "/api/v1/cv/health").get("models", {}).get("clip", {})
        if all(model and (model.get("loaded") or model.get("reason") not in (None, NOT_LOADED_YET))
               for model in (router, clip)):
            return
        time.sleep(2)


def start_server(port: int, home: Path, workers: int = 1, cores: set[int] | None = None) -> subprocess.Popen:
    # the environment `innsight serve` gives its server
    from base.settings import Settings

    env = {**PROCESS_ENV, **os.environ, "INNSIGHT_API_PORT": str(port), "OMP_WAIT_POLICY": "passive",
           **api_environment(Settings(api_workers=workers))}
    log = home / "bench-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "serving.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        cwd=REPO, env=env, stderr=open(log, "w"),
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)  # its threads too
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ml/health", timeout=5) as r:
                if r.status == 200 and len(psutil.Process(proc.pid).children()) >= workers - 1:
                    if workers > 1:
                        time.sleep(30)  # the other workers load their models too
                    _wait_for_loaders(port, deadline)
                    return proc
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("the API did not become healthy in 600 s (models and features built?)")


def request_bytes(method: str, path: str, token: str, body: dict | None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _run(port: int, requests: list[bytes], rate: float) -> tuple[list[float], int, float]:
    """Open-loop: request i is due at t0 + i / rate; latency counts from the due time."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0
    clock = time.perf_counter  # uvloop's loop.time() has millisecond resolution
    t0 = clock() + 0.2

    async def one(due: float, data: bytes):
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(data)
            status = await _read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append(clock() - due)
        if status != 200:
            errors += 1

    # each request is started at its due time (not all created up front: tens of thousands
    # of waiting coroutines made the client's own pauses look like the server's), and only
    # those in flight are kept: a gather over every request of a 5-minute run took the
    # client ~50 ms while the last ones were in flight, which counted as their latency
    in_flight: set[asyncio.Future] = set()
    failed: list[BaseException] = []

    def finished(task: asyncio.Future) -> None:
        in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failed.append(task.exception())

    for i, data in enumerate(requests):
        due = t0 + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(due, data))
        in_flight.add(task)
        task.add_done_callback(finished)
    await asyncio.gather(*in_flight)
    if failed:
        raise failed[0]
    elapsed = clock() - t0
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies, errors, elapsed


def client(port: int, requests: list[bytes], rate: float, out: mp.Queue,
           cores: set[int] | None = None) -> None:
    """The load generator: its own process, so it does not share the server's GIL."""
    if cores:
        os.sched_setaffinity(0, cores)
    gc.disable()  # a collector pass here would count as the server's latency
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_run(port, requests, rate)))


def measure(port: int, requests: list[bytes], rate: float, cores: set[int] | None = None) -> dict:
    """One open-loop run from a fresh load-generator process: its latencies (s), errors and
    seconds."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=client, args=(port, requests, rate, out, cores))
    proc.start()
    latencies, errors, elapsed = out.get()
    proc.join()
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def summary(runs: list[dict]) -> dict:
    """p50 / p99 / max over the latencies of several runs, and their throughput."""
    ms = sorted(x * 1000 for r in runs for x in r["latencies"])
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return {"p50": pick(0.50), "p99": pick(0.99), "max": ms[-1],
            "rps": len(ms) / sum(r["elapsed"] for r in runs),
            "errors": sum(r["errors"] for r in runs), "n": len(ms),
            "over_50ms": sum(x > STALL_MS for x in ms)}


def workloads(settings, token: str, n: int) -> dict[str, list[bytes]]:
    from features.store import FeatureStore
    from lake.delta_tables import Lake
    from lake.tables import PRICE_SCHEDULE
    from serving.services.online_features import OnlineFeatures

    s = settings
    rng = random.Random(7)
    with duckdb.connect(str(s.marts_path), read_only=True) as marts:
        bookings = [r[0] for r in marts.execute("select booking_id from fct_bookings").fetchall()]
        guests = [r[0] for r in marts.execute(
            "select distinct guest_id from fct_bookings where guest_id is not null "
            "order by guest_id").fetchall()]
    # guests the online store holds (one first seen after its last materialisation is a 404)
    guests = OnlineFeatures(FeatureStore.from_settings(s)).known("clv", "guest_id", guests)
    schedule = Lake.from_settings(s).read(PRICE_SCHEDULE.name, ["room_type", "date"])
    day = schedule["date"].min()
    types = sorted(set(schedule["room_type"]))
    return {
        BASELINE: [request_bytes("GET", "/health/live", token, None)] * n,
        "churn/predict": [request_bytes("POST", "/api/v1/ml/churn/predict", token,
                                        {"booking_id": rng.choice(bookings)}) for _ in range(n)],
        "clv/predict": [request_bytes("POST", "/api/v1/ml/clv/predict", token,
                                      {"guest_id": rng.choice(guests)}) for _ in range(n)],
        "pricing/current": [request_bytes("GET", f"/api/v1/ml/pricing/current/{rng.choice(types)}?on={day}",
                                          token, None) for _ in range(n)],
    }


def reference_loop_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop (the best of 3): how fast this shared
    machine runs Python now. CPU per request scales with it; read figures of two runs
    against each other only with theirs."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        sum(range(10**7))
        best = min(best, time.process_time() - start)
    return best


def server_cpu(server: subprocess.Popen) -> float:
    """User + system seconds of the server and its worker processes so far."""
    total = 0.0
    for proc in [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def server_slow(port: int, token: str, route: str) -> int:
    """Requests of a route the server itself took over 50 ms to answer so far, from its
    latency histogram (all workers': they share their metrics). Tells the server's stalls
    from the network's and the load generator's."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/ml/metrics",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        text = r.read().decode()
    name = "innsight_http_request_duration_seconds"
    route_label, le_label = f'route="{route}"', f'le="{STALL_MS / 1000:g}"'
    total = fast = 0.0
    for line in text.splitlines():
        if route_label in line:
            if line.startswith(f"{name}_count{{"):
                total = float(line.rsplit(" ", 1)[1])
            elif line.startswith(f"{name}_bucket{{") and le_label in line:
                fast = float(line.rsplit(" ", 1)[1])
    return int(total - fast)


BASELINE = "health/live (baseline)"
ROUTES = {BASELINE: "/health/live", "churn/predict": "/api/v1/ml/churn/predict",
          "clv/predict": "/api/v1/ml/clv/predict",
          "pricing/current": "/api/v1/ml/pricing/current/{room_type}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 200, 400])
    parser.add_argument("--endpoints", nargs="+", default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the liveness baseline (for a long stall run of one endpoint)")
    parser.add_argument("--pin", action="store_true",
                        help="with 1 worker: the server on the first core, the load generator on "
                             "the others (as from a second machine: they share no core)")
    parser.add_argument("--saturate", type=float, default=3000,
                        help="requests/s offered for the throughput at saturation (0: skip)")
    args = parser.parse_args()

    from base.settings import Settings
    from serving.core.auth import issue_token

    settings = Settings()  # what the server process reads too (same environment)
    token = issue_token("bench", ["admin"], settings=settings, rate_limit="10000000/minute")
    loads = workloads(settings, token, int(max(*args.rates, args.saturate * SATURATION_SECONDS / args.seconds)
                                           * args.seconds))
    names = args.endpoints or list(loads)
    for workers in args.workers:
        port = free_port()
        pinned = args.pin and workers == 1 and len(os.sched_getaffinity(0)) > 1
        cores = sorted(os.sched_getaffinity(0))
        server_cores, load_cores = ({cores[0]}, set(cores[1:])) if pinned else (None, None)
        server = start_server(port, settings.home, workers, server_cores)
        try:
            print(f"\n{settings.profile} profile, {workers} worker process{'es' if workers > 1 else ''}, "
                  f"{os.cpu_count()} cores{f' (server on core {cores[0]}, load on the others)' if pinned else ''}; "
                  f"open-loop load from another process, "
                  f"{args.seconds:.0f} s per point, {CONNECTIONS} keep-alive connections; "
                  f"reference loop sum(range(10**7)): {reference_loop_seconds():.3f} s of CPU")
            print(f"{'endpoint':24} {'rate':>6} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'max ms':>8} {'errors':>6} {'p99 / baseline':>15} {'CPU ms/req':>11} "
                  f"{'>50 ms':>7} {'in server':>10}")
            order = [n for n in names if not n.startswith("health")] or [BASELINE]
            for name in order:
                paired = [name] if args.no_baseline or name == BASELINE else [BASELINE, name]
                for rate in args.rates:
                    point = {n: [] for n in paired}
                    cpu = dict.fromkeys(paired, 0.0)
                    for n in paired:
                        # warm-up: the first seconds of a fresh server (loading, the first
                        # registry poll and log flush) are not what it serves at rate
                        measure(port, loads[n][: int(rate * WARM_UP_SECONDS)], rate, load_cores)
                    slow = {n: server_slow(port, token, ROUTES[n]) for n in paired}
                    # the baseline and the endpoint take turns in slices of the same minutes
                    # (first one, then the other), so that a slower spell of the machine
                    # lands on both and not on the ratio; one route alone runs unbroken (the
                    # stall run: a log flush must not fall between two slices)
                    slices = max(1, round(args.seconds / SLICE_SECONDS)) if len(paired) > 1 else 1
                    per = int(rate * args.seconds / slices)
                    for k in range(slices):
                        for n in paired if k % 2 == 0 else paired[::-1]:
                            before = server_cpu(server)
                            point[n].append(measure(port, loads[n][k * per:(k + 1) * per], rate, load_cores))
                            cpu[n] += server_cpu(server) - before
                    results = {n: summary(point[n]) for n in paired}
                    for n, r in results.items():
                        stalls = server_slow(port, token, ROUTES[n]) - slow[n]
                        ratio = r["p99"] / results[BASELINE]["p99"] if BASELINE in results else float("nan")
                        print(f"{n:24} {rate:6.0f} {r['rps']:9.1f} {r['p50']:8.2f} {r['p99']:8.2f} "
                              f"{r['max']:8.1f} {r['errors']:6d} {ratio:14.1f}x "
                              f"{cpu[n] * 1000 / max(r['n'], 1):11.2f} {r['over_50ms']:7d} {stalls:>10}",
                              flush=True)
                if args.saturate:
                    saturated = ([BASELINE] if name == order[0] and not args.no_baseline else []) + \
                                ([name] if name != BASELINE else [])
                    for n in saturated:
                        r = summary([measure(port, loads[n][: int(args.saturate * SATURATION_SECONDS)],
                                             args.saturate, load_cores)])
                        print(f"{n:24} {'max':>6} {r['rps']:9.1f}   (throughput at saturation: "
                              f"{args.saturate:.0f} requests/s offered for {SATURATION_SECONDS} s)", flush=True)
            print(f"reference loop at the end: {reference_loop_seconds():.3f} s of CPU")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
