"""Staff sign-in on an enrolled device, sign-out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ...domain.permissions import ROLE_PERMISSIONS, Role
from .. import access
from ..access import AccessError, Principal
from .deps import UowDep, current_principal, device_token_header, refused
from .errors import ApiError, responses
from .schemas.auth import MeOut, SignInIn, SignInOut, StaffOut

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _perms(role: Role) -> list[str]:
    return sorted(p.value for p in ROLE_PERMISSIONS[role])


@router.post(
    "/sign-in",
    response_model=SignInOut,
    summary="Sign a person in on this device with staff number and PIN",
    responses=responses(403, 423),
    openapi_extra={"x-permission": "device"},
)
def sign_in(
    request: Request,
    body: SignInIn,
    uow: UowDep,
    device_token: Annotated[str | None, Depends(device_token_header)],
) -> SignInOut:
    if not device_token:
        raise ApiError(401, "device.missing", "Sign-in works only on an enrolled device.")
    settings = request.app.state.settings
    try:
        staff, token, expires = access.sign_in(
            uow.session, device_token, body.staff_number, body.pin, settings.session_hours, _client_ip(request)
        )
    except AccessError as exc:
        raise refused(uow, exc) from None
    role = Role(staff.role)
    answer = SignInOut(
        session_token=token,
        expires_at=expires,
        idle_timeout_seconds=int(settings.session_idle_minutes * 60),
        offline_signin_days=settings.offline_signin_days,
        staff=StaffOut(
            staff_number=staff.staff_number,
            name=staff.name,
            role=role.value,
            store=staff.store_code,
            permissions=_perms(role),
        ),
    )
    uow.commit()  # last: a sign-in whose answer could not be made leaves no session behind
    return answer


@router.post("/sign-out", summary="End this session (safe to call twice)", openapi_extra={"x-permission": "session"})
def sign_out(request: Request, uow: UowDep, principal: Annotated[Principal | None, Depends(current_principal)]) -> dict:
    if principal is None or principal.session_hash is None:
        raise ApiError(401, "session.invalid", "You are signed out already.")
    access.sign_out(uow.session, principal, _client_ip(request))
    uow.commit()
    return {"signed_out": True}


@router.get(
    "/me",
    response_model=MeOut,
    summary="Who this request is made by, and what it may do",
    openapi_extra={"x-permission": "any"},
)
def me(principal: Annotated[Principal | None, Depends(current_principal)]) -> MeOut:
    if principal is None:
        raise ApiError(401, "auth.required", "Sign in first.")
    staff = None
    if principal.staff_number:
        staff = StaffOut(
            staff_number=principal.staff_number,
            name=principal.staff_name or "",
            role=principal.role.value,
            store=principal.store_code,
            permissions=_perms(principal.role),
        )
    return MeOut(
        role=principal.role.value,
        store=principal.store_code,
        device_id=principal.device_id,
        device_kind=principal.device_kind,
        staff=staff,
        permissions=_perms(principal.role),
    )
