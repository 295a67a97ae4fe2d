"""The unit of work: one transaction and the repositories that write in it (cosmicpython's shape, kept
synchronous). Every write on the server goes route or job -> handler -> unit of work -> repositories:

    with UnitOfWork(engine, settings, poker) as uow:
        uow.changes.lock()  # first, as every writer does (repositories/changelog.py)
        ...
        uow.commit()

Leaving the block without commit() rolls everything back, pokes included. A unit of work can be entered again
(one block at a time): a background job keeps one and opens a transaction with it per round or per order.
"""

from __future__ import annotations

import logging
from types import TracebackType

from sqlalchemy import Engine
from sqlmodel import Session

from ..config import Settings
from . import pokes
from .pokes import Poker
from .repositories.changelog import ChangeLog
from .repositories.orders import Orders
from .repositories.stock import StockLedger

log = logging.getLogger("store_associate.server")


class UnitOfWork:
    """`session`: a request's session to work in (the API's dependency, api/deps.py), which its owner closes;
    without one, each block opens a session of its own. `poker`: this process's event streams, poked after a
    commit on SQLite (PostgreSQL's NOTIFY leaves with the commit itself)."""

    session: Session
    changes: ChangeLog
    stock: StockLedger
    orders: Orders

    def __init__(
        self, engine: Engine, settings: Settings, poker: Poker | None = None, *, session: Session | None = None
    ) -> None:
        self.engine, self.settings, self.poker = engine, settings, poker
        self._given = session
        self._open = False

    def __enter__(self) -> UnitOfWork:
        if self._open:
            raise RuntimeError("this unit of work is in a block already")
        self.session = self._given or Session(self.engine, expire_on_commit=False)
        self.changes = ChangeLog(self.session)
        self.stock = StockLedger(self.session, self.changes)
        self.orders = Orders(self.session, self.changes, self.stock)
        self._open = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.rollback()  # what was not committed is undone
        finally:
            self._open = False
            if self._given is None:
                self.session.close()

    def poke(self, store: str) -> None:
        """Tell the store's devices to pull, if and when this transaction commits."""
        pokes.notify(self.session, store)

    def commit(self) -> None:
        self.session.commit()
        if self.poker is None:
            self.session.info.pop("pokes", None)
            return
        try:
            pokes.deliver(self.session, self.poker)
        except Exception:  # noqa: BLE001 - the change is committed; the devices find it at their next pull
            log.exception("poking devices after a commit failed")

    def rollback(self) -> None:
        self.session.rollback()
        self.session.info.pop("pokes", None)
