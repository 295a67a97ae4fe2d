"""Pull: the store's catalogue and stock after a cursor. (Push and pokes come with the sync engine.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import crud
from .deps import DirectoryDep, SessionDep, require_store
from .schemas import PullOut

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


def _row(obj: object) -> dict:
    data = obj.model_dump(mode="json")  # type: ignore[attr-defined]
    return data


@router.get("/pull", response_model=PullOut, summary="Changes in the store's scope after a cursor")
def pull(
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16)],
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5_000,
) -> PullOut:
    require_store(session, directory, store)
    rows, new_cursor, more = crud.changes_since(session, store, cursor, limit)
    return PullOut(cursor=new_cursor, more=more, **{k: [_row(r) for r in v] for k, v in rows.items()})
