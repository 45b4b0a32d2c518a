"""The OpenAPI page's examples are true on the platform that serves them: every request
example, sent as it is, answers with the route's success; every documented error example
is what the route answers with that status (its code, and a message of the same
template), triggered for real on each route."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from base.settings import Settings
from serving.core.auth import issue_token
from serving.core.error_docs import TEMPLATE_NOTE
from serving.core.errors import Message
from tests.conftest import free_port
from tests.serving.conftest import bearer

ML = "/api/v1/ml"
CV = "/api/v1/cv"
OPS = "/api/v1/ops"
REPORTS = "/api/v1/reports"
WORKFLOWS = "/api/v1/workflows"
JSON = "application/json"
UNKNOWN = "XX-0000"
UNKNOWN_MESSAGE = "0" * 32  # an outbox message id nothing has
UNKNOWN_TRIGGER = "trigger-" + "0" * 32  # a workflow trigger nothing has (a 404 without Dagster)
# The route's valid request -> one that answers 404 (an id nothing has), per route with a 404.
NOT_FOUND = {
    ("POST", f"{ML}/churn/predict"): lambda ok: {**ok, "json": {"booking_id": UNKNOWN}},
    ("POST", f"{ML}/clv/predict"): lambda ok: {**ok, "json": {"guest_id": UNKNOWN}},
    ("POST", f"{ML}/recommend/services"): lambda ok: {**ok, "json": {"guest_id": UNKNOWN}},
    ("POST", f"{ML}/recommend/rooms"): lambda ok: {**ok, "json": {**ok["json"], "guest_id": UNKNOWN}},
    ("GET", f"{ML}/pricing/current/{{room_type}}"): lambda ok: {**ok, "path": {"room_type": "XX"}},
    ("GET", f"{CV}/face/embedding/{{employee_id}}"): lambda ok: {**ok, "path": {"employee_id": UNKNOWN}},
    ("DELETE", f"{CV}/face/{{employee_id}}"): lambda ok: {**ok, "path": {"employee_id": UNKNOWN}},
    ("GET", f"{OPS}/tasks/{{task_id}}"): lambda ok: {**ok, "path": {"task_id": UNKNOWN}},
    ("PATCH", f"{OPS}/tasks/{{task_id}}"): lambda ok: {**ok, "path": {"task_id": UNKNOWN}},
    **{(method, f"{OPS}/notifications/{{message_id}}{action}"): lambda ok: {
        **ok, "path": {"message_id": UNKNOWN_MESSAGE}}
       for method, action in (("GET", ""), ("POST", "/resend"), ("POST", "/ack"))},
    **{(method, f"{WORKFLOWS}/{action}/{{run_id}}"): lambda ok: {**ok, "path": {"run_id": UNKNOWN_TRIGGER}}
       for method, action in (("GET", "status"), ("POST", "cancel"))},
    ("GET", f"{REPORTS}/{{kind}}/{{period}}"): lambda ok: ok,  # nothing renders PATH_DEFAULTS' day
    **{(method, f"{REPORTS}/subscriptions/{{subscription_id}}"): lambda ok: {
        **ok, "path": {"subscription_id": UNKNOWN_MESSAGE}} for method in ("GET", "DELETE")},
}
# Invalid path parameters (a body that is not an object is invalid on every POST).
INVALID_PATH = {"room_type": "ROOM-TYPE-X", "model_name": "not-a-model",
                "employee_id": "not an id!", "task_id": "not an id!", "message_id": "not an id!",
                "guest_id": "not an id!", "run_id": "not an id!",
                "schedule_name": "not a name!", "sensor_name": "not a name!",
                "kind": "hourly", "period": "yesterday", "subscription_id": "not an id!"}
# Path parameters with no example (a real one would change the platform's data): a value
# that passes validation.
PATH_DEFAULTS = {"model_name": "cancellation", "message_id": UNKNOWN_MESSAGE, "kind": "daily",
                 "period": "2000-01-01", "subscription_id": UNKNOWN_MESSAGE}
# Invalid query parameters, for the routes with neither a body nor a path parameter.
INVALID_QUERY = {f"{OPS}/tasks": {"limit": 0}, f"{OPS}/notifications": {"limit": 0},
                 f"{OPS}/logs": {"limit": 0}, f"{WORKFLOWS}/list": {"limit": 0},
                 REPORTS: {"kind": "hourly"}, f"{REPORTS}/subscriptions": {"email": "not an address"}}
# The workflow routes call Dagster, which does not run beside these tests (their 503 is
# checked here): their request examples, and the 404 of a schedule or sensor nothing has, are
# sent to a real Dagster webserver in test_workflow_api.py.
DAGSTER_ROUTES = f"{WORKFLOWS}/"
# Blanks of a message that the route fixes: its example must show the route's own.
FIXED_BY_ROUTE = {"permission", "model", "job"}
# What a second event with the first one's id changes (a 409).
CHANGED = {"attendance": {"action": "check_out"}, "room_status": {"new_status": "dirty"},
           "booking": {"stays_in_week_nights": 4}}


def operations(spec: dict):
    """(method, path, operation) of every route of the schema."""
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            yield method.upper(), path, op


def request_examples(op: dict) -> list[dict]:
    """The operation's request examples, as keyword arguments of a request: its body
    examples (with the path parameters' examples), or its parameters' examples alone."""
    path = {p["name"]: next(iter(p["examples"].values()))["value"]
            for p in op.get("parameters", []) if p["in"] == "path" and "examples" in p}
    body = op.get("requestBody", {}).get("content", {}).get(JSON, {}).get("examples", {})
    if body:
        return [{"path": path, "json": e["value"]} for e in body.values()]
    return [{"path": path}] if path else []


def send(client: TestClient, method: str, path: str, headers: dict, path_values=None, json=None,
         params=None):
    url = re.sub(r"\{(\w+)\}", lambda m: str((path_values or {})[m.group(1)]), path)
    return client.request(method, url, headers=headers, params=params,
                          **({} if json is None else {"json": json}))


def successes(op: dict) -> set[int]:
    """The route's success statuses (subscribing answers 201 for a new address, 200 for one
    subscribed already)."""
    return {int(s) for s in op["responses"] if s.startswith("2")}


@pytest.fixture(scope="module")
def spec(client) -> dict:
    return client.get("/openapi.json").json()


@pytest.fixture(scope="module")
def admin(api_settings) -> dict[str, str]:
    return bearer(api_settings, "admin", rate_limit="100000/minute")


# -- requests ----------------------------------------------------------------------------------


def test_every_request_example_answers_with_success(client, spec, admin):
    sent, problems = 0, []
    for method, path, op in operations(spec):
        if "requestBody" in op:  # every body offers examples in the request box
            assert op["requestBody"]["content"][JSON].get("examples"), (method, path)
        if path.startswith(DAGSTER_ROUTES):
            continue  # sent to a real Dagster in test_workflow_api.py
        for example in request_examples(op):
            assert "<" not in str(example), (method, path, example)  # data, no placeholder
            r = send(client, method, path, admin, example["path"], example.get("json"))
            sent += 1
            if r.status_code not in successes(op):
                problems.append(f"{method} {path} {example}: {r.status_code} {r.text[:400]}")
    assert not problems, "\n".join(problems)
    assert sent >= 15  # churn 2, clv, optimize, forecasts 3 x 2, services 2, rooms 2, events 3, current


def test_request_bodies_carry_no_examples_of_their_own(spec):
    """The request box offers the examples that answer; no model example beside them
    (those were made up, and named properties and days of no platform)."""
    schemas = spec["components"]["schemas"]
    for method, path, op in operations(spec):
        ref = op.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema", {}).get("$ref")
        if ref:
            assert "examples" not in schemas[ref.rsplit("/", 1)[-1]], (method, path)
    assert "examples" not in schemas["ErrorResponse"]  # each status shows its own


def test_response_examples_show_the_served_data(spec, api_settings):
    """The answers' examples name the hotel, room type, booking and guest of the requests'
    (no placeholder left, no made-up property)."""
    import json

    from lake.properties import PropertyMaster

    hotels = {h.name for h in PropertyMaster.load(api_settings.properties_file).hotels}
    examples = {name: schema["examples"] for name, schema in spec["components"]["schemas"].items()
                if "examples" in schema}
    assert {"ChurnResponse", "CurrentPriceResponse", "RoomsResponse"} <= set(examples)
    for name, values in examples.items():
        assert "<" not in json.dumps(values), (name, values)
        shown = set(re.findall(r'"hotel": "([^"]+)"', json.dumps(values)))
        assert shown <= hotels, (name, shown)


def test_the_examples_are_placeholders_until_there_is_data(settings, monkeypatch):
    """A platform not built yet shows placeholders, and the data is looked at again on the
    next ask (a schema made of data is kept until the marts file changes)."""
    import serving.app

    looked, read = [], serving.app.read_sample
    monkeypatch.setattr(serving.app, "read_sample", lambda *a: looked.append(1) or read(*a))
    client = TestClient(serving.app.create_app(settings))
    for _ in range(2):
        body = client.get("/openapi.json").json()["paths"][f"{ML}/clv/predict"]["post"]["requestBody"]
        assert body["content"][JSON]["examples"]["known guest"]["value"] == {"guest_id": "<guest id>"}
    assert len(looked) == 2


def test_a_schema_made_of_data_is_kept_until_the_marts_file_changes(client, spec, api_settings):
    import os

    app = client.app
    kept = app.openapi()
    assert app.openapi() is kept  # not made again on each ask
    stat = api_settings.marts_path.stat()
    os.utime(api_settings.marts_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # "rebuilt"
    again = app.openapi()
    assert again is not kept and again["paths"] == kept["paths"]  # made again, of the same data


# -- errors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    """The app on a home with nothing built or installed (no model, store, schedule,
    Dagster, face pack or CLIP checkpoint): its 503s."""
    from serving.app import create_app

    home = tmp_path_factory.mktemp("empty")
    settings = Settings(home=home / "home", dagster_port=free_port(),
                        face_model_pack="not-installed", clip_checkpoint=home / "no-clip.pt",
                        champion_poll_seconds=3600, predictions_flush_seconds=3600)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c, bearer(settings, "admin")


def documented_errors(op: dict) -> dict[int, list[dict]]:
    """Status -> its example objects."""
    return {int(status): list(r["content"][JSON]["examples"].values())
            for status, r in op["responses"].items()
            if status[0] in "45" and "examples" in r.get("content", {}).get(JSON, {})}


def template(example: dict) -> Message:
    assert example["description"].startswith(TEMPLATE_NOTE), example
    return Message(example["description"][len(TEMPLATE_NOTE):])


def path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def valid_request(op: dict, path: str) -> dict:
    """The route's first request example (retrain has none: a model's name)."""
    first = (request_examples(op) or [{"path": {}}])[0]
    return {"path": {**PATH_DEFAULTS, **first["path"]}, "json": first.get("json")}


def invalid_request(op: dict, path: str) -> dict:
    """A request that fails validation: a body that is not an object, or else path
    parameters out of their range."""
    if "requestBody" in op:
        return {**valid_request(op, path), "json": []}
    if not path_names(path):
        return {"path": {}, "json": None, "params": INVALID_QUERY[path]}
    return {"path": {name: INVALID_PATH[name] for name in path_names(path)}, "json": None}


def trigger(status: int, method: str, path: str, op: dict, client, settings, empty):
    """A real request that answers ``status`` on the route."""
    ok, admin = valid_request(op, path), bearer(settings, "admin")

    def call(request: dict, headers: dict, app=client):
        return send(app, method, path, headers, request["path"], request["json"],
                    request.get("params"))

    if status == 401:
        return call(ok, {})
    if status == 403:
        return call(ok, bearer(settings))  # a token without roles
    if status == 422:
        return call(invalid_request(op, path), admin)
    if status == 429:
        once = {"Authorization": "Bearer " + issue_token(f"limited-{uuid.uuid4().hex[:8]}", ["admin"],
                                                         settings=settings, rate_limit="1/hour")}
        # counted before the request is validated: the first answers 422 (or succeeds)
        first = invalid_request(op, path) if "422" in op["responses"] else ok
        call(first, once)
        return call(first, once)
    if status == 404:
        return call(NOT_FOUND[(method, path)](ok), admin)
    if status == 409 and path.startswith(OPS):
        return conflict(method, path, client, settings, lambda request: call(request, admin))
    if status == 409:
        kind = path.rsplit("/", 1)[-1]
        event = {**ok["json"], "event_id": f"conflict-{uuid.uuid4().hex[:12]}"}
        assert call({"path": {}, "json": event}, admin).status_code == 202
        return call({"path": {}, "json": {**event, **CHANGED[kind]}}, admin)
    if status == 503:
        app, empty_admin = empty
        return call(ok, empty_admin, app)
    raise AssertionError(f"no way to trigger a {status} on {method} {path}: add one")


def conflict(method: str, path: str, client, settings, call):
    """The 409 of an operations route: a closed task changed, a message resent while a
    sender holds it."""
    from operations.outbox import Message
    from tests.serving.conftest import held_by_a_sender, open_a_task, services

    s = services(client)
    if (method, path) == ("PATCH", f"{OPS}/tasks/{{task_id}}"):
        task_id = open_a_task(settings, f"conflict-{uuid.uuid4().hex[:12]}")
        assert call({"path": {"task_id": task_id}, "json": {"status": "cancelled"}}).status_code == 200
        return call({"path": {"task_id": task_id}, "json": {"status": "open"}})
    if (method, path) == ("POST", f"{OPS}/notifications/{{message_id}}/resend"):
        [m] = s.outbox.enqueue([Message(f"conflict:{uuid.uuid4().hex}", "test", "operations", "s", "b")])
        with held_by_a_sender(s.outbox, m.message_id):
            return call({"path": {"message_id": m.message_id}, "json": None})
    raise AssertionError(f"no way to trigger a 409 on {method} {path}: add one")


def test_every_error_example_is_what_the_route_answers(client, spec, api_settings, empty):
    checked, problems = 0, []
    for method, path, op in operations(spec):
        for status, examples in documented_errors(op).items():
            where = f"{method} {path} -> {status}"
            if status == 404 and path.startswith(DAGSTER_ROUTES) and (method, path) not in NOT_FOUND:
                continue  # a schedule or sensor nothing has: Dagster says (test_workflow_api.py)
            codes = {e["value"]["error"] for e in examples}
            for e in examples:  # an example is an instance of its own template
                if not template(e).pattern().fullmatch(e["value"]["message"]):
                    problems.append(f"{where}: example {e['value']['message']!r} is not of its template")
            r = trigger(status, method, path, op, client, api_settings, empty)
            checked += 1
            if r.status_code != status:
                problems.append(f"{where}: answered {r.status_code} {r.text[:300]}")
                continue
            body = r.json()
            if {body["error"]} != codes:
                problems.append(f"{where}: error {body['error']!r}, documented {codes}")
            same = [e for e in examples if template(e).pattern().fullmatch(body["message"])]
            if not same:
                problems.append(f"{where}: {body['message']!r} matches none of "
                                f"{[template(e) for e in examples]}")
            for e in same:  # and names what the route names: its permission, its model
                real = template(e).pattern().fullmatch(body["message"]).groupdict()
                shown = template(e).pattern().fullmatch(e["value"]["message"]).groupdict()
                for blank in FIXED_BY_ROUTE & set(real):
                    if real[blank] != shown[blank]:
                        problems.append(f"{where}: {blank} {real[blank]!r}, documented {shown[blank]!r}")
            if status == 422 and not body["details"]:
                problems.append(f"{where}: no details")
    assert not problems, "\n".join(problems)
    assert checked >= 14 * 4  # 14 protected routes: 401, 403, 429 and a route's own
