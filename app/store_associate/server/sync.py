"""Push: apply a device's numbered mutations exactly once, in order. Pokes: tell devices to pull.

A batch runs in one transaction with the device's last-applied id, so an applied mutation and the
record that it was applied commit together: a replay is recognised and answered from the log, a gap
stops the batch and tells the device where to resume. A mutation that breaks a business rule is
still consumed, recorded as rejected with its reason, and reported back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from ..domain.commands import (
    REJECT_MALFORMED,
    REJECT_NEGATIVE_STOCK,
    REJECT_NOT_ALLOWED,
    REJECT_UNKNOWN_SKU,
    AdjustStock,
    Command,
    CommandError,
    CountStock,
    Mutation,
    OrderCommand,
    parse_command,
    stock_after,
)
from ..domain.permissions import Role, allowed
from ..domain.pickup import Refused as OrderRefused
from . import orders
from .access import Principal
from .crud import next_versions
from .models import DeviceSyncState, InventoryLevel, InventoryMovement, MutationLog, Product, Staff, SyncCounter

log = logging.getLogger("store_associate.sync")
POKE_CHANNEL = "store_associate_pokes"


@dataclass
class MutationResult:
    id: int
    status: str  # applied | rejected | duplicate
    reason: str = ""
    detail: str = ""


@dataclass
class PushOutcome:
    results: list[MutationResult] = field(default_factory=list)
    last_applied: int = 0
    gap_expected: int | None = None  # the id the server expected when a gap stopped the batch
    changed: bool = False


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def now_utc() -> datetime:
    return datetime.now(UTC)


def sync_state(session: Session, device_id: str) -> DeviceSyncState:
    """The device's row, locked for the rest of the transaction: one push per device at a time."""
    state = session.execute(
        select(DeviceSyncState).where(DeviceSyncState.device_id == device_id).with_for_update()
    ).scalar_one_or_none()
    if state is None:
        session.add(DeviceSyncState(device_id=device_id))
        session.flush()
        state = session.execute(
            select(DeviceSyncState).where(DeviceSyncState.device_id == device_id).with_for_update()
        ).scalar_one()
    return state


def push(session: Session, principal: Principal, mutations: list[Mutation], pending: int = 0,
         oldest_pending_at: datetime | None = None) -> PushOutcome:
    assert principal.device_id is not None and principal.store_code is not None
    # The version counter first, then the device's row, then stock and orders: every writer takes the
    # counter before any other row, so two pushes cannot deadlock (they queue on the counter instead).
    session.execute(select(SyncCounter).where(SyncCounter.id == 1).with_for_update()).scalar_one()
    state = sync_state(session, principal.device_id)
    out = PushOutcome(last_applied=state.last_applied)
    staff_cache: dict[str | None, Staff | None] = {}
    for m in mutations:
        if m.id <= state.last_applied:
            out.results.append(_replayed(session, principal.device_id, m.id))
            continue
        if m.id != state.last_applied + 1:
            out.gap_expected = state.last_applied + 1
            break
        result = _apply_one(session, principal, m, staff_cache)
        out.changed = out.changed or result.status == "applied"
        out.results.append(result)
        state.last_applied = m.id
    now = now_utc()
    state.last_push_at, state.pending = now, max(0, pending)
    state.oldest_pending_at = oldest_pending_at
    out.last_applied = state.last_applied
    if out.changed:
        notify(session, principal.store_code)
    session.commit()
    return out


def _replayed(session: Session, device_id: str, mutation_id: int) -> MutationResult:
    row = session.execute(select(MutationLog).where(MutationLog.device_id == device_id,
                                                    MutationLog.mutation_id == mutation_id)).scalar_one_or_none()
    if row is None:
        return MutationResult(mutation_id, "duplicate")
    return MutationResult(mutation_id, "duplicate" if row.status == "applied" else row.status, row.reason,
                          row.detail)


def _apply_one(session: Session, principal: Principal, m: Mutation, staff_cache: dict) -> MutationResult:
    status, reason, detail = "applied", "", ""
    try:
        command = parse_command(m.name, m.version, m.args)
        _check_actor(session, principal, m.staff_number, command, staff_cache)
        with session.begin_nested():  # a rejection half-way leaves nothing of this mutation behind
            _handle(session, principal, m, command)
    except CommandError as exc:
        status, reason, detail = "rejected", REJECT_MALFORMED, str(exc)[:200]
    except Rejected as exc:
        status, reason, detail = "rejected", exc.reason, exc.detail[:200]
    session.add(MutationLog(
        device_id=principal.device_id, mutation_id=m.id, store_code=principal.store_code, name=m.name[:40],
        version=m.version, args=m.args if status == "applied" or reason != REJECT_MALFORMED else {},
        staff_number=m.staff_number, status=status, reason=reason, detail=detail, created_at=m.created_at,
    ))
    return MutationResult(m.id, status, reason, detail)


def _check_actor(session: Session, principal: Principal, staff_number: str | None, command: Command,
                 cache: dict) -> None:
    """The person who did it (signed in on the device, perhaps offline) may do this here."""
    number = staff_number or principal.staff_number
    if number is None:
        raise Rejected(REJECT_NOT_ALLOWED, "no signed-in person")
    if number not in cache:
        cache[number] = session.execute(select(Staff).where(Staff.staff_number == number)).scalar_one_or_none()
    staff = cache[number]
    if staff is None or not staff.active:
        raise Rejected(REJECT_NOT_ALLOWED, "unknown staff member")
    role = Role(staff.role)
    if role is not Role.ADMIN and staff.store_code != principal.store_code:
        raise Rejected(REJECT_NOT_ALLOWED, "staff member of another store")
    if not allowed(role, command.permission):
        raise Rejected(REJECT_NOT_ALLOWED, f"a {role.value} may not {command.name}")


def _handle(session: Session, principal: Principal, m: Mutation, command: Command) -> None:
    if isinstance(command, AdjustStock | CountStock):
        reason = command.reason if isinstance(command, AdjustStock) else "count"
        for sku, delta in command.stock_deltas().items():
            _change_on_hand(session, principal, m, sku, delta, reason)
        return
    if isinstance(command, OrderCommand):
        try:
            orders.perform(session, principal.store_code, command, m.staff_number or principal.staff_number,
                           principal.device_id, m.id)
        except OrderRefused as exc:
            raise Rejected(exc.reason, exc.detail) from None
        return
    raise CommandError(f"no handler for {command.name}")  # pragma: no cover - COMMANDS and this agree


def _change_on_hand(session: Session, principal: Principal, m: Mutation, sku: str, delta: int,
                    reason: str) -> None:
    store = principal.store_code
    level = session.execute(
        select(InventoryLevel).where(InventoryLevel.store_code == store, InventoryLevel.sku == sku).with_for_update()
    ).scalar_one_or_none()
    if level is None:
        if session.get(Product, sku) is None:
            raise Rejected(REJECT_UNKNOWN_SKU, sku)
        level = InventoryLevel(store_code=store, sku=sku)
        session.add(level)
    after = stock_after(level.on_hand, delta)
    if after is None:
        raise Rejected(REJECT_NEGATIVE_STOCK, f"{level.on_hand} on hand, change {delta}")
    if delta == 0:
        return
    level.on_hand = after
    level.updated_at = now_utc()
    level.version = next_versions(session, 1)
    session.add(InventoryMovement(store_code=store, sku=sku, field_name="on_hand", delta=delta, reason=reason,
                                  reference=f"{principal.device_id}:{m.id}", device_id=principal.device_id,
                                  mutation_id=m.id))


# --- pokes ---------------------------------------------------------------------------------------------

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
        self._listener = threading.Thread(target=self._listen_loop, args=(engine,), daemon=True,
                                          name="poke-listener")
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


def _offer(queue: asyncio.Queue, store: str) -> None:
    if not queue.full():
        queue.put_nowait(store)
