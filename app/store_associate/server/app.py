"""The FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings
from ..domain.permissions import Permission
from .access import KnownKeys
from .api import auth, balances, catalog, devices, health, locations, orders, returns, sales, sync, transfers
from .api.errors import ERROR_STATUSES
from .api.schemas.errors import ErrorOut
from .crud import StoreDirectory
from .db import make_engine, upgrade
from .demo_feed import DemoFeed
from .intake import IntakeQueue
from .middleware import LimitsAndHeaders
from .notify import Sender
from .order_clock import OrderClock
from .payments import PaymentSender, explain_unconfigured
from .periodic import Periodic
from .pokes import Poker
from .uow import UnitOfWork

log = logging.getLogger("store_associate.server")
JOIN_TIMEOUT_S = 15.0  # a round in progress finishes first (a mail round: one SMTP timeout and some)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The API for these settings. Its background work (mail sender, order clock, poke listener, demo feed)
    runs from the lifespan's start to its end: it is not running while the app is only built."""
    engine = engine or make_engine(settings.database_url)
    upgrade(engine)

    app = FastAPI(
        title="Store Associate API",
        version="0.1.0",
        description="Catalogue, stock across the network, and device sync for the store associate app.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.directory = StoreDirectory()
    app.state.settings = settings
    app.state.poker = Poker()
    app.state.known_keys = KnownKeys()
    app.state.sender = None  # the lifespan's, while it runs and SMTP is configured; routes wake it
    app.state.payment_sender = None  # likewise, while payments are configured: wake it after queuing a refund
    app.state.intake = IntakeQueue(UnitOfWork(engine, settings, app.state.poker))

    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )

    app.add_middleware(LimitsAndHeaders, max_body=settings.max_request_bytes)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()[:5]
        )
        return JSONResponse(
            {
                "detail": {
                    "error": "request.invalid",
                    "message": f"The request is not valid ({problems}). Correct it and send it again.",
                }
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and not isinstance(exc.detail, dict):
            # FastAPI's own 400: a body it could not read (not UTF-8, not JSON). Like any other body that does
            # not fit the schema (its JSON errors included), that is request.invalid.
            return JSONResponse(
                {
                    "detail": {
                        "error": "request.invalid",
                        "message": "The request body could not be read. Send JSON, in UTF-8, as the API describes.",
                    }
                },
                status_code=422,
            )
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"error": f"http.{exc.status_code}", "message": str(exc.detail)}
        )
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {
                "detail": {
                    "error": "server.error",
                    "message": "Something went wrong on the server. Try again; if it keeps happening, "
                    "tell support the time it happened.",
                }
            },
            status_code=500,
        )

    routers = (
        health.router,
        auth.router,
        devices.router,
        catalog.router,
        locations.router,
        orders.router,
        transfers.router,
        sales.router,
        returns.router,
        balances.router,
        sync.router,
    )
    for router in routers:
        app.include_router(router)
    endpoints = {
        (method.lower(), route.path): route.endpoint
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(generate(), endpoints)  # (FastAPI keeps the schema it made: this edits it once)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the app's background work, and stops every part of it when the server shuts down. The jobs are
    made here, not in create_app: a thread starts once, and an app may be served (and shut down) again."""
    settings: Settings = app.state.settings
    engine: Engine = app.state.engine
    poker: Poker = app.state.poker
    sender = Sender(engine, settings) if settings.smtp_host else None
    jobs: list[Periodic] = [] if sender is None else [sender]
    # Card refunds: sent while a URL and secret are set; otherwise they wait in the outbox, and the log says so.
    unconfigured = explain_unconfigured(settings)
    payment_sender = PaymentSender(engine, settings) if unconfigured is None else None
    if payment_sender is None:
        log.warning("%s", unconfigured)
    else:
        jobs.append(payment_sender)
    jobs.append(
        OrderClock(
            UnitOfWork(engine, settings, poker),
            timedelta(hours=settings.pickup_reminder_hours),
            settings.order_clock_seconds,
            on_done=sender.wake if sender else None,
        )
    )
    if settings.demo_store:
        feed = UnitOfWork(engine, settings, poker)
        jobs.append(DemoFeed(feed, _own_url(settings), settings.demo_web_shop_key, settings.demo_store))
    app.state.sender = sender
    app.state.payment_sender = payment_sender
    poker.listen(engine)
    for job in jobs:
        job.start()
    try:
        yield
    finally:
        app.state.sender = None
        app.state.payment_sender = None
        poker.stop()
        for job in jobs:
            job.stop()
        await asyncio.to_thread(_join, jobs, poker)


def _join(jobs: list[Periodic], poker: Poker) -> None:
    for job in jobs:
        if not job.join(JOIN_TIMEOUT_S):
            log.warning("%s: still running %s s after the server stopped", job.name, JOIN_TIMEOUT_S)
    if not poker.join(JOIN_TIMEOUT_S):
        log.warning("poke-listener: still running %s s after the server stopped", JOIN_TIMEOUT_S)


def _own_url(settings: Settings) -> str:
    """Where this server answers on this machine (the demo's shoppers send their orders there)."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0") else settings.host  # noqa: S104 - compared, not bound
    return f"http://{host}:{settings.port}"


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_STATUSES[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


def document_errors(spec: dict[str, Any], endpoints: dict[tuple[str, str], Callable[..., Any]]) -> None:
    """Every operation's error statuses in the OpenAPI, each with the one error shape (ErrorOut).

    The common ones follow from what the route is, so that they cannot be forgotten: its permission (x-permission:
    any but "public" -> 401; a permission checked by require() -> 403), its inputs (any -> 422; a body -> 413,
    from LimitsAndHeaders, and 422), and the look-ups it calls (deps.require_store -> 404,
    deps.require_own_store -> 403). Statuses a route gives for its own reasons are in its decorator
    (errors.responses). FastAPI's HTTPValidationError is not what a 422 here looks like (see validation_error):
    ErrorOut replaces it.
    """
    permissions = {p.value for p in Permission}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            statuses: set[int] = set()
            permission = op.get("x-permission", "public")
            if permission != "public":
                statuses.add(401)
            if permission in permissions:
                statuses.add(403)
            if op.get("parameters"):
                statuses.add(422)
            if op.get("requestBody"):
                statuses |= {413, 422}
            endpoint = endpoints.get((method, path))
            called = set(endpoint.__code__.co_names) if endpoint is not None else set()
            if "require_store" in called:
                statuses.add(404)
            if "require_own_store" in called:
                statuses.add(403)
            responses = op.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), _error_response(status))
            for status, response in responses.items():
                if "HTTPValidationError" in str(response.get("content", "")):
                    responses[status] = _error_response(int(status))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_out = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in {**error_out.pop("$defs", {}), "ErrorOut": error_out}.items():
        schemas.setdefault(name, schema)
