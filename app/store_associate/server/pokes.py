"""Pokes: tell a store's devices that its data changed, so that they pull now rather than at their next round.

A poke is queued in the transaction that made the change and leaves only if it commits: on PostgreSQL by
NOTIFY (sent at commit, to every server process), on SQLite by the session's list, delivered after commit.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy import Engine, text
from sqlmodel import Session

log = logging.getLogger("store_associate.sync")
POKE_CHANNEL = "store_associate_pokes"


def notify(session: Session, store_code: str) -> None:
    """Queue a poke for the store. On PostgreSQL it goes through NOTIFY, which is sent at commit (and
    not at all on rollback) to every server process; on SQLite there is one process, poked after commit."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :store)"), {"channel": POKE_CHANNEL, "store": store_code})
    else:
        session.info.setdefault("pokes", set()).add(store_code)


class Poker:
    """Fan-out of pokes to the event streams connected to this process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()

    def subscribe(self, store: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=100)
        with self._lock:
            self._subscribers.setdefault(store, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, store: str, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers[store] = {(lp, q) for lp, q in self._subscribers.get(store, set()) if q is not queue}

    def poke(self, store: str) -> None:
        """Thread-safe: called from request threads and the LISTEN thread."""
        with self._lock:
            targets = list(self._subscribers.get(store, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, store)

    def listen(self, engine: Engine) -> None:
        """On PostgreSQL, receive NOTIFY from every server process (several replicas behind one database)."""
        if engine.dialect.name != "postgresql":
            return
        self._stop.clear()  # an app served again (after a shutdown) listens again
        self._listener = threading.Thread(target=self._listen_loop, args=(engine,), daemon=True, name="poke-listener")
        self._listener.start()

    def _listen_loop(self, engine: Engine) -> None:
        import psycopg

        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {POKE_CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.poke(note.payload)
            except psycopg.Error as exc:  # the database restarted: listen again
                log.warning("poke listener reconnecting: %s", exc.__class__.__name__)
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the LISTEN thread to end (it notices stop() within its 1 s wait); True when it has."""
        if self._listener is not None:
            self._listener.join(timeout)
            if self._listener.is_alive():
                return False
            self._listener = None
        return True


def deliver(session: Session, poker: Poker) -> None:
    """Pokes queued in a committed transaction on SQLite (PostgreSQL's NOTIFY went out at commit)."""
    for store in session.info.pop("pokes", set()):
        poker.poke(store)


def _offer(queue: asyncio.Queue, store: str) -> None:
    if not queue.full():
        queue.put_nowait(store)
