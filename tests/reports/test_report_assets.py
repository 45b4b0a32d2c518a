"""The report assets in Dagster: a partition renders every property's and the group's report
in each language, stores them whole, and mails each subscriber once (HTML body, PDF
attached) through the outbox and a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from base.settings import Settings
from operations.outbox import Outbox
from operations.senders import AddressBook, Postman
from orchestration.definitions import build_definitions
from reports.periods import containing
from reports.report_store import GROUP, ReportStore
from reports.subscriptions import Subscriptions
from tests.operations.conftest import SmtpServer


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def test_a_daily_partition_is_rendered_stored_and_mailed_once(marts_home, tmp_path, con, smtp):
    settings = Settings(home=marts_home, smtp_url=smtp.url,
                        reports_since=con.execute("select min(first_arrival) from dim_hotel_as_of").fetchall()[0][0])
    day = con.execute("select max(as_of_date) from dim_hotel_as_of").fetchall()[0][0] - timedelta(days=2)
    period = containing("daily", day)
    code = con.execute(f"""select min(hotel_code) from dim_hotel_as_of
                       where as_of_date >= '{day}'""").fetchall()[0][0]
    subscriptions = Subscriptions.from_url(settings.ops_database_url)
    subscriptions.subscribe("gm@example.com", [code, GROUP], ["daily"], "vi", by="test")
    subscriptions.subscribe("owner@example.com", [GROUP], ["weekly"], "en", by="test")

    defs = build_definitions(settings)
    job = defs.resolve_job_def("reports_daily")
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):  # a rerun replaces the files and queues nothing new
            result = job.execute_in_process(instance=instance, partition_key=period.key)
            assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey(["reports", "daily"]))
    metadata = event.asset_materialization.metadata
    assert metadata["reports"].value >= 2 * len(settings.report_languages)
    assert "page 1" in metadata["preview"].value
    assert metadata["group_pdf"].value.endswith(
        f"/api/v1/reports/daily/{period.key}?property={GROUP}&language=en&format=pdf")

    store = ReportStore(settings.lake_root)
    stored = store.list("daily", period)
    for prop in (code, GROUP):
        for language in settings.report_languages:
            assert store.read("daily", period, prop, language, "pdf").startswith(b"%PDF")
            assert b"<html" in store.read("daily", period, prop, language, "html")[:500].lower()
    assert not [r for r in stored if ".tmp" in r.path]

    outbox = Outbox(settings.ops_database_url, AddressBook.from_settings(settings).channel)
    queued = outbox.list(key_prefix=f"report:daily:{period.key}:")
    assert sorted(m.recipient for m in queued) == ["email:gm@example.com"] * 2  # the property and the group
    report = Postman.from_settings(settings, outbox, AddressBook.from_settings(settings))
    report.deliver_due()
    mails = [m for m in smtp.mailbox.messages if m["To"] == "gm@example.com"]
    assert len(mails) == 2
    for mail in mails:
        assert mail["Content-Language"] == "vi"
        parts = {p.get_content_type(): p for p in mail.walk()}
        assert "text/html" in parts
        pdf = next(p for p in mail.walk() if p.get_content_type() == "application/pdf")
        assert pdf.get_payload(decode=True).startswith(b"%PDF")
        assert pdf.get_filename().endswith(".vi.pdf")
