"""Events per second into bronze through the event bus (the spool, RabbitMQ) against one
landing file per event (the path before the event bus), in the same run.

    .venv/bin/python bench/event_bus.py [--events 20000] [--api-events 2000]
                                        [--baseline-events 200] [--threads 128]

- **baseline**: the old path, in this process and without HTTP (so it is favoured): each
  event checked and written as its own landing file (a temporary file, fsync, the
  contract check, rename), then each file ingested (three Delta commits each).
- **bus**: ``--events`` attendance events published by ``--threads`` threads (as the API's
  request threads publish them: each waits for its event to be durable), landed (the
  spool rolled at the end; RabbitMQ drained meanwhile by another process, as the Dagster
  sensor does) and every landing file ingested as the ingest job does: events/s from the
  first publish to the last bronze row.
- **API**: one API server process (`uvicorn --factory serving.app:create_app`, as
  `innsight serve` runs it) on a fresh home per bus takes ``--api-events`` events posted
  over ``--connections`` keep-alive connections (closed loop), then the same landing and
  ingest. Beside it, the bare liveness endpoint over the same connections: the ceiling the
  framework puts on any route of this server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from base.files import atomic_path  # noqa: E402
from base.settings import Settings  # noqa: E402
from lake.ingest import LandingZone  # noqa: E402
from lake.sources import ATTENDANCE_EVENTS  # noqa: E402
from operations.event_bus import RabbitDrain  # noqa: E402
from serving.core.auth import issue_token  # noqa: E402

WHEN = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds")


DRAINER = """
import sys
import time
from pathlib import Path
from operations.event_bus import RabbitDrain
url, queue, landing, ledger, expected = sys.argv[1:6]
drain = RabbitDrain(url, queue, Path(landing), Path(ledger), batch_events=5000)
print("ready", flush=True)
landed = 0
while landed < int(expected):
    drained = drain.drain(idle_s=0.3).landed
    landed += drained
    if landed < int(expected):
        time.sleep(2.0)  # the sensor's interval (at least 5 s in Dagster)
print(landed, flush=True)
"""


class Drainer:
    """The Dagster sensor's drain, in a process of its own, running while events are
    published (the sensor drains every few seconds): stops once ``expected`` landed."""

    def __init__(self, settings: Settings, expected: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRAINER, settings.rabbitmq_url, settings.event_queue,
             str(settings.landing_dir), str(settings.spool_dir / "rabbitmq-landed.sqlite"),
             str(expected)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def wait(self) -> None:
        self.proc.wait(600)
        assert self.proc.returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body(i: int, run: str) -> dict:
    return {"event_id": f"{run}-{i:07d}", "employee_id": f"EMP{i % 400:03d}", "timestamp": WHEN,
            "action": "check_in" if i % 2 else "check_out", "location": "cam_staff_entrance",
            "confidence": 0.97}


def start_server(settings: Settings, port: int, env: dict[str, str]) -> subprocess.Popen:
    log = settings.home / "bench-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "serving.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env={**os.environ, "OMP_WAIT_POLICY": "passive", **env},
        stderr=open(log, "w"))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the API did not start; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()  # the lifespan's shutdown rolls the spool's last events
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _post_all(port: int, token: str, bodies: list[dict], connections: int) -> list[int]:
    statuses: list[int] = []
    queue = list(reversed(bodies))

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            data = json.dumps(queue.pop()).encode()
            writer.write(b"POST /api/v1/events/attendance HTTP/1.1\r\nHost: bench\r\n"
                         b"Authorization: Bearer " + token.encode() + b"\r\n"
                         b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(data)).encode() + b"\r\n\r\n" + data)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            statuses.append(status)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


def post_all(port: int, token: str, bodies: list[dict], connections: int) -> float:
    """Seconds to have every event accepted (202)."""
    t = time.perf_counter()
    statuses = asyncio.run(_post_all(port, token, bodies, connections))
    elapsed = time.perf_counter() - t
    bad = [s for s in statuses if s != 202]
    if bad or len(statuses) != len(bodies):
        raise SystemExit(f"{len(bad)} events not accepted: {sorted(set(bad))}")
    return elapsed


def landed_lines(zone: LandingZone) -> int:
    return sum(p.read_bytes().count(b"\n") for p in zone.files(ATTENDANCE_EVENTS))


def ingest_all(zone: LandingZone, expected: int) -> None:
    for path in zone.files(ATTENDANCE_EVENTS):  # in name order, as the ingest job
        result = zone.ingest(path)
        assert result.rows_quarantined == 0, result.reasons
    rows = zone.lake.read(ATTENDANCE_EVENTS.table, columns=["event_id"]).height
    assert rows == expected, (rows, expected)


def through_the_api(bus: str, events: int, connections: int, batch_seconds: float) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"innsight-bench-{bus}-")) / "home"
    queue = f"bench-events-{uuid.uuid4().hex[:8]}"
    settings = Settings(home=home, event_bus=bus, event_queue=queue,
                        event_batch_seconds=batch_seconds)
    env = {"INNSIGHT_HOME": str(home), "INNSIGHT_EVENT_BUS": bus, "INNSIGHT_EVENT_QUEUE": queue,
           "INNSIGHT_EVENT_BATCH_SECONDS": str(batch_seconds),
           "INNSIGHT_RATE_LIMIT": "10000000/minute", "INNSIGHT_LLM_PROVIDER": "none",
           "INNSIGHT_CHAMPION_POLL_SECONDS": "3600"}
    port = free_port()
    proc = start_server(settings, port, env)
    zone = LandingZone.from_settings(settings)
    token = issue_token("bench", ["front_desk"], settings=settings, rate_limit="10000000/minute")
    run = uuid.uuid4().hex[:6]
    try:
        post_all(port, token, [body(i, "warm" + run) for i in range(200)], connections)
        if bus == "rabbitmq":
            RabbitDrain.from_settings(settings).drain()
        else:
            while landed_lines(zone) < 200:
                time.sleep(0.05)
        ingest_all(zone, 200)  # warm: Delta tables exist, the server's caches are hot
        drainer = Drainer(settings, events) if bus == "rabbitmq" else None
        t0 = time.perf_counter()
        posted = post_all(port, token, [body(i, run) for i in range(events)], connections)
        if drainer is not None:
            drainer.wait()
            files = len(zone.files(ATTENDANCE_EVENTS)) - 1
        else:
            while landed_lines(zone) < 200 + events:
                time.sleep(0.02)
            files = len(zone.files(ATTENDANCE_EVENTS)) - 1
        landed = time.perf_counter() - t0
        ingest_all(zone, 200 + events)
        total = time.perf_counter() - t0
        live = liveness_rate(port, events, connections)
    finally:
        stop_server(proc)
        if bus == "rabbitmq":
            import pika

            conn = pika.BlockingConnection(pika.URLParameters(settings.rabbitmq_url))
            conn.channel().queue_delete(queue)
            conn.close()
    return {"accepted_per_s": events / posted, "post_s": posted, "landed_s": landed,
            "total_s": total, "files": files, "per_s": events / total, "live_per_s": live}


def through_the_bus(bus_name: str, events: int, threads: int) -> dict:
    """The bus alone, published from request-like threads, into bronze."""
    import threading

    from operations.event_bus import EventIndex, RabbitBus, SpoolBus

    home = Path(tempfile.mkdtemp(prefix=f"innsight-bench-bus-{bus_name}-")) / "home"
    queue = f"bench-events-{uuid.uuid4().hex[:8]}"
    settings = Settings(home=home, event_queue=queue)
    zone = LandingZone.from_settings(settings)
    if bus_name == "rabbitmq":
        bus = RabbitBus(zone, settings.rabbitmq_url, queue,
                        EventIndex(settings.spool_dir / "event-ids.sqlite"))
    else:
        bus = SpoolBus(zone, settings.spool_dir, batch_seconds=3600, batch_events=10**9)
    run = uuid.uuid4().hex[:6]

    def render(i: int):
        row = body(i, run)

        def text(event_id: str, received: datetime) -> str:
            return json.dumps({"event_id": event_id, "employee_id": row["employee_id"],
                               "timestamp": WHEN, "action": row["action"],
                               "camera_id": row["location"], "confidence": row["confidence"],
                               "source": "api"}) + "\n"
        return row["event_id"], text

    def work(k: int) -> None:
        for i in range(k, events, threads):
            bus.publish("attendance", *render(i))

    bus.publish("attendance", *render(events + 1))  # warm: the index, the reader
    drainer = Drainer(settings, events + 1) if bus_name == "rabbitmq" else None
    t0 = time.perf_counter()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    published = time.perf_counter() - t0
    if drainer is not None:
        bus.close()
        drainer.wait()
        files = len(zone.files(ATTENDANCE_EVENTS))
    else:
        files = len(bus.roll())
        bus.close()
    landed = time.perf_counter() - t0
    ingest_all(zone, events + 1)
    total = time.perf_counter() - t0
    if bus_name == "rabbitmq":
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(settings.rabbitmq_url))
        conn.channel().queue_delete(queue)
        conn.close()
    return {"accepted_per_s": events / published, "landed_s": landed, "total_s": total,
            "files": files, "per_s": events / total}


def liveness_rate(port: int, requests: int, connections: int) -> float:
    """Requests/s of the bare liveness endpoint over the same connections."""
    async def run():
        left = list(range(requests))

        async def connection():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while left:
                left.pop()
                writer.write(b"GET /health/live HTTP/1.1\r\nHost: bench\r\n\r\n")
                await writer.drain()
                await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
            writer.close()

        await asyncio.gather(*(connection() for _ in range(connections)))

    t = time.perf_counter()
    asyncio.run(run())
    return requests / (time.perf_counter() - t)


def one_file_per_event(events: int) -> dict:
    """The old path: each event its own landing file, checked, then each file ingested."""
    home = Path(tempfile.mkdtemp(prefix="innsight-bench-files-")) / "home"
    zone = LandingZone.from_settings(Settings(home=home))
    folder = zone.root / "attendance"
    run = uuid.uuid4().hex[:6]

    def write(i: int) -> Path:
        row = body(i, run)
        text = json.dumps({"event_id": row["event_id"], "employee_id": row["employee_id"],
                           "timestamp": WHEN, "action": row["action"],
                           "camera_id": row["location"], "confidence": row["confidence"],
                           "source": "api"}) + "\n"
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"events-api-{stamp}-{row['event_id']}.jsonl"
        with atomic_path(path) as tmp:
            with tmp.open("w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            assert not zone.problems(tmp, ATTENDANCE_EVENTS)
        return path

    zone.ingest(write(events + 1))  # warm: the tables exist
    t0 = time.perf_counter()
    paths = [write(i) for i in range(events)]
    written = time.perf_counter() - t0
    for path in paths:
        zone.ingest(path)
    total = time.perf_counter() - t0
    rows = zone.lake.read(ATTENDANCE_EVENTS.table, columns=["event_id"]).height
    assert rows == events + 1, rows
    return {"accepted_per_s": events / written, "total_s": total, "files": events,
            "per_s": events / total}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--api-events", type=int, default=2_000)
    parser.add_argument("--baseline-events", type=int, default=200)
    parser.add_argument("--threads", type=int, default=128)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--no-api", action="store_true", help="skip the API servers")
    args = parser.parse_args()

    base = one_file_per_event(args.baseline_events)
    print(f"baseline, one file per event (no HTTP): {args.baseline_events} events, "
          f"{base['accepted_per_s']:.0f} written/s, into bronze in {base['total_s']:.1f} s "
          f"= {base['per_s']:.1f} events/s")
    for bus in ("spool", "rabbitmq"):
        r = through_the_bus(bus, args.events, args.threads)
        print(f"bus {bus:>8}: {args.events} events from {args.threads} threads: "
              f"{r['accepted_per_s']:.0f} accepted/s, landed in {r['files']} files at "
              f"{r['landed_s']:.1f} s, in bronze at {r['total_s']:.1f} s = {r['per_s']:.0f} "
              f"events/s into bronze, {r['per_s'] / base['per_s']:.0f}x the baseline")
    if args.no_api:
        return
    for bus in ("spool", "rabbitmq"):
        r = through_the_api(bus, args.api_events, args.connections, args.batch_seconds)
        print(f"API {bus:>8}: {args.api_events} events over {args.connections} connections: "
              f"{r['accepted_per_s']:.0f} accepted/s ({r['accepted_per_s'] / r['live_per_s']:.0%} "
              f"of the bare liveness endpoint's {r['live_per_s']:.0f} requests/s), landed in "
              f"{r['files']} files at {r['landed_s']:.1f} s, in bronze at {r['total_s']:.1f} s "
              f"= {r['per_s']:.0f} events/s into bronze, {r['per_s'] / base['per_s']:.0f}x "
              f"the baseline")


if __name__ == "__main__":
    main()
