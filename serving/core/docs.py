"""The API's documentation pages (/docs, /redoc) with every script and style served by the
API itself: a hotel's back office is often behind a firewall, and FastAPI's defaults load
Swagger UI and ReDoc from a CDN (a blank page offline). The bundles come from the
fastapi-offline package; the pages are FastAPI's own.

The schema they show (/openapi.json) carries request examples made of the served data
(``serving.schemas.request_examples``): made when the schema is first asked for, and made
again once the data changes (a new marts file), or on each ask while there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles

from serving.schemas.request_examples import BUILDERS, PARAMETERS, Sample, examples_for, filled

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets (create the app with docs_url=None and
    redoc_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} - docs",
            oauth2_redirect_url=redirect, swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css", swagger_favicon_url=f"{ASSETS_URL}/favicon.png")

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(
            openapi_url=app.openapi_url, title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)


def serve_examples(app: FastAPI, sample: Callable[[], Sample], data_version: Callable[[], Any]) -> None:
    """Fill /openapi.json's request examples with ``sample()``'s values, read again when
    ``data_version()`` changes."""
    generate = app.openapi  # FastAPI's: builds the schema once and keeps it
    made_of: Any = object()  # the data version of the schema kept

    def openapi() -> dict[str, Any]:
        nonlocal made_of
        version = data_version()
        if app.openapi_schema is None or made_of != version:
            app.openapi_schema = None
            spec, values = generate(), sample()
            with_examples(spec, values)
            # placeholders (no data yet): a version nothing equals, to look again next time
            made_of = version if values.from_data else object()
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_examples(spec: dict[str, Any], sample: Sample) -> None:
    """Replace the examples of every request body and parameter ``request_examples`` makes
    with those made of ``sample``, and fill the response examples' hotels, ids and days."""
    for schema in spec.get("components", {}).get("schemas", {}).values():
        if "examples" in schema:
            schema["examples"] = filled(schema["examples"], sample)
    for operation in (op for path in spec["paths"].values() for op in path.values()):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        model = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        if model in BUILDERS:
            body["examples"] = examples_for(model, sample)
        for parameter in operation.get("parameters", []):
            if parameter["name"] in PARAMETERS:
                parameter.pop("example", None)
                parameter["examples"] = {"example": {"value": PARAMETERS[parameter["name"]](sample)}}
