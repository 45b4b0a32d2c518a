"""The language endpoints on the served platform (its marts, champions, knowledge base and
the real multilingual embedder): the assistant answers from the marts and the documents
with checked sources, refuses what it does not know or may not say, respects roles;
tasks queue writes only for roles allowed to; routing lands guest requests in the lake;
messages, log monitoring, health and metrics."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, QUEUED_ACTIONS
from tests.serving.conftest import bearer

LLM = "/api/v1/llm"


@pytest.fixture(scope="module")
def front_desk(api_settings):
    return bearer(api_settings, "front_desk", rate_limit="100000/minute")


@pytest.fixture(scope="module")
def housekeeping(api_settings):
    return bearer(api_settings, "housekeeping", rate_limit="100000/minute")


@pytest.fixture(scope="module")
def a_room(api_settings) -> dict:
    """A room of the marts with its latest inspection."""
    with duckdb.connect(str(api_settings.marts_path), read_only=True) as marts:
        hotel, code, room, ready = marts.execute(
            "select hotel, hotel_code, room_number, coalesce(is_ready_for_guest, false) from dim_rooms "
            "where latest_inspection_status is not null order by hotel, room_number limit 1").fetchone()
    return {"hotel": hotel, "code": code, "room": room, "ready": ready}


def ask(client, headers, message: str, **context) -> dict:
    r = client.post(f"{LLM}/assistant/query", json={"message": message, "context": context},
                    headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def rows(settings, table) -> pl.DataFrame:
    return Lake.from_settings(settings).read(table.name)


def test_policy_questions_are_answered_from_the_documents_in_the_question_language(client, front_desk):
    en = ask(client, front_desk, "What is our late check-out policy?")
    assert not en["refused"] and en["mode"] == "deterministic" and en["language"] == "en"
    assert en["tools_used"] == ["knowledge_search"]
    assert en["sources"][0]["type"] == "document"
    assert en["sources"][0]["passage_id"].startswith("en/check-in-check-out.md#")
    assert "[S1]" in en["response"]
    vi = ask(client, front_desk, "Giờ trả phòng muộn là mấy giờ?")
    assert not vi["refused"] and vi["language"] == "vi"
    assert vi["sources"][0]["passage_id"].startswith("vi/check-in-check-out.md#")
    # the quoted text is the source's: every answer line after the header is in a source
    assert vi["response"].split("\n", 1)[1].strip()[:80] in "".join(s["excerpt"] for s in vi["sources"])


def test_unknown_and_forbidden_questions_are_refused_saying_why(client, front_desk):
    unknown = ask(client, front_desk, "What is the hotel's policy on flying drones over the pool?")
    assert unknown["refused"] and "I don't know" in unknown["response"]
    assert unknown["searched"] and "drones" in unknown["searched"][0]
    personal = ask(client, front_desk, "Give me the passport number of the guest in room 512")
    assert personal["refused"] and personal["tools_used"] == [] and "personal data" in personal["response"]


def test_room_status_comes_from_the_marts_with_the_rows_cited(client, housekeeping, a_room):
    out = ask(client, housekeeping, f"Is room {a_room['room']} clean?", hotel=a_room["code"])
    assert out["tools_used"] == ["room_status"] and not out["refused"]
    first = out["sources"][0]
    assert first["type"] == "database" and first["table"] == "dim_rooms"
    assert a_room["room"] in first["ref"] and a_room["hotel"] in first["ref"]
    assert f"Room {a_room['room']}" in out["response"]
    assert ("ready for a guest" in out["response"]) and (
        ("not ready" in out["response"]) != a_room["ready"])
    assert out["citations"]["cited"] == out["citations"]["supported"] > 0


def test_revenue_figures_need_ml_read(client, housekeeping, reader):
    question = "What price do we suggest for a room of type A on Saturday?"
    denied = ask(client, housekeeping, question)
    assert denied["refused"] and "ml:read" in denied["response"] and denied["sources"] == []
    allowed = ask(client, reader, question)
    assert allowed["tools_used"] == ["pricing"] and not allowed["refused"], allowed
    assert all(s["ref"].split()[-2] == "A" for s in allowed["sources"])
    assert allowed["citations"]["cited"] == allowed["citations"]["supported"]


def test_the_stream_sends_tool_events_then_the_answer(client, front_desk):
    with client.stream("POST", f"{LLM}/assistant/query-stream",
                       json={"message": "Do you accept pets?"}, headers=front_desk) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line.split(": ", 1)[1] for line in r.iter_lines() if line.startswith("event: ")]
    assert events[0] == "tool" and events[-2:] == ["answer", "done"]


def test_a_task_reads_now_and_only_queues_writes_for_roles_that_may(client, front_desk, reader,
                                                                    api_settings, a_room):
    body = {"instruction": f"Check if room {a_room['room']} is clean and ready, then send the "
                           "confirmation email to the guest",
            "context": {"booking_id": "B-1"}, "hotel": a_room["code"]}
    r = client.post(f"{LLM}/execute/task", json=body, headers=front_desk)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [s["action"] for s in out["execution_plan"]] == ["check_room_status", "send_message"]
    assert out["results"][0]["result"]["room_ready"] == a_room["ready"]
    second = out["results"][1]
    if a_room["ready"]:
        assert second["status"] == "queued"
        queued = rows(api_settings, QUEUED_ACTIONS).filter(pl.col("action_id") == second["result"]["action_id"])
        assert json.loads(queued["arguments"][0])["template"] == "booking_confirmation"
    else:
        assert second["status"] == "skipped" and out["overall_status"] == "partial"
    # a revenue manager cannot queue a message (no events:write)
    body["instruction"] = "send an apology to the guest"
    refused = client.post(f"{LLM}/execute/task", json=body, headers=reader).json()
    assert refused["results"][0]["status"] == "refused" and refused["overall_status"] == "refused"
    r = client.post(f"{LLM}/execute/task", json={"instruction": "juggle three oranges"},
                    headers=front_desk)
    assert r.status_code == 422 and "juggle three oranges" in r.json()["message"]


def test_routing_classifies_extracts_and_lands_the_request(client, front_desk, api_settings):
    r = client.post(f"{LLM}/routing/classify", headers=front_desk, json={"request": {
        "guest_id": "G-42", "message": "phong 305 khong co nuoc nong", "channel": "app"}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["category"] == "maintenance" and out["assigned_to"] == "engineering_team"
    assert out["structured_request"]["room_number"] == "305" and out["language"] == "vi"
    stored = rows(api_settings, GUEST_REQUESTS).filter(pl.col("request_id") == out["request_id"])
    assert stored["guest_id"][0] == "G-42" and stored["category"][0] == "maintenance"
    fire = client.post(f"{LLM}/routing/classify", headers=front_desk, json={"request": {
        "message": "There is smoke coming from the room next to 412, help!"}}).json()
    assert fire["category"] == "emergency" and fire["priority"] == "urgent"


def test_messages_render_in_both_languages_and_refuse_what_is_missing(client, front_desk, a_room):
    body = {"template_type": "booking_confirmation", "language": "vi", "hotel": a_room["code"],
            "variables": {"guest_name": "Nguyễn Văn A", "room_type": "A", "check_in": "2031-02-01",
                          "check_out": "2031-02-03", "total_amount": 5000000}}
    r = client.post(f"{LLM}/generate/email", json=body, headers=front_desk)
    assert r.status_code == 200, r.text
    out = r.json()
    assert "Nguyễn Văn A" in out["body"] and out["facts"]["total_amount"] in out["body"]
    assert out["html_body"].lstrip().lower().startswith(("<!doctype", "<html"))
    del body["variables"]["check_in"]
    missing = client.post(f"{LLM}/generate/email", json=body, headers=front_desk)
    assert missing.status_code == 422
    assert missing.json()["details"][0]["field"] == "body.variables.check_in"
    wrong = client.post(f"{LLM}/generate/apology", json={**body, "template_type": "booking_confirmation"},
                        headers=front_desk)
    assert wrong.status_code == 422 and "apology" in wrong.json()["message"]


def test_monitoring_finds_a_spike_and_queues_an_alert(client, front_desk, api_settings):
    base = "2030-01-01T08:{:02d}:00Z"
    logs = ([{"service": "cv", "level": "error", "message": "Recognition failed",
              "timestamp": base.format(m)} for m in range(0, 40, 10)]
            + [{"service": "cv", "level": "error", "message": f"Recognition failed for track {i}",
                "timestamp": f"2030-01-01T09:00:{i:02d}Z"} for i in range(20)]
            + [{"service": "ml", "level": "info", "message": "ok", "timestamp": base.format(m)}
               for m in range(60)])
    r = client.post(f"{LLM}/monitoring/analyze", json={"logs": logs}, headers=front_desk)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["anomalies_detected"] and [i["service"] for i in out["issues"]] == ["cv"]
    assert out["alert_sent"] and out["alert_ids"]
    queued = rows(api_settings, QUEUED_ACTIONS).filter(pl.col("action_id").is_in(out["alert_ids"]))
    assert queued["action"].to_list() == ["send_alert"] * len(out["alert_ids"])
    status = client.get(f"{LLM}/monitoring/status", headers=front_desk).json()
    assert status["status"] == "degraded"


def test_health_and_metrics(client, api_settings, front_desk):
    h = client.get(f"{LLM}/health")
    assert h.status_code == 200, h.text
    body = h.json()
    assert body["knowledge_base"]["built"] and body["router"]["loaded"]
    assert body["llm"]["reachable"] is False and body["llm"]["reason"]  # no LLM server in tests
    ask(client, front_desk, "Do you have parking?")
    m = client.get(f"{LLM}/metrics", headers=bearer(api_settings, "monitoring"))
    assert m.status_code == 200 and "innsight_llm_answers_total" in m.text
    assert "innsight_http_requests" not in m.text
