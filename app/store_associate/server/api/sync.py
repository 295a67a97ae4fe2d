"""Sync: push (a device's outbox), pull (the store's changes after a cursor), pokes, device status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import JSON, String, cast, func, select
from sqlmodel import Session

from ...domain.commands import Int64
from ...domain.permissions import Permission
from .. import crud, db
from ..access import Principal, revoked_device
from ..models import Device, DeviceSyncState, MutationLog, QuarantinedPush
from ..orders import orders_json
from ..returns.views import returns_json
from ..sale_views import sales_json
from ..sync import device_clock_offset
from ..sync import push as apply_push
from ..uow import UnitOfWork
from .deps import (
    DirectoryDep,
    SessionDep,
    UowDep,
    api_key_header,
    current_principal,
    device_token_header,
    require,
    require_own_store,
    require_store,
    session_bearer,
)
from .errors import ApiError
from .schemas.sync import DeviceStatusOut, PullColumnsOut, PullOut, PushIn, PushOut


class _FastJsonRequest(Request):
    """A request body parsed by orjson (a push is hundreds of mutations; the standard parser is the
    slower part of reading it). Invalid JSON raises orjson.JSONDecodeError, a json.JSONDecodeError:
    FastAPI answers 422 as before."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class _FastJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_FastJsonRequest(request.scope, request.receive))

        return handle


router = APIRouter(prefix="/api/v1/sync", tags=["sync"], route_class=_FastJsonRoute)
HEARTBEAT_S = 15.0
# SQLite has one server process and one writer at a time: pushes take turns here, and the next one
# starts the moment the last commits (waiting in SQLite's busy handler instead sleeps up to 100 ms a try).
# It also keeps one push per device at a time. PostgreSQL queues pushes on the version counter's row.


def _row(obj: object) -> dict:
    return obj.model_dump(mode="json")  # type: ignore[attr-defined]


async def push_principal(
    request: Request,
    session: SessionDep,
    uow: UowDep,
    device_token: Annotated[str | None, Depends(device_token_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(session_bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Like require(SYNC_PUSH), but what a revoked device still sends is kept for review."""
    try:
        check = require(Permission.SYNC_PUSH)
        return await run_in_threadpool(
            lambda: check(current_principal(request, session, device_token, bearer, api_key))
        )
    except ApiError as exc:
        if isinstance(exc.detail, dict) and exc.detail.get("error") == "device.revoked" and device_token:
            body = await request.body()
            await run_in_threadpool(quarantine, uow, device_token, body)
        raise


@router.post(
    "/push",
    response_model=PushOut,
    summary="Apply the device's numbered mutations, exactly once, in order",
    openapi_extra={"x-permission": Permission.SYNC_PUSH.value},
)
def push(
    request: Request, body: PushIn, principal: Annotated[Principal, Depends(push_principal)], uow: UowDep
) -> Response:
    arrived = datetime.now(UTC)
    if principal.device_id is None:
        raise ApiError(403, "sync.device_only", "Only an enrolled device pushes its outbox.")
    ids = [m.id for m in body.mutations]
    if ids != sorted(set(ids)):
        raise ApiError(
            422,
            "sync.order",
            "Mutations must be in increasing id order, each id once. Send the outbox as it is numbered.",
        )
    # The device's clock is compared with the server's as the push arrives: a wait for the writer's turn is
    # not the device's clock error.
    offset = device_clock_offset(body.sent_at, arrived)
    with db.writer_turn(uow.engine):
        outcome = apply_push(uow, principal, body.mutations, body.pending, body.oldest_pending_at, clock_offset=offset)
    if outcome.changed and request.app.state.sender is not None:
        request.app.state.sender.wake()  # a step may have queued a customer e-mail
    payment_sender = getattr(request.app.state, "payment_sender", None)
    if outcome.changed and payment_sender is not None:
        payment_sender.wake()  # a refund may have queued a card refund
    # PushOut, written directly: a batch's results are hundreds of small objects.
    return Response(
        orjson.dumps(
            {
                "last_applied": outcome.last_applied,
                "results": [
                    {"id": r.id, "status": r.status, "reason": r.reason, "detail": r.detail} for r in outcome.results
                ],
                "gap_expected": outcome.gap_expected,
            }
        ),
        media_type="application/json",
    )


PULL_MAX = 50_000


@router.get(
    "/pull",
    response_model=PullOut | PullColumnsOut,
    summary="Changes in the store's scope after a cursor",
    description="Each table's rows as objects (`format=objects`, the default, the schema below), or, "
    'with `format=columns`, as `{"columns": [names], "rows": [[values]]}` per table (stores, '
    "products, barcodes, stock; JSON columns as JSON text, money as decimal strings), orders and sales as objects, "
    'and `"format": "columns"`. Devices pull with `format=columns`: no key repeated per row, and '
    "rows go into SQLite as they come.",
    openapi_extra={"x-permission": Permission.SYNC_PULL.value},
)
def pull(
    principal: Annotated[Principal, Depends(require(Permission.SYNC_PULL))],
    uow: UowDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
    cursor: Annotated[Int64, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PULL_MAX)] = 5_000,
    format: Annotated[Literal["objects", "columns"], Query()] = "objects",  # noqa: A002 - the query's name
) -> Any:
    session = uow.session
    require_store(session, directory, store)
    require_own_store(principal, store)
    # Read before the rows: every mutation up to this id is inside the rows that follow.
    last_applied = 0
    if principal.device_id:
        state = session.get(DeviceSyncState, principal.device_id)
        last_applied = state.last_applied if state else 0
        if state is not None:
            state.last_pull_at = datetime.now(UTC)
    uow.commit()  # (the checks' transaction, and the pull noted)
    db.read_only(session)  # the rows are read from one snapshot, without holding up writers
    # What of the change log this principal gets, table by table (crud.SYNC_TABLES): a kiosk, say, gets the
    # catalogue and stock but of the orders only its own requests, without the customer or the pickup code.
    puller = crud.Puller(store, principal.role, principal.device_id)
    if format == "columns":
        return _pull_columns(session, puller, cursor, limit, last_applied)
    rows, new_cursor, more = crud.changes_since(session, puller, cursor, limit)
    orders = crud.sync_scope("orders", puller)
    order_rows = rows.pop("orders")
    return PullOut(
        cursor=new_cursor,
        more=more,
        last_applied=last_applied,
        orders=orders_json(session, order_rows, personal=orders is not None and orders.personal),
        sales=sales_json(session, rows.pop("sales")),
        returns=returns_json(session, rows.pop("returns")),
        **{k: [_row(r) for r in v] for k, v in rows.items()},
    )


_AS_OBJECTS = ("orders", "sales", "returns")  # tables whose rows nest others: objects in either format


def _pull_columns(session: Session, puller: crud.Puller, cursor: int, limit: int, last_applied: int) -> Response:
    """A page of changes as columns and rows: read as plain tuples (no ORM objects), written by orjson."""
    bound, more = crud.change_window(session, puller, cursor, limit)
    body: dict[str, Any] = {"format": "columns", "cursor": bound, "more": more, "last_applied": last_applied}
    for name in crud.SYNC_TABLES:
        scope = crud.sync_scope(name, puller)
        table = crud.sync_model(name).__table__
        if scope is None:  # none of the table's rows: the same shape, empty
            body[name] = [] if name in _AS_OBJECTS else {"columns": [c.name for c in table.columns], "rows": []}
            continue
        model = scope.model
        where = (*scope.where, model.version > cursor, model.version <= bound)
        if name == "orders":
            body[name] = orders_json(
                session,
                list(session.execute(select(model).where(*where).order_by(model.version)).scalars()),
                personal=scope.personal,
            )
            continue
        if name == "sales":  # a sale with its lines and tenders, as in the objects format
            body[name] = sales_json(
                session, list(session.execute(select(model).where(*where).order_by(model.version)).scalars())
            )
            continue
        if name == "returns":  # a return with its lines and problems, as in the objects format
            body[name] = returns_json(
                session, list(session.execute(select(model).where(*where).order_by(model.version)).scalars())
            )
            continue
        columns = [cast(c, String).label(c.name) if isinstance(c.type, JSON) else c for c in table.columns]
        rows = session.connection().execute(select(*columns).where(*where).order_by(model.version)).all()
        body[name] = {"columns": [c.name for c in table.columns], "rows": [tuple(r) for r in rows]}
    # Times spelled as in the objects format (UTC as "Z"), money as decimal strings.
    return Response(orjson.dumps(body, default=_plain, option=orjson.OPT_UTC_Z), media_type="application/json")


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@router.get(
    "/events",
    summary="Server-sent events: 'changed' when the store's data changed; pull then",
    openapi_extra={"x-permission": Permission.SYNC_PULL.value},
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The stream: `retry`, `event: changed` with the store, keep-alive comments",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def events(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.SYNC_PULL))],
    store: Annotated[str, Query(max_length=16)],
    seconds: Annotated[int, Query(ge=1, le=3600, description="the stream ends after this; reconnect then")] = 300,
) -> StreamingResponse:
    require_own_store(principal, store)
    poker = request.app.state.poker
    queue = poker.subscribe(store)

    async def stream():  # noqa: ANN202
        loop = asyncio.get_running_loop()
        ends = loop.time() + seconds
        try:
            yield "retry: 2000\n\n"
            while not await request.is_disconnected() and loop.time() < ends:
                try:
                    wait = min(HEARTBEAT_S, max(0.0, ends - loop.time()))
                    changed = await asyncio.wait_for(queue.get(), timeout=wait)
                    yield f"event: changed\ndata: {changed}\n\n"
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            poker.unsubscribe(store, queue)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get(
    "/status",
    response_model=list[DeviceStatusOut],
    summary="Sync state of the store's devices",
    openapi_extra={"x-permission": Permission.DEVICES_MANAGE.value},
)
def status(
    principal: Annotated[Principal, Depends(require(Permission.DEVICES_MANAGE))],
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
) -> list[DeviceStatusOut]:
    require_store(session, directory, store)
    require_own_store(principal, store)
    now = datetime.now(UTC)
    rejected = dict(
        session.execute(
            select(MutationLog.device_id, func.count())
            .where(MutationLog.store_code == store, MutationLog.status == "rejected")
            .group_by(MutationLog.device_id)
        ).all()
    )
    out = []
    for device, state in session.execute(
        select(Device, DeviceSyncState)
        .join(DeviceSyncState, DeviceSyncState.device_id == Device.id, isouter=True)
        .where(Device.store_code == store)
        .order_by(Device.enrolled_at)
    ).all():
        oldest = state.oldest_pending_at if state else None
        out.append(
            DeviceStatusOut(
                device_id=device.id,
                name=device.name,
                kind=device.kind,
                revoked=device.revoked_at is not None,
                last_seen_at=device.last_seen_at,
                last_push_at=state.last_push_at if state else None,
                last_pull_at=state.last_pull_at if state else None,
                last_applied=state.last_applied if state else 0,
                pending=state.pending if state else 0,
                lag_seconds=(now - oldest).total_seconds() if oldest and state.pending else None,
                rejected=rejected.get(device.id, 0),
            )
        )
    return out


def quarantine(uow: UnitOfWork, device_token: str, body: bytes) -> None:
    """A revoked device's push: kept for review, never applied."""
    device = revoked_device(uow.session, device_token)
    if device is None:
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {"raw": body[:10_000].decode(errors="replace")}
    uow.session.add(
        QuarantinedPush(
            device_id=device.id,
            store_code=device.store_code,
            body=parsed if isinstance(parsed, dict) else {"raw": parsed},
        )
    )
    uow.commit()
