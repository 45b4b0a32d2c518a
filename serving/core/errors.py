"""One error shape for every 4xx / 5xx, with a message that says what to fix.

``{"error": "not_found", "message": "...", "correlation_id": "...", "details": [...]}``
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from base.logging import correlation_id

log = logging.getLogger("innsight.serving")


class ErrorDetail(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `body.features.lead_time`.")
    problem: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    error: str = Field(description="A stable code: invalid_request, unauthorized, forbidden, "
                                   "not_found, rate_limited, unavailable, internal_error, ...")
    message: str = Field(description="What went wrong and what to do about it.")
    correlation_id: str | None = Field(None, description="Quote it when reporting a problem.")
    details: list[ErrorDetail] = Field(default_factory=list)

    model_config = {"json_schema_extra": {"examples": [{
        "error": "not_found", "message": "booking 'RH-000000' is not in the online feature store",
        "correlation_id": "3f2c9e0a8b7d4c1e9f6a5b4c3d2e1f00", "details": []}]}}


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
    422: "The request is malformed: `details` names each field and what is wrong.",
    429: "Rate limit exceeded: retry after `Retry-After` seconds.",
    503: "A model or store this answer needs is unavailable: the message says which and why.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each error status documented with the error shape."""
    return {code: {"model": ErrorResponse, "description": DESCRIPTIONS[code]} for code in codes}


def _body(error: str, message: str, details: list[ErrorDetail] | None = None) -> dict:
    return {"error": error, "message": message, "correlation_id": correlation_id.get(),
            "details": [d.model_dump() for d in details or []]}


def _field(loc: tuple) -> str:
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
        details = [ErrorDetail(field=_field(e.get("loc", ())), problem=_problem(e))
                   for e in exc.errors()]
        summary = "; ".join(f"{d.field}: {d.problem}" for d in details[:5])
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return JSONResponse(_body("invalid_request", f"invalid request: {summary}{more}", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not UTF-8; malformed JSON is already a 422
            detail = ErrorDetail(field="body", problem="not valid JSON (UTF-8)")
            return JSONResponse(_body("invalid_request", "invalid request: body: not valid JSON (UTF-8)",
                                      [detail]), 422)
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
