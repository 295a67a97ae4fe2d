from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..db import ping
from .schemas.health import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Liveness and database reachability",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database cannot be reached"}},
    openapi_extra={"x-permission": "public"},
)
def health(request: Request) -> JSONResponse:
    try:
        db_ok = ping(request.app.state.engine)
    except Exception:  # noqa: BLE001 - any database failure means "not healthy", reported as such
        db_ok = False
    body = {"status": "ok" if db_ok else "degraded", "database": "ok" if db_ok else "unreachable"}
    return JSONResponse(body, status_code=200 if db_ok else 503)
