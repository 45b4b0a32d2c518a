"""GET /api/v1/cv/health: which vision models are loaded, and why any is not."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from serving.deps import VisionDep
from serving.schemas.cv_schemas import CvHealth

router = APIRouter(tags=["health"])


@router.get("/health", response_model=CvHealth,
            responses={503: {"model": CvHealth, "description": "A vision model is not loaded: "
                                                               "each says why."}},
            summary="Which vision models are loaded, and why any is not (no auth)")
def health(vision: VisionDep) -> CvHealth | JSONResponse:
    models = vision.status()
    ok = all(m["status"] == "loaded" for m in models.values())
    body = CvHealth(status="ok" if ok else "degraded", models=models)
    if ok:
        return body
    return JSONResponse(body.model_dump(), status.HTTP_503_SERVICE_UNAVAILABLE)
