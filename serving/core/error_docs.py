"""The error responses a route documents on the OpenAPI page, each with an example made
the way the code makes the real answer: the exception class it raises (status and code)
and the message template it raises it with (``errors.Message``), filled with example
values. Each example's description gives the template, so a reader (and
tests/serving/test_api_examples.py) can tell the fixed wording from the variable parts.

    responses=error_responses("ml:read", documented(NotFound, BOOKING_NOT_IN_STORE,
                                                    "unknown booking", booking_id="XX-0000"))

A route that needs a permission gets its 401, 403 and 429 from the permission; the other
statuses are the route's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from limits import parse

from base.settings import Settings
from serving.core.auth import (NO_CREDENTIALS, NOT_PERMITTED, ROLES, Forbidden, Principal,
                               Unauthorized, not_permitted, permissions_of)
from serving.core.errors import (DESCRIPTIONS, EXAMPLE_CORRELATION_ID, INVALID, ApiError,
                                 ErrorResponse, Message, RateLimited, validation_example)
from serving.core.rate_limits import OVER_LIMIT

EXAMPLE_SUBJECT = "you"  # `innsight token` names the token after $USER unless --subject
TEMPLATE_NOTE = "The message, with its variable parts in braces: "


@dataclass(frozen=True)
class Documented:
    """One documented error: the exception as the code would raise it, and the template of
    its message."""

    error: ApiError
    template: Message
    summary: str

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI example object: the body the API answers with."""
        e = self.error
        return {"summary": self.summary, "description": TEMPLATE_NOTE + self.template,
                "value": {"error": e.error, "message": e.message,
                          "correlation_id": EXAMPLE_CORRELATION_ID,
                          "details": [d.model_dump() for d in e.details]}}


def documented(error: type[ApiError], template: Message, summary: str, **values: Any) -> Documented:
    """The error the code raises as ``error(template.format(**values))``."""
    return Documented(error(template.format(**values)), template, summary)


def invalid(schema: Any, value: Any, summary: str, where: tuple = ("body",)) -> Documented:
    """The 422 of a request whose ``value`` at ``where`` is not a valid ``schema``."""
    return Documented(validation_example(schema, value, where), INVALID, summary)


def _auth_errors(permission: str) -> list[Documented]:
    """What every route that needs ``permission`` may answer before it runs."""
    role = next(r for r, granted in ROLES.items() if permission not in granted and "admin" not in granted)
    caller = Principal(EXAMPLE_SUBJECT, "token", (role,), permissions_of([role]))
    limit = parse(Settings.model_fields["rate_limit"].default)  # the default limit's wording
    return [Documented(Unauthorized(NO_CREDENTIALS), NO_CREDENTIALS, "No credentials"),
            Documented(Forbidden(not_permitted(permission, caller)), NOT_PERMITTED,
                       f"A {role}'s token, without {permission}"),
            documented(RateLimited, OVER_LIMIT, "Over the rate limit", limit=limit,
                       subject=EXAMPLE_SUBJECT, retry=17)]


def error_responses(permission: str | None, *errors: Documented) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each error status it may answer, with the error shape
    and an example of each of ``errors`` (and of the auth errors, given a ``permission``)."""
    every = [*(_auth_errors(permission) if permission else []), *errors]
    responses: dict[int | str, dict[str, Any]] = {}
    for d in sorted(every, key=lambda d: d.error.status_code):
        status = d.error.status_code
        response = responses.setdefault(status, {
            "model": ErrorResponse, "description": DESCRIPTIONS[status],
            "content": {"application/json": {"examples": {}}}})
        response["content"]["application/json"]["examples"][d.summary] = d.openapi()
    return responses
