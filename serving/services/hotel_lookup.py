"""The group's hotels as the API names them: by code ("RH") or name ("Resort Hotel"),
always through the property master (``PropertyMaster.find``, the one hotel resolver).

Routes get the app's ``PropertyMaster`` as a dependency. Request validators (a hotel field
of a body) cannot take dependencies: ``PropertyScope`` binds the app's property master to
each request it serves, and ``current()`` returns it.
"""

from __future__ import annotations

from contextvars import ContextVar

from lake.properties import Hotel, PropertyMaster
from serving.core.errors import ErrorDetail, InvalidRequest

_current: ContextVar[PropertyMaster | None] = ContextVar("property_master", default=None)


def current() -> PropertyMaster:
    """The property master of the app serving this request."""
    properties = _current.get()
    if properties is None:
        raise RuntimeError("no property master bound: serve the routes from serving.app.create_app")
    return properties


class PropertyScope:
    """Pure ASGI middleware: binds the app's property master while a request is served."""

    def __init__(self, app, properties: PropertyMaster):
        self.app, self.properties = app, properties

    async def __call__(self, scope, receive, send):
        token = _current.set(self.properties)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def resolve_hotel(properties: PropertyMaster, value: str, field: str = "body.hotel") -> Hotel:
    """A hotel by code or name; 422 naming the field and the known hotels otherwise."""
    hotel = properties.find(value)
    if hotel is None:
        known = properties.known()
        raise InvalidRequest(f"unknown hotel '{value}'; known hotels: {known}",
                             [ErrorDetail(field=field, problem=f"unknown hotel; one of {known}")])
    return hotel
