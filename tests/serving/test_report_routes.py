"""/api/v1/reports on an app of its own (an empty home, not started: these routes need no
model): reports written into the lake's storage through the ReportStore, as the Dagster
assets write them, listed and fetched as PDF and HTML; a report not rendered answers how to
render it; malformed kinds, periods and properties answer 422; who may read and who may
manage the subscriptions; and a subscription's round trip, one per address."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from base.settings import Settings
from lake.properties import PropertyMaster
from reports.periods import parse
from reports.report_store import GROUP, ReportStore
from serving.routes.reports import NO_SUBSCRIPTION, NOT_RENDERED, UNKNOWN_PROPERTY
from tests.serving.conftest import bearer, services

REPORTS = "/api/v1/reports"
SUBSCRIPTIONS = f"{REPORTS}/subscriptions"


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF saying ``text`` (its cross-reference table's offsets counted)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def home_settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("reports") / "home", champion_poll_seconds=3600,
                    predictions_flush_seconds=3600)


@pytest.fixture(scope="module")
def app(home_settings):
    from serving.app import create_app

    return TestClient(create_app(home_settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def hotel(home_settings):
    """A hotel of the property master: (code, name)."""
    first = PropertyMaster.load(home_settings.properties_file).hotels[0]
    return first.code, first.name


@pytest.fixture(scope="module")
def rendered(home_settings, hotel):
    """Reports as the assets write them: two weeks of the group (PDF, and HTML in
    Vietnamese), a hotel's day and a month."""
    code, _ = hotel
    store = ReportStore(home_settings.lake_root)
    week, earlier = parse("weekly", "2026-W48"), parse("weekly", "2026-W47")
    written = {
        "week pdf": store.write("weekly", week, GROUP, "en", "pdf", tiny_pdf("Weekly review")),
        "week html": store.write("weekly", week, GROUP, "vi", "html",
                                 "<html><body>Báo cáo tuần</body></html>"),
        "earlier week": store.write("weekly", earlier, GROUP, "en", "pdf", tiny_pdf("Week 47")),
        "day": store.write("daily", parse("daily", "2026-12-01"), code, "en", "pdf",
                           tiny_pdf("Daily flash")),
        "month": store.write("monthly", parse("monthly", "2026-11"), code, "en", "pdf",
                             tiny_pdf("Monthly pack")),
    }
    return written


@pytest.fixture(scope="module")
def reader(home_settings):
    return bearer(home_settings, "revenue_manager")


@pytest.fixture(scope="module")
def manager(home_settings):
    return bearer(home_settings, "manager")


def test_reports_are_listed_newest_first_and_fetched(app, rendered, reader, hotel):
    code, name = hotel
    r = app.get(REPORTS, headers=reader)
    assert r.status_code == 200, r.text
    listed = r.json()["reports"]
    assert r.json()["count"] == len(listed) == 5
    assert [(x["kind"], x["period"], x["property"], x["format"]) for x in listed] == [
        ("daily", "2026-12-01", code, "pdf"), ("weekly", "2026-11-23", GROUP, "html"),
        ("weekly", "2026-11-23", GROUP, "pdf"), ("weekly", "2026-11-16", GROUP, "pdf"),
        ("monthly", "2026-11-01", code, "pdf")]  # by the period's first day
    week = listed[2]
    assert week == {"kind": "weekly", "period": "2026-11-23", "period_label": "2026-W48",
                    "property": GROUP, "language": "en", "format": "pdf",
                    "size": rendered["week pdf"].size,
                    "url": f"{REPORTS}/weekly/2026-11-23?property=group&language=en&format=pdf"}
    assert listed[4]["period_label"] == "2026-11"

    # each listed URL fetches its report, byte for byte
    for entry, key in zip(listed, ("day", "week html", "week pdf", "earlier week", "month")):
        r = app.get(entry["url"], headers=reader)
        assert r.status_code == 200, (entry, r.text)
        assert r.content == ReportStore(app.app.state.services.settings.lake_root).read(
            entry["kind"], entry["period"], entry["property"], entry["language"], entry["format"])
        assert len(r.content) == rendered[key].size

    # a week by its ISO name, the group by default, PDF by default and inline
    r = app.get(f"{REPORTS}/weekly/2026-W48", headers=reader)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'inline; filename="weekly-2026-11-23-group.en.pdf"'
    assert r.content.startswith(b"%PDF-1.4") and r.content.rstrip().endswith(b"%%EOF")
    r = app.get(f"{REPORTS}/weekly/2026-11-23", params={"format": "html", "language": "vi"},
                headers=reader)
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "Báo cáo tuần" in r.text
    # a hotel by its code in any case, or by its name; a month by its name
    for named in (code.lower(), name):
        r = app.get(f"{REPORTS}/monthly/2026-11", params={"property": named}, headers=reader)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == f'inline; filename="monthly-2026-11-01-{code}.en.pdf"'

    # filters
    def listed_by(**params):
        r = app.get(REPORTS, params=params, headers=reader)
        assert r.status_code == 200, r.text
        return [(x["kind"], x["period"], x["property"], x["format"]) for x in r.json()["reports"]]

    assert listed_by(kind="weekly", period="2026-W48") == [("weekly", "2026-11-23", GROUP, "html"),
                                                           ("weekly", "2026-11-23", GROUP, "pdf")]
    assert listed_by(property=name) == [("daily", "2026-12-01", code, "pdf"),
                                        ("monthly", "2026-11-01", code, "pdf")]
    assert listed_by(kind="monthly", property=GROUP) == []
    # a period without a kind: every kind whose period it names (the 1st: a day and a month)
    assert listed_by(period="2026-11-01") == [("monthly", "2026-11-01", code, "pdf")]
    assert listed_by(period="2026-11") == [("monthly", "2026-11-01", code, "pdf")]


def test_a_report_not_rendered_says_how_to_render_it(app, rendered, reader, hotel):
    code, _ = hotel
    r = app.get(f"{REPORTS}/daily/2026-12-02", params={"property": code}, headers=reader)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "not_found"
    assert r.json()["message"] == (
        f"the daily report for 2026-12-02 ({code}, en) has not been rendered: materialise "
        "partition 2026-12-02 of the Dagster asset reports/daily (job reports_daily), or wait "
        "for its schedule")
    # rendered in one language or format only: the other is not there
    r = app.get(f"{REPORTS}/weekly/2026-W48", params={"language": "vi"}, headers=reader)
    assert r.status_code == 404
    assert NOT_RENDERED.pattern().fullmatch(r.json()["message"]).groupdict() == {
        "kind": "weekly", "period": "2026-W48", "property": GROUP, "language": "vi",
        "partition": "2026-11-23"}


def test_malformed_requests_answer_422_saying_why(app, rendered, reader, hotel):
    code, name = hotel

    def invalid(url, **params):
        r = app.get(url, params=params, headers=reader)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["error"] == "invalid_request" and body["details"], body
        return body

    body = invalid(f"{REPORTS}/weekly/2026-12-01")  # a Tuesday
    assert body["message"] == ("invalid period: 2026-12-01 is not the first day of a weekly "
                               "period: use 2026-11-30 (2026-W49)")
    assert body["details"][0]["field"] == "path.period"
    body = invalid(f"{REPORTS}/monthly/last-month")
    assert body["message"] == "invalid period: 'last-month' is not a monthly period: use YYYY-MM-01 or YYYY-MM"
    assert "out of range" in invalid(f"{REPORTS}/monthly/9999-12")["message"]
    assert "is not a daily period" in invalid(REPORTS, kind="daily", period="2026-W48")["message"]
    assert "is not a" in invalid(REPORTS, period="yesterday")["message"]

    body = invalid(f"{REPORTS}/daily/2026-12-01", property="Nowhere Inn")
    assert UNKNOWN_PROPERTY.pattern().fullmatch(body["message"]), body
    assert f"{code} ({name})" in body["message"] and "'group'" in body["message"]
    assert body["details"][0]["field"] == "query.property"
    assert "Nowhere Inn" in invalid(REPORTS, property="Nowhere Inn")["message"]

    body = invalid(f"{REPORTS}/hourly/2026-12-01")
    assert body["details"][0]["field"] == "path.kind"
    assert invalid(f"{REPORTS}/daily/2026-12-01", format="docx")["details"][0]["field"] == "query.format"
    assert invalid(f"{REPORTS}/daily/2026-12-01", language="fr")["details"][0]["field"] == "query.language"


def test_who_may_read_reports_and_manage_subscriptions(app, home_settings, rendered, manager):
    url = f"{REPORTS}/weekly/2026-W48"
    r = app.get(url)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = app.get(url, headers=bearer(home_settings, "front_desk"))
    assert r.status_code == 403
    assert "needs the 'reports:read' permission" in r.json()["message"]
    for role in ("manager", "revenue_manager", "operations", "admin"):
        assert app.get(url, headers=bearer(home_settings, role)).status_code == 200, role
    # subscriptions: the manager (and admin) choose who receives the reports
    body = {"email": "auth-check@example.com", "properties": [GROUP], "kinds": ["daily"]}
    for role in ("revenue_manager", "operations", "front_desk"):
        r = app.post(SUBSCRIPTIONS, json=body, headers=bearer(home_settings, role))
        assert r.status_code == 403 and "'reports:write'" in r.json()["message"], role
        assert app.get(SUBSCRIPTIONS, headers=bearer(home_settings, role)).status_code == 403
    assert app.post(SUBSCRIPTIONS, json=body).status_code == 401
    assert app.post(SUBSCRIPTIONS, json=body, headers=manager).status_code == 201


def test_a_subscription_round_trip_one_per_address(app, home_settings, manager, hotel):
    code, name = hotel
    r = app.post(SUBSCRIPTIONS, headers=manager, json={
        "email": "GM@Example.com", "properties": [name, GROUP], "kinds": ["weekly", "daily"],
        "language": "vi"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["email"], made["properties"], made["kinds"], made["language"], made["created_by"]) == (
        "gm@example.com", [code, GROUP], ["daily", "weekly"], "vi", "tester")
    sid = made["subscription_id"]
    assert services(app).subscriptions.recipients("weekly", code)[0].subscription_id == sid

    # the same address again: the same subscription, receiving what it says now
    r = app.post(SUBSCRIPTIONS, headers=manager, json={
        "email": "gm@example.com", "properties": [code.lower()], "kinds": ["monthly"]})
    assert r.status_code == 200, r.text
    assert r.json() == {**made, "properties": [code], "kinds": ["monthly"], "language": "en"}
    assert services(app).subscriptions.recipients("weekly", code) == []
    assert app.get(f"{SUBSCRIPTIONS}/{sid}", headers=manager).json() == r.json()
    r = app.get(SUBSCRIPTIONS, params={"email": "GM@EXAMPLE.COM"}, headers=manager)
    assert r.status_code == 200 and r.json() == {"subscriptions": [app.get(
        f"{SUBSCRIPTIONS}/{sid}", headers=manager).json()], "count": 1}
    assert sid in {s["subscription_id"] for s in app.get(SUBSCRIPTIONS, headers=manager).json()["subscriptions"]}

    # properties the group does not have: refused, naming the known ones
    r = app.post(SUBSCRIPTIONS, headers=manager, json={
        "email": "gm@example.com", "properties": [GROUP, "XX", "Nowhere Inn"], "kinds": ["daily"]})
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith("unknown property code(s) 'XX', 'Nowhere Inn': use 'group'")
    assert f"{code} ({name})" in r.json()["message"]
    assert [d["field"] for d in r.json()["details"]] == ["body.properties.1", "body.properties.2"]
    for bad in ({"email": "not an address", "properties": [GROUP], "kinds": ["daily"]},
                {"email": "gm@example.com", "properties": [], "kinds": ["daily"]},
                {"email": "gm@example.com", "properties": [GROUP], "kinds": ["hourly"]},
                {"email": "gm@example.com", "properties": [GROUP], "kinds": ["daily"], "language": "fr"},
                {"email": "gm@example.com", "properties": [GROUP], "kinds": ["daily"], "extra": 1}):
        r = app.post(SUBSCRIPTIONS, headers=manager, json=bad)
        assert r.status_code == 422 and r.json()["error"] == "invalid_request", (bad, r.text)
    assert app.get(f"{SUBSCRIPTIONS}/{sid}", headers=manager).json()["kinds"] == ["monthly"]  # untouched

    # unsubscribed: gone; a second time, and unknown ids, 404
    r = app.delete(f"{SUBSCRIPTIONS}/{sid}", headers=manager)
    assert r.status_code == 204 and r.content == b""
    for method in ("GET", "DELETE"):
        r = app.request(method, f"{SUBSCRIPTIONS}/{sid}", headers=manager)
        assert r.status_code == 404, r.text
        assert r.json()["message"] == NO_SUBSCRIPTION.format(subscription_id=sid)
    assert app.get(SUBSCRIPTIONS, params={"email": "gm@example.com"}, headers=manager).json() == {
        "subscriptions": [], "count": 0}
    r = app.get(f"{SUBSCRIPTIONS}/not-an-id", headers=manager)
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "path.subscription_id"
