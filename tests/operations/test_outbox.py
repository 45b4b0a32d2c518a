"""The outbox and its senders against a real SMTP server and a real HTTP receiver: one fact
is one message, a server down and back loses nothing and sends nothing twice, dead letters,
signed webhooks, repeats until acknowledged; and the contact vault the guests ingest fills."""

from __future__ import annotations

import threading
from datetime import timedelta

import polars as pl
import sqlalchemy as sa

from base.databases import engine
from lake.contact_vault import ContactVault
from operations.outbox import Message, Outbox, now
from operations.senders import SIGNATURE_HEADER, AddressBook, Postman, sign


def postman(settings, smtp_url: str, routes: dict | None = None, vault=None, **kw) -> Postman:
    settings = settings.model_copy(update={"smtp_url": smtp_url, "notify": routes or {},
                                           "outbox_backoff_seconds": 30.0, **kw})
    addresses = AddressBook.from_settings(settings, vault)
    return Postman.from_settings(settings, Outbox(settings.ops_database_url, addresses.channel),
                                 addresses)


def late(shift: str, hotel: str = "CH") -> Message:
    return Message(key=f"attendance-late:{shift}", workflow="attendance",
                   recipient=f"supervisor:housekeeping@{hotel}",
                   subject=f"Late: shift {shift}", body=f"Shift {shift} started 12 minutes ago.")


def test_one_fact_is_one_message_even_when_decided_twice(settings, smtp_server):
    p = postman(settings, smtp_server.url)
    first = p.outbox.enqueue([late("s1")])
    again = p.outbox.enqueue([late("s1"), late("s2")])
    assert first[0].created and not again[0].created and again[1].created
    assert again[0].message_id == first[0].message_id
    assert str(p.deliver_due()) == "sent 2, retrying 0, dead 0"
    assert str(p.deliver_due()) == "sent 0, retrying 0, dead 0"
    p.outbox.enqueue([late("s1")])  # decided again after delivery: still nothing new
    p.deliver_due()
    assert sorted(smtp_server.mailbox.keys()) == ["attendance-late:s1", "attendance-late:s2"]
    mail = smtp_server.mailbox.messages[0]
    assert mail["To"] == "supervisor-housekeeping@ch.hotel.invalid"  # the default route
    assert p.outbox.get(first[0].message_id).status == "sent"


def test_smtp_down_then_back_loses_nothing_and_sends_nothing_twice(settings, smtp_server):
    p = postman(settings, smtp_server.url)
    p.outbox.enqueue([late(f"s{i}") for i in range(20)])
    smtp_server.stop()
    t = now()
    report = p.deliver_due(at=t)
    # one probe per round while the server is down; the others are untouched
    assert (report.sent, report.retrying) == (0, 1)
    rows = p.outbox.list(limit=50)
    assert len(rows) == 20 and {r.status for r in rows} == {"pending"}
    failed = [r for r in rows if r.attempts]
    assert len(failed) == 1 and "ConnectionRefused" in failed[0].last_error
    assert failed[0].next_attempt_at == t + timedelta(seconds=30)
    for minutes in (0.5, 1, 1.5, 2):  # two minutes down, a round every 30 s
        p.deliver_due(at=t + timedelta(minutes=minutes))
    assert smtp_server.mailbox.messages == []
    smtp_server.start()
    later = t + timedelta(minutes=6)  # past every backoff
    while p.outbox.counts().get("pending"):
        p.deliver_due(at=later)
    assert sorted(smtp_server.mailbox.keys()) == sorted(f"attendance-late:s{i}" for i in range(20))
    assert p.outbox.counts() == {"sent": 20}


def test_dead_letter_after_the_last_attempt_then_resent(settings, smtp_server, webhook):
    p = postman(settings, smtp_server.url, routes={"operations": webhook.url},
                outbox_max_attempts=3)
    [m] = p.outbox.enqueue([Message("run-failed:r1", "failures", "operations", "Run failed",
                                    "the run r1 failed", severity="warning")])
    assert m.channel == "webhook"
    webhook.statuses = [500, 502, 503]
    t = now()
    for k in range(3):
        p.deliver_due(at=t + timedelta(hours=k))
    dead = p.outbox.get(m.message_id)
    assert (dead.status, dead.attempts) == ("dead", 3) and "503" in dead.last_error
    assert [r.message_id for r in p.outbox.list(status="dead")] == [m.message_id]
    assert p.outbox.resend(m.message_id).status == "pending"
    assert p.deliver_due().sent == 1
    assert [b["idempotency_key"] for b in webhook.bodies()] == ["run-failed:r1"]


def test_webhooks_are_signed_with_the_secret(settings, webhook):
    p = postman(settings, "smtp://127.0.0.1:9", routes={"revenue_manager": webhook.url})
    p.outbox.enqueue([Message("prices:1", "prices", "revenue_manager@RH", "Prices moved",
                              "3 prices moved", payload={"changes": 3})])
    assert p.deliver_due().sent == 1
    [(headers, body)] = webhook.requests
    assert headers[SIGNATURE_HEADER] == sign(body, settings.webhook_secret.get_secret_value())
    assert headers["Idempotency-Key"] == "prices:1"
    assert webhook.bodies()[0]["data"] == {"changes": 3}


def test_a_critical_alert_repeats_until_acknowledged(settings, smtp_server):
    p = postman(settings, smtp_server.url)
    [m] = p.outbox.enqueue([Message("anomaly:a1", "anomalies", "duty_manager@CH", "FIRE",
                                    "Fire at camera 3", severity="critical", repeat_seconds=300)])
    t = now()
    p.deliver_due(at=t)
    p.deliver_due(at=t + timedelta(seconds=60))  # not yet due again
    p.deliver_due(at=t + timedelta(seconds=301))
    assert smtp_server.mailbox.keys() == ["anomaly:a1", "anomaly:a1"]
    acked = p.outbox.acknowledge(m.message_id, by="duty.manager")
    assert (acked.status, acked.acked_by, acked.deliveries) == ("acknowledged", "duty.manager", 2)
    p.deliver_due(at=t + timedelta(hours=1))
    assert len(smtp_server.mailbox.messages) == 2


def test_two_senders_never_deliver_the_same_message(settings, smtp_server):
    a, b = postman(settings, smtp_server.url), postman(settings, smtp_server.url)
    a.outbox.enqueue([late(f"c{i}") for i in range(30)])
    threads = [threading.Thread(target=s.deliver_due) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = smtp_server.mailbox.keys()
    assert len(keys) == 30 and len(set(keys)) == 30


def test_the_guests_ingest_fills_the_vault_encrypted_and_erasure_stops_delivery(
        settings, zone, smtp_server):
    folder = zone.root / "pms"
    folder.mkdir(parents=True)
    (folder / "guests_test.csv").write_text(
        "guest_id,first_name,last_name,email,phone,country,birth_year,segment,loyalty_tier,created_at\n"
        "G1,Lan,Nguyen,lan.nguyen@example.vn,+84 90 123 4567,VNM,1990,leisure,gold,2024-01-02\n"
        "G2,Ann,Smith,ann@example.com,,GBR,1985,business,none,2024-02-03\n")
    zone.ingest(folder / "guests_test.csv")
    vault = ContactVault.from_settings(settings)
    lan = vault.get("G1")
    assert (lan.email, lan.name, lan.phone, lan.language) == (
        "lan.nguyen@example.vn", "Lan Nguyen", "+84 90 123 4567", "vi")
    assert vault.get("G2").language == "en"
    # encrypted at rest, and the lake holds pseudonyms only
    with engine(settings.ops_database_url).connect() as con:
        stored = con.execute(sa.text("select email from contact_vault where guest_id = 'G1'")).scalar()
    assert b"lan.nguyen" not in bytes(stored)
    bronze = zone.lake.read("bronze/pms_guests")
    assert "lan.nguyen@example.vn" not in str(bronze.to_dicts())
    assert bronze.filter(pl.col("guest_id") == "G1")["email_domain"].item() == "example.vn"
    # the sender reads the vault; an erased guest's message is dead at once, with the reason
    p = postman(settings, smtp_server.url, vault=vault)
    p.outbox.enqueue([Message("room-ready:B1", "room_ready", "guest:G1", "Phòng đã sẵn sàng",
                              "Phòng 201 đã sẵn sàng.", language="vi")])
    assert p.deliver_due().sent == 1
    assert smtp_server.mailbox.messages[0]["To"] == "lan.nguyen@example.vn"
    assert vault.erase("G1") and vault.get("G1") is None and not vault.erase("G1")
    [m] = p.outbox.enqueue([Message("room-ready:B2", "room_ready", "guest:G1", "x", "y")])
    assert p.deliver_due().dead == 1
    assert "no email for guest G1" in p.outbox.get(m.message_id).last_error


def test_cancel_for_stops_what_is_still_due_to_a_recipient(settings, smtp_server):
    vault = ContactVault.from_settings(settings)
    vault.put([{"guest_id": "G9", "email": "g9@example.com"}])
    p = postman(settings, smtp_server.url, vault=vault)
    to_g9 = lambda key, **kw: Message(key, "room_ready", "guest:G9", "s", "b", **kw)  # noqa: E731
    p.outbox.enqueue([to_g9("k:sent")])
    assert p.deliver_due().sent == 1  # delivered before the erasure
    pending, repeating, other = p.outbox.enqueue([
        to_g9("k:pending"), to_g9("k:repeat", repeat_seconds=60),
        Message("k:other", "room_ready", "guest:G10", "s", "b")])
    stopped = p.outbox.cancel_for("guest:G9", "contact erased")
    assert sorted(stopped) == sorted([pending.message_id, repeating.message_id])
    for m in (pending, repeating):
        row = p.outbox.get(m.message_id)
        assert (row.status, row.last_error) == ("dead", "contact erased")
    assert p.outbox.by_key("k:sent").status == "sent"  # already delivered: history, untouched
    assert p.outbox.get(other.message_id).status == "pending"  # another recipient
    assert p.outbox.cancel_for("guest:G9", "contact erased") == []  # nothing left to stop
    p.deliver_due(at=now() + timedelta(hours=1))
    assert smtp_server.mailbox.keys() == ["k:sent"]
