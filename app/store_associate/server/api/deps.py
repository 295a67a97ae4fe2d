"""Shared dependencies: the session and the store directory live on app.state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from ..crud import StoreDirectory, StoreInfo
from .errors import not_found


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_directory(request: Request) -> StoreDirectory:
    return request.app.state.directory


SessionDep = Annotated[Session, Depends(get_session)]
DirectoryDep = Annotated[StoreDirectory, Depends(get_directory)]


def require_store(session: Session, directory: StoreDirectory, code: str) -> StoreInfo:
    store = directory.get(session).get(code)
    if store is None:
        raise not_found("store.not_found", f"No store or warehouse has the code {code[:32]!r}. "
                        "Check the code against GET /api/v1/stores.")
    return store
