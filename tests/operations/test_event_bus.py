"""The event bus: the API's spool (group commit, rolled by count and by time, a torn line of
a killed writer, restarts) and RabbitMQ on the machine's broker (batches, the broker
restarted mid-stream, a consumer killed between its landing write and its ack): every
accepted event reaches bronze exactly once."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from base.settings import REPO_ROOT, Settings
from lake.ingest import LandingZone
from lake.sources import ATTENDANCE_EVENTS
from lake.tables import QUARANTINE
from operations.event_bus import (Event, EventIdTaken, EventIndex, EventRefused, RabbitBus,
                                  RabbitDrain, SpoolBus, landing_batches)

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"


def attendance(employee: str = "EMP001", action: str = "check_in"):
    """A render function of an attendance event (the API's)."""
    def render(event_id: str, received: datetime) -> str:
        return json.dumps({"event_id": event_id, "employee_id": employee,
                           "timestamp": received.isoformat().replace("+00:00", "Z"),
                           "action": action, "camera_id": "cam_1", "confidence": 0.9,
                           "source": "api"}) + "\n"
    return render


def landing_files(zone: LandingZone) -> list[Path]:
    return zone.files(ATTENDANCE_EVENTS)


def ids_in(paths: list[Path]) -> list[str]:
    return [json.loads(line)["event_id"] for p in paths for line in p.read_text().splitlines()]


def ingest_all(zone: LandingZone) -> list[str]:
    """Every landing file ingested in name order (what the sensor does); the bronze ids."""
    for path in landing_files(zone):
        assert zone.ingest(path).rows_quarantined == 0
    assert zone.lake.read(QUARANTINE.name).is_empty()
    return zone.lake.read(ATTENDANCE_EVENTS.table)["event_id"].to_list()


def publish_many(bus, ids: list[str], threads: int = 8) -> dict[str, object]:
    """Publish concurrently (as the API's request threads do); id -> Accepted or error."""
    out: dict[str, object] = {}

    def work(chunk):
        for eid in chunk:
            try:
                out[eid] = bus.publish("attendance", eid, attendance(f"E-{eid}"))
            except Exception as e:  # noqa: BLE001 - the test reads it
                out[eid] = e

    workers = [threading.Thread(target=work, args=(ids[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


# -- the spool ------------------------------------------------------------------------------


def test_spool_rolls_by_count_then_by_time_and_lands_every_event_once(settings, zone):
    bus = SpoolBus(zone, settings.spool_dir, batch_seconds=1.0, batch_events=5)
    for i in range(12):
        assert not bus.publish("attendance", f"ev-{i:02d}", attendance()).duplicate
    published = time.monotonic()
    assert [len(ids_in([p])) for p in landing_files(zone)] == [5, 5]  # by count
    assert bus.pending == 2
    while len(landing_files(zone)) < 3 and time.monotonic() - published < 5:
        time.sleep(0.05)
    assert [len(ids_in([p])) for p in landing_files(zone)] == [5, 5, 2]  # by time
    assert bus.pending == 0
    bus.close()
    assert ids_in(landing_files(zone)) == [f"ev-{i:02d}" for i in range(12)]  # in order
    assert sorted(ingest_all(zone)) == [f"ev-{i:02d}" for i in range(12)]
    assert not [*settings.spool_dir.glob("*.jsonl")]  # every spool file landed and deleted


def test_spool_group_commit_checks_repeats_and_refuses_what_the_ingest_would_quarantine(
        settings, zone):
    bus = SpoolBus(zone, settings.spool_dir, batch_seconds=3600)
    answers = publish_many(bus, [f"g-{i}" for i in range(200)] + ["g-7"] * 5)
    assert all(not isinstance(a, Exception) for a in answers.values())
    assert bus.stats()["accepted"] == 200 and bus.stats()["duplicates"] == 5
    with pytest.raises(EventIdTaken):
        bus.publish("attendance", "g-7", attendance(action="check_out"))
    with pytest.raises(EventRefused, match="action 'lunch'"):
        bus.publish("attendance", "g-bad", attendance(action="lunch"))
    bus.close()  # lands what is left
    assert sorted(ingest_all(zone)) == sorted(f"g-{i}" for i in range(200))


def test_a_restart_keeps_duplicate_detection(settings, zone):
    first = SpoolBus(zone, settings.spool_dir)
    accepted = first.publish("attendance", "door-1", attendance())
    first.close()
    again = SpoolBus(zone, settings.spool_dir)
    repeat = again.publish("attendance", "door-1", attendance())
    assert repeat.duplicate and repeat.received_at == accepted.received_at
    with pytest.raises(EventIdTaken):
        again.publish("attendance", "door-1", attendance("EMP002"))
    again.close()
    assert ingest_all(zone) == ["door-1"]


KILLED_WRITER = """
import json, os, signal, sys
from pathlib import Path
from base.settings import Settings
from lake.ingest import LandingZone
from operations.event_bus import SpoolBus
from tests.operations.test_event_bus import attendance
settings = Settings(home=Path(sys.argv[1]))
bus = SpoolBus(LandingZone.from_settings(settings), settings.spool_dir, batch_seconds=3600)
for eid in ("a", "b", "c"):
    bus.publish("attendance", eid, attendance())
# killed in the middle of writing the next record: half a line, never acknowledged
with open(bus._path, "ab") as f:
    f.write(b'{"kind": "attendance", "id": "torn", "at": "20')
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_torn_last_line_of_a_killed_writer_neither_loses_nor_corrupts(settings, zone):
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(settings.home)],
                          cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    [active] = settings.spool_dir.glob("active-*.jsonl")
    assert active.read_bytes().count(b"\n") == 3  # three whole records, then the torn one

    bus = SpoolBus(zone, settings.spool_dir, batch_seconds=3600).start()  # an API restart
    assert bus.stats()["torn_lines"] == 1 and bus.stats()["rolled"] == 3
    assert ids_in(landing_files(zone)) == ["a", "b", "c"]
    assert bus.publish("attendance", "b", attendance()).duplicate  # the ids survived
    bus.publish("attendance", "d", attendance())
    assert ids_in(bus.roll()) == ["d"]  # a new spool file: nothing glued to the torn line
    bus.close()
    assert sorted(ingest_all(zone)) == ["a", "b", "c", "d"]


def test_events_sharing_a_key_go_to_successive_files_in_order():
    at = datetime.now(timezone.utc)
    events = [Event("booking", f"e{i}", at, "h\nrow\n", key=k)
              for i, k in enumerate(["B1", "B2", "B1", "B1", "B3"])]
    batches = [(kind, part, [e.event_id for e in evs]) for kind, part, evs in landing_batches(events)]
    assert batches == [("booking", 0, ["e0", "e1", "e4"]), ("booking", 1, ["e2"]),
                       ("booking", 2, ["e3"])]


# -- RabbitMQ -------------------------------------------------------------------------------


def _listening(port: int, wait: float) -> bool:
    """Whether the broker listens, waiting a while: a test before may have just restarted it,
    and a loaded machine may be slow to answer."""
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as s:
            s.settimeout(2.0)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


@pytest.fixture
def queue(tmp_path_factory):
    """A queue of its own on the machine's RabbitMQ, deleted afterwards. One test at a time
    uses the broker, whichever worker runs it: one of them restarts it."""
    lock = open(tmp_path_factory.getbasetemp().parent / "rabbitmq.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield from _queue()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _queue():
    if not _listening(5672, wait=30.0 if os.environ.get("CI") else 1.0):
        if os.environ.get("CI"):
            pytest.fail("RabbitMQ is not listening on 127.0.0.1:5672")
        pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672")
    import pika

    name = f"test-events-{uuid.uuid4().hex[:12]}"
    yield name
    try:
        conn = pika.BlockingConnection(pika.URLParameters(RABBITMQ))
        conn.channel().queue_delete(name)
        conn.close()
    except Exception:  # noqa: BLE001 - the broker may be coming back
        pass


def rabbit_bus(settings: Settings, zone: LandingZone, queue: str, **kw) -> RabbitBus:
    return RabbitBus(zone, RABBITMQ, queue, EventIndex(settings.spool_dir / "event-ids.sqlite"),
                     **kw)


def drain(settings: Settings, queue: str, batch_events: int) -> RabbitDrain:
    return RabbitDrain(RABBITMQ, queue, settings.landing_dir,
                       settings.spool_dir / "rabbitmq-landed.sqlite", batch_events)


@pytest.mark.xdist_group("rabbitmq")
def test_rabbitmq_publishes_with_confirms_and_drains_in_batches(settings, zone, queue):
    bus = rabbit_bus(settings, zone, queue)
    ids = [f"r-{i:03d}" for i in range(25)]
    answers = publish_many(bus, ids)
    assert all(a.queued_to == "rabbitmq" and not a.duplicate for a in answers.values())
    assert bus.publish("attendance", "r-001", attendance("E-r-001")).duplicate
    bus.close()

    drained = drain(settings, queue, batch_events=10).drain(idle_s=0.5)
    assert (drained.events, drained.landed, len(drained.files)) == (25, 25, 3)
    assert [len(ids_in([p])) for p in drained.files] == [10, 10, 5]
    assert drain(settings, queue, 10).drain(idle_s=0.2).events == 0  # acked: none left
    assert sorted(ingest_all(zone)) == ids


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.xdist_group("rabbitmq")
def test_the_broker_restarted_mid_stream_loses_nothing_confirmed(settings, zone, queue):
    if subprocess.run(["which", "rabbitmqctl"], capture_output=True).returncode != 0:
        pytest.skip("rabbitmqctl is not installed: the broker cannot be restarted here")
    bus = rabbit_bus(settings, zone, queue, publish_timeout=60)
    answers: dict[str, object] = {}
    stop = threading.Event()

    def publisher(n: int) -> None:  # publishes until told to stop, across the restart
        seq = 0
        while not stop.is_set():
            eid = f"m-{n}-{seq:05d}"
            try:
                answers[eid] = bus.publish("attendance", eid, attendance(f"E-{eid}"))
            except Exception as e:  # noqa: BLE001 - the test reads it
                answers[eid] = e
            seq += 1

    workers = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while bus.accepted < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    _rabbitmqctl("stop_app")  # connections are closed; persistent messages stay on disk
    _rabbitmqctl("start_app")
    _rabbitmqctl("await_startup")  # (the next test connects at once)
    after = bus.accepted
    while bus.accepted < after + 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for w in workers:
        w.join(90)
    bus.close()
    assert bus.reconnects >= 1
    failed = {k: a for k, a in answers.items() if isinstance(a, Exception)}
    assert not failed  # the publisher waited for the broker and reconnected
    confirmed = sorted(answers)
    assert len(confirmed) >= 80

    drained = drain(settings, queue, batch_events=1000).drain(idle_s=0.5)
    assert drained.landed == len(confirmed)  # a message resent (its confirm lost) lands once
    assert sorted(ingest_all(zone)) == confirmed


KILLED_CONSUMER = """
import os, signal, sys
from pathlib import Path
from operations.event_bus import RabbitDrain
url, queue, landing, ledger = sys.argv[1:5]
consumer = RabbitDrain(url, queue, Path(landing), Path(ledger), batch_events=10)
consumer._after_landing = lambda paths: os.kill(os.getpid(), signal.SIGKILL)  # before the ack
consumer.drain()
"""


@pytest.mark.xdist_group("rabbitmq")
def test_a_consumer_killed_between_landing_and_ack_ingests_nothing_twice(settings, zone, queue):
    bus = rabbit_bus(settings, zone, queue)
    ids = [f"k-{i:03d}" for i in range(30)]
    publish_many(bus, ids)
    bus.close()
    consumer = drain(settings, queue, batch_events=10)
    done = subprocess.run([sys.executable, "-c", KILLED_CONSUMER, RABBITMQ, queue,
                           str(consumer.landing_root), str(consumer.ledger_path)],
                          cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    [first] = landing_files(zone)
    assert len(set(ids_in([first])) & set(ids)) == 10  # a batch landed, never acked
    assert zone.ingest(first).rows_inserted == 10  # and even ingested already

    drained = consumer.drain(idle_s=0.5)  # all 30 come (again)
    assert (drained.events, drained.redelivered, drained.landed) == (30, 10, 20)
    assert sorted(ids_in(landing_files(zone))) == ids  # each event in one landing file
    assert sorted(ingest_all(zone)) == ids  # and once in bronze


@pytest.mark.xdist_group("rabbitmq")
def test_the_dagster_sensor_drains_the_queue_and_skips_with_the_spool(settings, zone, queue):
    import dagster as dg

    from orchestration.events.sensors import event_bus_sensor

    bus = rabbit_bus(settings, zone, queue)
    publish_many(bus, ["s-1", "s-2", "s-3"], threads=1)
    bus.close()
    consumer = drain(settings, queue, batch_events=100)
    with dg.build_sensor_context() as context:
        skipped = event_bus_sensor(context, event_bus=consumer)
    assert "landed 3 events in 1 files" in skipped.skip_message
    assert sorted(ingest_all(zone)) == ["s-1", "s-2", "s-3"]

    consumer.enabled = False  # settings.bus == "spool": the API lands its own events
    with dg.build_sensor_context() as context:
        assert "spool" in event_bus_sensor(context, event_bus=consumer).skip_message
