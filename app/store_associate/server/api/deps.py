"""Shared dependencies: the session (and the unit of work that writes in it), the store directory, and who is
asking (with what right)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from ...config import Settings
from ...domain.permissions import Permission, allowed, may_act_in_store
from ..access import AccessError, Principal, principal_for
from ..crud import StoreDirectory, StoreInfo
from ..db import read_only
from ..uow import UnitOfWork
from .errors import ApiError, not_found


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_directory(request: Request) -> StoreDirectory:
    return request.app.state.directory


SessionDep = Annotated[Session, Depends(get_session)]


def get_uow(request: Request, session: SessionDep) -> Iterator[UnitOfWork]:
    """The request's unit of work, in the request's session (the one its principal was checked in): a route
    that writes commits it; what it leaves uncommitted is rolled back."""
    state = request.app.state
    with UnitOfWork(state.engine, state.settings, state.poker, session=session) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (`create_app(settings)`), never read again from the environment, so
    that two apps in one process each keep their own."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
DirectoryDep = Annotated[StoreDirectory, Depends(get_directory)]

# Each scheme named: FastAPI names a scheme after its class by default, and the two API-key headers then share
# one name in the OpenAPI, where the device token's scheme was lost under the web shop's.
device_token_header = APIKeyHeader(
    name="X-Device-Token",
    scheme_name="DeviceToken",
    auto_error=False,
    description="The token a device received at enrolment.",
)
session_bearer = HTTPBearer(
    scheme_name="StaffSession", auto_error=False, description="A staff session token from /api/v1/auth/sign-in."
)
api_key_header = APIKeyHeader(
    name="X-Api-Key", scheme_name="ApiKey", auto_error=False, description="A system key (web-shop intake)."
)


def access_error(exc: AccessError) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    err = ApiError(exc.status, exc.error, exc.message)
    err.headers = headers
    return err


def refused(uow: UnitOfWork, exc: AccessError) -> ApiError:
    """The answer to a refusal. A refusal that is to be kept (its audit row, lockout counters: AccessError.keep)
    is committed first, as the only write of the request; any other is rolled back with the request."""
    if exc.keep:
        uow.commit()
    return access_error(exc)


def current_principal(
    request: Request,
    session: SessionDep,
    device_token: Annotated[str | None, Depends(device_token_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(session_bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal | None:
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    if api_key and not device_token:
        # A system key is only read: on SQLite the check then takes no write lock, so it does not queue
        # behind the order intake it comes to make.
        read_only(session)
    try:
        principal = principal_for(
            session, device_token, bearer.credentials if bearer else None, api_key, idle, request.app.state.known_keys
        )
    except AccessError as exc:
        raise access_error(exc) from None
    # End the checking transaction: a long request (an event stream) must not hold it, or its locks.
    session.commit()
    return principal


def require(permission: Permission) -> Callable[..., Principal]:
    def check(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
        if principal is None:
            raise ApiError(
                401,
                "auth.required",
                "Sign in first: this needs an enrolled device and, for staff actions, a signed-in person.",
            )
        if not allowed(principal.role, permission):
            raise ApiError(
                403,
                "auth.forbidden",
                f"Your role ({principal.role.value}) may not do this ({permission.value}). "
                "Ask a manager if you need it.",
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return check


def guard(permission: Permission | None) -> dict[str, Any]:
    """Route keyword arguments: the permission check, and the permission named in the OpenAPI schema
    (x-permission) so that a test can find any route that has none."""
    if permission is None:
        return {"openapi_extra": {"x-permission": "public"}}
    return {"dependencies": [Depends(require(permission))], "openapi_extra": {"x-permission": permission.value}}


def principal_dep(permission: Permission) -> Any:
    return Annotated[Principal, Depends(require(permission))]


# A SKU in a path, as the OpenAPI shows it: the routes answer a longer one with 400 product.bad_sku themselves
# (maxLength is documented, not enforced by FastAPI, so that answer stays theirs).
SkuPath = Annotated[str, Path(json_schema_extra={"maxLength": 32})]


def require_store(session: Session, directory: StoreDirectory, code: str) -> StoreInfo:
    store = directory.get(session).get(code)
    if store is None:
        raise not_found(
            "store.not_found",
            f"No store or warehouse has the code {code[:32]!r}. Check the code against GET /api/v1/stores.",
        )
    return store


def require_own_store(principal: Principal, store_code: str) -> None:
    """Store scoping for a store's private data (its change log, devices, orders, returns, customers)."""
    if not may_act_in_store(principal.role, principal.store_code, store_code):
        raise ApiError(
            403,
            "auth.other_store",
            f"This belongs to store {store_code[:16]}; you work in {principal.store_code}. "
            "Ask a manager of that store.",
        )
