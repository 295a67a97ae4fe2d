"""Returns: a store's returns are made on its devices (sync push: open_return ... refund_return) and pulled back
with the store's change log; these routes show one return to the store's staff, and the problems to its managers
(a refund refused because another return took the units meanwhile, a total that differs from what was shown)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from ...domain.permissions import Permission
from ..returns.models import ReturnRecord
from ..returns.views import open_problems, problem_json, returns_json
from .deps import DirectoryDep, SessionDep, principal_dep, require_own_store, require_store
from .errors import ApiError, responses
from .schemas.returns import ReturnOut, ReturnProblemOut

router = APIRouter(prefix="/api/v1/returns", tags=["returns"])

Manager = principal_dep(Permission.RETURNS_APPROVE)
Staff = principal_dep(Permission.RETURNS_CREATE)
NUMBER = re.compile(r"^R-[0-9A-HJKMNP-TV-Z]{12}$")


@router.get(
    "/problems",
    response_model=list[ReturnProblemOut],
    summary="The store's open return problems, newest first (managers: their own store; admins: any)",
    openapi_extra={"x-permission": Permission.RETURNS_APPROVE.value},
)
def problems(
    principal: Manager,
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ReturnProblemOut]:
    require_store(session, directory, store)
    require_own_store(principal, store)
    return [ReturnProblemOut(**problem_json(p)) for p in open_problems(session, store, limit)]


@router.get(
    "/{number}",
    response_model=ReturnOut,
    summary="One return of the store, with its lines, decision, approval, refund and problems",
    description="The return number as the customer has it (R- and 12 characters), any case.",
    responses=responses(404),
    openapi_extra={"x-permission": Permission.RETURNS_CREATE.value},
)
def get_return(number: str, principal: Staff, session: SessionDep) -> ReturnOut:
    wanted = number.strip().upper()
    record = session.get(ReturnRecord, wanted) if NUMBER.fullmatch(wanted) else None
    if record is None:
        shown = "".join(c for c in number[:20] if c.isprintable())
        raise ApiError(
            404,
            "return.not_found",
            f"No return has the number {shown!r}. Check the number on the return receipt (R- and 12 characters).",
        )
    require_own_store(principal, record.store_code)
    (out,) = returns_json(session, [record])
    return ReturnOut(**out)
