"""The FastAPI application."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings, get_settings
from .access import KnownKeys
from .api import auth, catalog, devices, health, locations, orders, sync, transfers
from .crud import StoreDirectory
from .db import make_engine, upgrade
from .intake import IntakeQueue
from .middleware import LimitsAndHeaders
from .notify import Sender
from .order_clock import OrderClock
from .sync import Poker

log = logging.getLogger("store_associate.server")

def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    upgrade(engine)

    app = FastAPI(
        title="Store Associate API",
        version="0.1.0",
        description="Catalogue, stock across the network, and device sync for the store associate app.",
    )
    app.state.engine = engine
    app.state.directory = StoreDirectory()
    app.state.settings = settings
    app.state.poker = Poker()
    app.state.known_keys = KnownKeys()
    app.state.poker.listen(engine)
    app.state.sender = None
    if settings.smtp_host:
        app.state.sender = Sender(engine, settings.smtp_host, settings.smtp_port, settings.mail_from)
        app.state.sender.start()
    app.state.order_clock = OrderClock(engine, timedelta(hours=settings.pickup_reminder_hours),
                                       settings.order_clock_seconds, on_poke=app.state.poker.poke,
                                       on_done=app.state.sender.wake if app.state.sender else None)
    app.state.order_clock.start()
    app.state.intake = IntakeQueue(engine, on_commit=lambda stores: [app.state.poker.poke(s) for s in stores])

    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )

    app.add_middleware(LimitsAndHeaders, max_body=settings.max_request_bytes)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()[:5]
        )
        return JSONResponse(
            {"detail": {"error": "request.invalid",
                        "message": f"The request is not valid ({problems}). Correct it and send it again."}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {"error": f"http.{exc.status_code}",
                                                                   "message": str(exc.detail)}
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"detail": {"error": "server.error",
                        "message": "Something went wrong on the server. Try again; if it keeps happening, "
                                   "tell support the time it happened."}},
            status_code=500,
        )

    for router in (health.router, auth.router, devices.router, catalog.router, locations.router, orders.router,
                   transfers.router, sync.router):
        app.include_router(router)
    return app
