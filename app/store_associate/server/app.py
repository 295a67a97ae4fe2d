"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings, get_settings
from ..domain.permissions import Permission
from .access import KnownKeys
from .api import auth, catalog, devices, health, locations, orders, sync, transfers
from .api.errors import ERROR_STATUSES
from .api.schemas import ErrorOut
from .crud import StoreDirectory
from .db import make_engine, upgrade
from .intake import IntakeQueue
from .middleware import LimitsAndHeaders
from .notify import Sender
from .order_clock import OrderClock
from .pokes import Poker

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
    app.state.order_clock = OrderClock(
        engine,
        timedelta(hours=settings.pickup_reminder_hours),
        settings.order_clock_seconds,
        on_poke=app.state.poker.poke,
        on_done=app.state.sender.wake if app.state.sender else None,
    )
    app.state.order_clock.start()
    app.state.intake = IntakeQueue(engine, on_commit=lambda stores: [app.state.poker.poke(s) for s in stores])

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
