"""One error shape for every 4xx / 5xx, with a message that says what to fix.

``{"error": "not_found", "message": "...", "correlation_id": "...", "details": [...]}``

A message is written once, as a ``Message`` template next to the code that raises it;
the OpenAPI page documents each route's errors with examples made from the same templates
(``serving.core.error_docs``), so an example cannot say what the code does not.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from base.logging import correlation_id

log = logging.getLogger("innsight.serving")

# The correlation id of the documented examples (a real one is a fresh uuid4 hex).
EXAMPLE_CORRELATION_ID = "3f2c9e0a8b7d4c1e9f6a5b4c3d2e1f00"


class Message(str):
    """A message template with named blanks (``"booking '{booking_id}' is not ..."``): the
    code that raises an error fills it with ``.format(...)``, its documented example with
    example values, and ``pattern()`` matches every message made from it (a group per
    blank)."""

    def pattern(self) -> re.Pattern:
        parts, seen = re.split(r"\{(\w+)\}", str(self)), set()
        regex = re.escape(parts[0])
        for name, text in zip(parts[1::2], parts[2::2]):
            regex += f"(?P={name})" if name in seen else f"(?P<{name}>.+)"
            regex += re.escape(text)
            seen.add(name)
        return re.compile(regex, re.DOTALL)


class ErrorDetail(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `body.features.lead_time`.")
    problem: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    """The body of every error; each status of each route documents its own example."""

    error: str = Field(description="A stable code: invalid_request, unauthorized, forbidden, "
                                   "not_found, rate_limited, unavailable, internal_error, ...")
    message: str = Field(description="What went wrong and what to do about it.")
    correlation_id: str | None = Field(None, description="Quote it when reporting a problem.")
    details: list[ErrorDetail] = Field(default_factory=list)


class ApiError(Exception):
    """An answer other than success; subclasses fix the status and the code."""

    status_code = 400
    error = "bad_request"
    headers: dict[str, str] = {}

    def __init__(self, message: str, details: list[ErrorDetail] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = {**type(self).headers, **(headers or {})}


class NotFound(ApiError):
    status_code = 404
    error = "not_found"


class Unavailable(ApiError):
    """A model, store or server this answer needs is not there; says which and why."""

    status_code = 503
    error = "unavailable"
    headers = {"Retry-After": "30"}


class InvalidRequest(ApiError):
    status_code = 422
    error = "invalid_request"


class RateLimited(ApiError):
    status_code = 429
    error = "rate_limited"


DESCRIPTIONS = {
    401: "No credentials, or they are invalid or expired.",
    403: "The credentials lack the permission this endpoint needs.",
    404: "The guest, booking, room type or model is unknown.",
    409: "This event_id was already used for an event with other content.",
    422: "The request is malformed: `details` names each field and what is wrong.",
    429: "Rate limit exceeded: retry after `Retry-After` seconds.",
    503: "A model or store this answer needs is unavailable: the message says which and why.",
}

INVALID = Message("invalid request: {problems}")
# the reason a model loading in the background gives meanwhile (its health and its 503s)
NOT_LOADED_YET = "still loading; retry in a few seconds"
MAX_LISTED = 5  # problems named in the message; `details` has them all


def _body(error: str, message: str, details: list[ErrorDetail] | None = None) -> dict:
    return {"error": error, "message": message, "correlation_id": correlation_id.get(),
            "details": [d.model_dump() for d in details or []]}


def _field(loc: Iterable) -> str:
    return ".".join(str(p) for p in loc)


def _problem(err: dict) -> str:
    msg = err.get("msg", "invalid")
    if err.get("type") == "missing":
        return "field required"
    if err.get("type") == "extra_forbidden":
        return "unknown field (not part of this request's schema)"
    if "input" in err and err.get("type") not in ("json_invalid",):
        shown = repr(err["input"])
        return f"{msg} (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    return msg


def validation_problems(errors: Iterable[dict], where: tuple = ()) -> tuple[str, list[ErrorDetail]]:
    """The 422's message and details for pydantic's errors (``where``: the location of the
    validated value, when the errors' own ``loc`` does not start with it)."""
    details = [ErrorDetail(field=_field((*where, *e.get("loc", ()))), problem=_problem(e))
               for e in errors]
    summary = "; ".join(f"{d.field}: {d.problem}" for d in details[:MAX_LISTED])
    more = f" (and {len(details) - MAX_LISTED} more)" if len(details) > MAX_LISTED else ""
    return INVALID.format(problems=summary + more), details


def validation_example(schema: Any, value: Any, where: tuple = ("body",)) -> InvalidRequest:
    """The 422 the API answers when ``value`` (at ``where``) is validated as ``schema`` (a
    model or an annotated type): pydantic's own errors, formatted by the handler's code."""
    try:
        TypeAdapter(schema).validate_python(value)
    except ValidationError as e:
        return InvalidRequest(*validation_problems(e.errors(), where))
    raise ValueError(f"{value!r} is a valid {schema}: no 422 to document")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        if exc.status_code >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.status_code,
                        exc.message)
        return JSONResponse(_body(exc.error, exc.message, exc.details), exc.status_code,
                              headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        message, details = validation_problems(exc.errors())
        return JSONResponse(_body(InvalidRequest.error, message, details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not UTF-8; malformed JSON is already a 422
            detail = ErrorDetail(field="body", problem="not valid JSON (UTF-8)")
            return JSONResponse(_body(InvalidRequest.error, INVALID.format(
                problems=f"{detail.field}: {detail.problem}"), [detail]), 422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = (f"no endpoint {request.method} {request.url.path}: see /docs"
                   if exc.status_code in (404, 405) and exc.detail in ("Not Found", "Method Not Allowed")
                   else str(exc.detail))
        return JSONResponse(_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(_body("internal_error", "an unexpected error; the server log has the "
                                    "details under this correlation id"), 500)
