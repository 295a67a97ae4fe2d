"""Pull: the store's catalogue and stock after a cursor. (Push and pokes come with the sync engine.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ...domain.permissions import Permission
from .. import crud
from ..access import Principal
from .deps import DirectoryDep, SessionDep, require, require_own_store, require_store
from .schemas import PullOut

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


def _row(obj: object) -> dict:
    data = obj.model_dump(mode="json")  # type: ignore[attr-defined]
    return data


@router.get("/pull", response_model=PullOut, summary="Changes in the store's scope after a cursor",
            openapi_extra={"x-permission": Permission.SYNC_PULL.value})
def pull(
    principal: Annotated[Principal, Depends(require(Permission.SYNC_PULL))],
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5_000,
) -> PullOut:
    require_store(session, directory, store)
    require_own_store(principal, store)
    rows, new_cursor, more = crud.changes_since(session, store, cursor, limit)
    return PullOut(cursor=new_cursor, more=more, **{k: [_row(r) for r in v] for k, v in rows.items()})
