"""Device enrolment and management, and the audit log, for managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from ...domain.permissions import Permission
from .. import enrolment
from ..access import AccessError
from ..models import AuditLog, Device
from .deps import (
    DirectoryDep,
    SessionDep,
    UowDep,
    access_error,
    principal_dep,
    refused,
    require_own_store,
    require_store,
)
from .errors import responses
from .schemas.devices import AuditOut, DeviceOut, EnrolIn, EnrolmentCodeIn, EnrolmentCodeOut, EnrolOut

router = APIRouter(prefix="/api/v1", tags=["devices"])

Manager = principal_dep(Permission.DEVICES_MANAGE)
Enroller = principal_dep(Permission.DEVICES_ENROL)
Auditor = principal_dep(Permission.AUDIT_READ)


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _device_out(d: Device) -> DeviceOut:
    return DeviceOut(
        id=d.id,
        store=d.store_code,
        kind=d.kind,
        name=d.name,
        enrolled_at=d.enrolled_at,
        last_seen_at=d.last_seen_at,
        revoked_at=d.revoked_at,
    )


@router.post(
    "/devices/enrolment-codes",
    response_model=EnrolmentCodeOut,
    status_code=201,
    summary="A one-time code that enrols one device into a store",
    openapi_extra={"x-permission": Permission.DEVICES_ENROL.value},
)
def create_enrolment_code(
    request: Request, body: EnrolmentCodeIn, principal: Enroller, uow: UowDep, directory: DirectoryDep
) -> EnrolmentCodeOut:
    require_store(uow.session, directory, body.store)
    require_own_store(principal, body.store)
    code, expires = enrolment.create_enrolment_code(
        uow.session, principal, body.store, body.kind, body.valid_minutes, _ip(request)
    )
    uow.commit()
    return EnrolmentCodeOut(code=code, store=body.store, kind=body.kind, expires_at=expires)


@router.post(
    "/devices/enrol",
    response_model=EnrolOut,
    status_code=201,
    summary="Exchange an enrolment code for this device's token (shown once)",
    responses=responses(400),
    openapi_extra={"x-permission": "public"},
)
def enrol(request: Request, body: EnrolIn, uow: UowDep) -> EnrolOut:
    try:
        device, token = enrolment.enrol(
            uow.session, body.code, body.name, _ip(request), body.enrolment_id, body.attempt
        )
    except AccessError as exc:
        raise refused(uow, exc) from None
    answer = EnrolOut(device_id=device.id, device_token=token, store=device.store_code, kind=device.kind)
    uow.commit()  # last: an enrolment whose answer could not be made leaves the code unused
    return answer


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
def revoke(request: Request, device_id: str, principal: Manager, uow: UowDep) -> DeviceOut:
    if len(device_id) > 32:
        raise access_error(AccessError(404, "device.not_found", "No device with this id in your store."))
    try:
        answer = _device_out(enrolment.revoke(uow.session, principal, device_id, _ip(request)))
    except AccessError as exc:
        raise refused(uow, exc) from None
    uow.commit()
    return answer


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
            at=r.at,
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
