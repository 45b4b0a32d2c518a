"""The Innsight API (`uvicorn serving.app:app`)."""

from __future__ import annotations

from fastapi import FastAPI

from serving import health


def create_app() -> FastAPI:
    app = FastAPI(title="Innsight API", version="0.1.0",
                  description="Pricing, cancellation risk, guest value, forecasts, "
                              "recommendations, vision and the staff assistant.")
    app.include_router(health.router)
    return app


app = create_app()
