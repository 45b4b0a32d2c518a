"""Workflow latency and outbox delivery, on the embedded default.

    python bench/workflows.py [--events 200] [--rate 4] [--down-seconds 120]

1. Latency from an attendance event posted to the API to its supervisor's notice received
   by a local SMTP server (aiosmtpd), over ``--events`` late check-ins posted at ``--rate``
   per second: the API's spool rolls them into landing files (every 2 s), and a loop does what
   Dagster's sensors do — ingest each new landing file, run the attendance workflow
   (``attendance_workflow``: the dbt models of fct_attendance, the marts file, the notices)
   when attendance events arrived, deliver the outbox — in this process. Printed: p50 / p99
   and each stage's share; the floor is one SMTP delivery of the same message (the same run).
   Under ``dagster dev`` each run also starts a process (about 10 s here) and the sensors tick
   every 5–10 s.
2. Outbox delivery with the SMTP server down for ``--down-seconds`` and back: 200 messages,
   the sender ticking every 5 s (the sensor's interval) on a simulated clock while the server
   is really stopped; then every message is counted at the server: lost and sent twice
   (target 0 and 0).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from aiosmtpd.controller import Controller  # noqa: E402

from base.settings import Settings  # noqa: E402
from lake.ingest import LandingZone  # noqa: E402
from lake.sources import SOURCES  # noqa: E402
from operations.outbox import Message  # noqa: E402
from orchestration.warehouse.resources import prepare_manifest  # noqa: E402
from orchestration.workflows.resources import Operations  # noqa: E402


class Inbox:
    def __init__(self):
        self.received: dict[str, list[float]] = {}

    async def handle_DATA(self, server, session, envelope):
        key = next((line.split(":", 1)[1].strip() for line in
                    envelope.content.decode(errors="replace").splitlines()
                    if line.startswith("X-Innsight-Idempotency-Key:")), "?")
        self.received.setdefault(key, []).append(time.perf_counter())
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def staff(home: Path, n: int, now: datetime) -> None:
    folder = home / "landing" / "attendance"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "employees_bench.csv").write_text(
        "employee_id,hotel,full_name,department,role,hired_on\n" + "".join(
            f"E{i},City Hotel,,housekeeping,room_attendant,2024-01-01\n" for i in range(n)))
    start, end = iso(now - timedelta(hours=1)), iso(now + timedelta(hours=7))
    (folder / "shifts_bench.csv").write_text(
        "shift_id,employee_id,hotel,shift_date,start_at,end_at\n" + "".join(
            f"S{i},E{i},City Hotel,{now.date()},{start},{end}\n" for i in range(n)))


def latency(events: int, rate: float) -> None:
    from fastapi.testclient import TestClient

    import dagster as dg
    from orchestration.definitions import build_definitions
    from serving.app import create_app
    from serving.core.auth import issue_token

    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(timezone.utc)
        settings = Settings(home=Path(tmp) / "home", smtp_url=f"smtp://127.0.0.1:{port}")
        staff(settings.home, events, now)
        zone = LandingZone.from_settings(settings)
        for source in ("employees", "shifts"):
            for path in zone.files(SOURCES[source]):
                zone.ingest(path)
        prepare_manifest(settings)
        defs = build_definitions(settings)
        job = defs.resolve_job_def("attendance_workflow")
        ops: Operations = defs.resources["ops"]
        # the floor: one delivery of a notice to the same server
        ops.outbox.enqueue([Message("floor", "bench", "supervisor:housekeeping@CH", "floor", "x")])
        t = time.perf_counter()
        ops.postman.deliver_due()
        floor = time.perf_counter() - t
        posted: dict[str, float] = {}
        stages = {"ingest": 0.0, "workflow run": 0.0, "delivery": 0.0, "runs": 0}

        token = issue_token("door-controller", ["service"], settings=settings)
        with TestClient(create_app(settings)) as client:
            def post():  # a door controller posting check-ins at a steady rate
                started = time.perf_counter()
                for i in range(events):
                    time.sleep(max(0.0, started + i / rate - time.perf_counter()))
                    r = client.post("/api/v1/events/attendance",
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"event_id": f"bench-{i}", "employee_id": f"E{i}",
                                          "action": "check_in", "location": "staff-door"})
                    assert r.status_code == 202, r.text
                    posted[f"attendance-late:S{i}"] = time.perf_counter()

            poster = threading.Thread(target=post, daemon=True)
            poster.start()
            deadline = time.perf_counter() + events / rate + 600
            # what the landing sensor, the asset sensor and the sender do, one after another
            with dg.DagsterInstance.ephemeral() as instance:
                while (len([k for k in posted if k in inbox.received]) < events
                       and time.perf_counter() < deadline):
                    t0 = time.perf_counter()
                    fresh = [p for p in zone.files(SOURCES["attendance_events"])
                             if not zone.ingest(p).skipped]
                    t1 = time.perf_counter()
                    stages["ingest"] += t1 - t0
                    if fresh:
                        run = job.execute_in_process(instance=instance, raise_on_error=False)
                        if not run.success:
                            raise SystemExit("the attendance workflow failed: see the log above")
                        stages["runs"] += 1
                    t2 = time.perf_counter()
                    stages["workflow run"] += t2 - t1
                    ops.postman.deliver_due()
                    stages["delivery"] += time.perf_counter() - t2
                    if not fresh:
                        time.sleep(0.5)
            poster.join()
        smtp.stop()
    waits = sorted(inbox.received[k][0] - t for k, t in posted.items() if k in inbox.received)
    twice = sum(len(inbox.received[k]) > 1 for k in posted if k in inbox.received)
    p50, p99 = statistics.median(waits), waits[int(0.99 * (len(waits) - 1))]
    print(f"attendance event -> supervisor's email: {len(waits)}/{events} delivered, "
          f"{twice} twice; p50 {p50:.1f} s, p99 {p99:.1f} s "
          f"(floor: one SMTP delivery {floor * 1000:.1f} ms; p50/floor {p50 / floor:,.0f}x)")
    total = stages["ingest"] + stages["workflow run"] + stages["delivery"]
    print(f"  time spent: ingest {stages['ingest'] / total:.0%}, attendance workflow runs "
          f"{stages['workflow run'] / total:.0%} ({stages['runs']} runs, "
          f"{stages['workflow run'] / max(1, stages['runs']):.1f} s each), delivery "
          f"{stages['delivery'] / total:.0%}")


def smtp_down(messages: int, down_seconds: int) -> None:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home", smtp_url=f"smtp://127.0.0.1:{port}")
        from lake.delta_tables import Lake
        ops = Operations.from_settings(settings, Lake.from_settings(settings))
        ops.outbox.enqueue([Message(f"down:{i}", "bench", "operations", f"m{i}", "body")
                            for i in range(messages)])
        smtp.stop()
        clock = datetime.now(timezone.utc)
        rounds = 0
        for _ in range(down_seconds // 5):  # the sensor's ticks while the server is down
            ops.postman.deliver_due(at=clock)
            clock += timedelta(seconds=5)
            rounds += 1
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        while ops.outbox.counts().get("pending") or ops.outbox.counts().get("sending"):
            ops.postman.deliver_due(at=clock)
            clock += timedelta(seconds=5)
            rounds += 1
        counts = ops.outbox.counts()
        smtp.stop()
    got = [k for k in inbox.received if k.startswith("down:")]
    lost = messages - len(got)
    twice = sum(len(inbox.received[k]) - 1 for k in got)
    print(f"outbox with SMTP down {down_seconds} s and back: {messages} messages, lost {lost}, "
          f"sent twice {twice} (targets 0 and 0); {rounds} sender ticks; final {counts}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--down-seconds", type=int, default=120)
    args = parser.parse_args()
    smtp_down(200, args.down_seconds)
    latency(args.events, args.rate)


if __name__ == "__main__":
    main()
