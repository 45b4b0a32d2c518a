"""Liveness, readiness and the health page: what the platform has built and when."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
from fastapi import APIRouter, Request, Response, status

from base.settings import Settings

router = APIRouter(tags=["health"])


def marts_status(settings: Settings) -> dict:
    path = settings.marts_path
    if not path.exists():
        return {"available": False, "path": str(path), "reason": "not built yet: run `make up`"}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
    built = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return {"available": True, "path": str(path), "built_at": built.isoformat(),
            "tables": sorted(tables)}


@router.get("/health", summary="Platform health: profile, marts file and its tables")
def health(request: Request) -> dict:
    settings = request.app.state.settings
    return {"status": "ok", "profile": settings.profile, "marts": marts_status(settings)}


@router.get("/health/live", summary="Liveness: the process answers")
def live() -> dict:
    return {"status": "alive"}


@router.get("/health/ready", summary="Readiness: the marts file is built and readable")
def ready(request: Request, response: Response) -> dict:
    marts = marts_status(request.app.state.settings)
    if not marts["available"]:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "not ready", "reason": marts["reason"]}
    return {"status": "ready"}
