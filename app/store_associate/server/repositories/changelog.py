"""The change log's clock: one counter row from which every write takes the versions of the rows it changes.

A pull returns the rows whose version is above the device's cursor (crud.change_window). For that never to
skip a row, versions must become visible in commit order: every writer locks the counter's row first and
holds it to its commit, so writers take their versions (and commit) one after another.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from ..models import SyncCounter

_COUNTER = SyncCounter.__table__.c
_LOCK = select(_COUNTER.value).where(_COUNTER.id == 1).with_for_update()
_TAKE = (
    update(SyncCounter.__table__)
    .where(_COUNTER.id == 1)
    .values(value=_COUNTER.value + bindparam("n"))
    .returning(_COUNTER.value)
)
_CURRENT = select(_COUNTER.value).where(_COUNTER.id == 1)


class ChangeLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self) -> None:
        """First thing in every writing transaction: the counter's row lock. Every writer takes the counter
        sooner or later and holds it to its commit; taken before any other row (a level, an order, a
        transfer), two writers queue on it instead of deadlocking on PostgreSQL. (SQLite's BEGIN IMMEDIATE
        already gives one writer the whole file.)"""
        self.session.execute(_LOCK).scalar_one()

    def take(self, n: int = 1) -> int:
        """Reserve n consecutive versions; returns the first. Holds the counter's row lock until commit."""
        return self.session.execute(_TAKE, {"n": n}).scalar_one() - n + 1

    def current(self) -> int:
        """The newest version taken (committed or not: a pull reads it before its rows)."""
        return self.session.execute(_CURRENT).scalar_one()
