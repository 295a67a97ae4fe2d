"""Device enrolment and management, and the audit log, for managers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from ...domain.commands import json_int
from ...domain.permissions import Permission
from .. import access
from ..access import AccessError
from ..models import AuditLog, Device
from .deps import DirectoryDep, SessionDep, access_error, principal_dep, require_own_store, require_store
from .errors import responses

router = APIRouter(prefix="/api/v1", tags=["devices"])

Manager = principal_dep(Permission.DEVICES_MANAGE)
Enroller = principal_dep(Permission.DEVICES_ENROL)
Auditor = principal_dep(Permission.AUDIT_READ)


class EnrolmentCodeIn(BaseModel):
    store: str = Field(min_length=1, max_length=16)
    kind: Literal["tablet", "desktop", "kiosk"]
    valid_minutes: json_int(5, 7 * 24 * 60) = 24 * 60


class EnrolmentCodeOut(BaseModel):
    code: str
    store: str
    kind: str
    expires_at: datetime


class EnrolIn(BaseModel):
    code: str = Field(min_length=4, max_length=20)
    name: str = Field(default="", max_length=80)
    # Made by the device (random, kept on it with the code before sending) so that it can ask again when the
    # answer is lost: the same id and code, a higher attempt, within minutes, get the same device back with a
    # new token. Without an id a used code is refused, as before.
    enrolment_id: str | None = Field(default=None, min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    attempt: json_int(1, 1_000_000) = 1


class EnrolOut(BaseModel):
    device_id: str
    device_token: str
    store: str
    kind: str


class DeviceOut(BaseModel):
    id: str
    store: str
    kind: str
    name: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class AuditOut(BaseModel):
    at: datetime
    action: str
    outcome: str
    staff_number: str | None
    device_id: str | None
    store: str | None
    target: str
    detail: dict


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _device_out(d: Device) -> DeviceOut:
    return DeviceOut(
        id=d.id,
        store=d.store_code,
        kind=d.kind,
        name=d.name,
        enrolled_at=access.aware(d.enrolled_at),
        last_seen_at=access.aware(d.last_seen_at),
        revoked_at=access.aware(d.revoked_at),
    )


@router.post(
    "/devices/enrolment-codes",
    response_model=EnrolmentCodeOut,
    status_code=201,
    summary="A one-time code that enrols one device into a store",
    openapi_extra={"x-permission": Permission.DEVICES_ENROL.value},
)
def create_enrolment_code(
    request: Request, body: EnrolmentCodeIn, principal: Enroller, session: SessionDep, directory: DirectoryDep
) -> EnrolmentCodeOut:
    require_store(session, directory, body.store)
    require_own_store(principal, body.store)
    code, expires = access.create_enrolment_code(
        session, principal, body.store, body.kind, body.valid_minutes, _ip(request)
    )
    return EnrolmentCodeOut(code=code, store=body.store, kind=body.kind, expires_at=expires)


@router.post(
    "/devices/enrol",
    response_model=EnrolOut,
    status_code=201,
    summary="Exchange an enrolment code for this device's token (shown once)",
    responses=responses(400),
    openapi_extra={"x-permission": "public"},
)
def enrol(request: Request, body: EnrolIn, session: SessionDep) -> EnrolOut:
    try:
        device, token = access.enrol(session, body.code, body.name, _ip(request), body.enrolment_id, body.attempt)
    except AccessError as exc:
        raise access_error(exc) from None
    return EnrolOut(device_id=device.id, device_token=token, store=device.store_code, kind=device.kind)


@router.get(
    "/devices",
    response_model=list[DeviceOut],
    summary="Devices of a store",
    openapi_extra={"x-permission": Permission.DEVICES_MANAGE.value},
)
def list_devices(
    principal: Manager, session: SessionDep, directory: DirectoryDep, store: Annotated[str, Query(max_length=16)]
) -> list[DeviceOut]:
    require_store(session, directory, store)
    require_own_store(principal, store)
    rows = session.execute(select(Device).where(Device.store_code == store).order_by(Device.enrolled_at)).scalars()
    return [_device_out(d) for d in rows]


@router.post(
    "/devices/{device_id}/revoke",
    response_model=DeviceOut,
    summary="Refuse this device from now on (its people are signed out; safe to call twice)",
    responses=responses(404, 409),
    openapi_extra={"x-permission": Permission.DEVICES_MANAGE.value},
)
def revoke(request: Request, device_id: str, principal: Manager, session: SessionDep) -> DeviceOut:
    if len(device_id) > 32:
        raise access_error(AccessError(404, "device.not_found", "No device with this id in your store."))
    try:
        return _device_out(access.revoke(session, principal, device_id, _ip(request)))
    except AccessError as exc:
        raise access_error(exc) from None


@router.get(
    "/audit",
    response_model=list[AuditOut],
    summary="Sign-ins, enrolments, revocations and overrides",
    openapi_extra={"x-permission": Permission.AUDIT_READ.value},
)
def audit_log(
    principal: Auditor,
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[
        str | None, Query(max_length=40, pattern=r"^[a-z_]+$", description="only this action, e.g. sync_actor")
    ] = None,
    outcome: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^[a-z_]+$",
            description="only this outcome, e.g. review: steps a manager must look at",
        ),
    ] = None,
) -> list[AuditOut]:
    require_store(session, directory, store)
    require_own_store(principal, store)
    # Every push writes its sync_actor rows: without a filter, a review or a revocation scrolls out of sight.
    q = select(AuditLog).where(AuditLog.store_code == store)
    if action:
        q = q.where(AuditLog.action == action)
    if outcome:
        q = q.where(AuditLog.outcome == outcome)
    rows = session.execute(q.order_by(AuditLog.id.desc()).limit(limit)).scalars()
    return [
        AuditOut(
            at=access.aware(r.at),
            action=r.action,
            outcome=r.outcome,
            staff_number=r.staff_number,
            device_id=r.device_id,
            store=r.store_code,
            target=r.target,
            detail=r.detail,
        )
        for r in rows
    ]
