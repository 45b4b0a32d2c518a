"""Liveness, readiness and the health page: what the platform has built and when."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from serving.deps import Marts, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Platform health: profile, marts file and its tables")
def health(settings: SettingsDep, marts: Marts) -> dict:
    return {"status": "ok", "profile": settings.profile, "marts": marts.status()}


@router.get("/health/live", summary="Liveness: the process answers")
def live() -> dict:
    return {"status": "alive"}


@router.get("/health/ready", summary="Readiness: the marts file is built and readable")
def ready(marts: Marts, response: Response) -> dict:
    built = marts.status()
    if not built["available"]:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "not ready", "reason": built["reason"]}
    return {"status": "ready"}
