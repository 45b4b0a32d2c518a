"""Liveness, readiness and the health page: what the platform has built and when."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from serving.deps import Marts, SettingsDep
from serving.schemas.health_schemas import Liveness, NotReady, PlatformHealth, Ready

router = APIRouter(tags=["health"])


@router.get("/health", response_model=PlatformHealth,
            summary="Platform health: profile, marts file and its tables")
def health(settings: SettingsDep, marts: Marts) -> PlatformHealth:
    return PlatformHealth(status="ok", profile=settings.profile, marts=marts.status())


@router.get("/health/live", response_model=Liveness, summary="Liveness: the process answers")
async def live() -> Liveness:
    # async: a plain def would hop to a worker thread and back for nothing
    return Liveness(status="alive")


@router.get("/health/ready", response_model=Ready,
            responses={503: {"model": NotReady, "description": "The marts file is not built yet."}},
            summary="Readiness: the marts file is built and readable")
def ready(marts: Marts) -> Ready | JSONResponse:
    built = marts.status()
    if not built["available"]:
        # Its own shape, past the 200's response model.
        return JSONResponse(NotReady(status="not ready", reason=built["reason"]).model_dump(),
                            status.HTTP_503_SERVICE_UNAVAILABLE)
    return Ready(status="ready")
