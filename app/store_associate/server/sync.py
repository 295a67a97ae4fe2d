"""Push: apply a device's numbered mutations exactly once, in order.

A batch runs in one transaction with the device's last-applied id, so an applied mutation and the
record that it was applied commit together: a replay is recognised and answered from the log, a gap
stops the batch and tells the device where to resume. A mutation that breaks a business rule is
still consumed, recorded as rejected with its reason, and reported back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DataError
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
    ReturnCommand,
    parse_command,
    stock_after,
)
from ..domain.permissions import Role, allowed
from ..domain.pickup import Refused as OrderRefused
from ..domain.return_flow import Refused as ReturnRefused
from . import orders, returns
from .access import Principal
from .actors import NONE, Evidence, Witness, manager_only, shifted
from .models import DeviceSyncState, MutationLog, Product, Staff, as_utc
from .repositories.bulk import executemany
from .repositories.stock import entry
from .uow import UnitOfWork

log = logging.getLogger("store_associate.sync")


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


# A device clock this far off the server's is corrected; closer than that, the difference is the network's.
CLOCK_TOLERANCE = timedelta(minutes=1)


def device_clock_offset(sent_at: datetime | None, now: datetime) -> timedelta:
    """What to add to a device's times to get the server's: the device says what its clock read when it sent
    the push. Tablets' clocks run days off (a reset battery, a wrong zone set by hand); their work is dated
    by the server's clock instead, so that it still shows the sign-in it was done under and the order trail
    has the real time. A clock reset while the work was done, and put right before the push, is not seen."""
    sent = as_utc(sent_at) if sent_at is not None else None
    if sent is None:
        return timedelta(0)
    offset = now - sent
    return offset if abs(offset) > CLOCK_TOLERANCE else timedelta(0)


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


def push(
    uow: UnitOfWork,
    principal: Principal,
    mutations: list[Mutation],
    pending: int = 0,
    oldest_pending_at: datetime | None = None,
    *,
    clock_offset: timedelta = timedelta(0),
) -> PushOutcome:
    """Apply the batch and commit it. `clock_offset`: what to add to the device's clock to get the server's
    (see device_clock_offset); a mutation was done at its created_at plus this. The settings' offline sign-in
    window (offline_signin_days, which the server also tells the device at sign-in) is how old a person's last
    online sign-in on the device may be for what they did offline to count as theirs."""
    assert principal.device_id is not None and principal.store_code is not None
    session = uow.session
    uow.changes.lock()  # then the device's row, then stock and orders
    state = sync_state(session, principal.device_id)
    out = PushOutcome(last_applied=state.last_applied)
    replayed = _logged(session, principal.device_id, [m.id for m in mutations if m.id <= state.last_applied])
    staff_cache: dict = {}  # staff number -> Staff, and (staff number, command type) -> verdict
    times = [
        t
        for m in mutations
        if m.id > state.last_applied and (t := shifted(as_utc(m.created_at), clock_offset)) is not None
    ]
    witness = Witness(
        session,
        principal.device_id,
        principal.store_code,
        uow.settings.offline_signin_days,
        now_utc(),
        earliest=min(times, default=None),
        clock_offset=clock_offset,
    )
    # Everything that can be checked without touching a row is checked first (the command's shape, the
    # person's right to do it), so that a rejection never has anything to undo.
    parsed: dict[int, Command | Rejected] = {}
    for m in mutations:  # the run of ids that follows on from last_applied (a gap ends it)
        if m.id == state.last_applied + len(parsed) + 1:
            parsed[m.id] = _parse(session, principal, m, staff_cache, witness)
    batch = _Batch(uow, principal, clock_offset, witness)
    batch.load({sku for c in parsed.values() if isinstance(c, AdjustStock | CountStock) for sku in c.stock_deltas()})
    last = state.last_applied
    for m in mutations:
        if m.id <= last:
            if m.id not in replayed:  # (only when ids are not increasing: the API refuses such batches)
                batch.write()
                replayed.update(_logged(session, principal.device_id, [m.id]))
            out.results.append(replayed.get(m.id) or MutationResult(m.id, "duplicate"))
            continue
        if m.id != last + 1:
            out.gap_expected = last + 1
            break
        command = parsed[m.id] if m.id in parsed else _parse(session, principal, m, staff_cache, witness)
        result = batch.apply(m, command)
        out.changed = out.changed or result.status == "applied"
        out.results.append(result)
        last = m.id
    batch.write()
    witness.write()  # who was named and what showed it, committed with what it let through
    state.last_applied = last  # in the same transaction as what was applied
    now = now_utc()
    state.last_push_at, state.pending = now, max(0, pending)
    state.oldest_pending_at = oldest_pending_at
    out.last_applied = state.last_applied
    if out.changed:
        uow.poke(principal.store_code)
    uow.commit()
    return out


def _logged(session: Session, device_id: str, ids: list[int]) -> dict[int, MutationResult]:
    """What became of mutations applied (or rejected) before: a replay gets the same answer."""
    if not ids:
        return {}
    found = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for mid, status, reason, detail in session.execute(
            select(MutationLog.mutation_id, MutationLog.status, MutationLog.reason, MutationLog.detail).where(
                MutationLog.device_id == device_id, MutationLog.mutation_id.in_(chunk)
            )
        ).all():
            found[mid] = MutationResult(mid, "duplicate" if status == "applied" else status, reason, detail)
    return {i: found.get(i) or MutationResult(i, "duplicate") for i in ids}


def _parse(
    session: Session, principal: Principal, m: Mutation, staff_cache: dict, witness: Witness
) -> Command | Rejected:
    """The command, or why it is rejected before anything is touched (malformed, not allowed, or the person
    it names did not sign in on this device)."""
    try:
        command = parse_command(m.name, m.version, m.args)
    except CommandError as exc:
        return Rejected(REJECT_MALFORMED, str(exc)[:200])
    number = m.staff_number or principal.staff_number
    key = (number, type(command))  # a batch is mostly one person doing one thing
    if key not in staff_cache:
        try:
            _check_actor(session, principal, number, command, staff_cache)
            staff_cache[key] = None
        except Rejected as exc:
            staff_cache[key] = exc
    refused: Rejected | None = staff_cache[key]
    staff = staff_cache.get(number) if number is not None else None
    # A name is a claim; the person's own sign-ins on this device are the evidence (server/actors.py).
    shown = witness.evidence(number, staff, as_utc(m.created_at)) if staff is not None else _NO_ONE
    if refused is None and shown.kind == NONE:
        refused = Rejected(REJECT_NOT_ALLOWED, shown.why)
    special = manager_only(command.permission)
    # A manager's action that nobody can show was signed in here is what a manager must look at.
    outcome = "review" if special and shown.kind == NONE else ("rejected" if refused else "ok")
    witness.record(number, staff, m.id, command.name, shown, outcome, special, refused.detail if refused else "")
    return refused or command


_NO_ONE = Evidence(NONE, why="no signed-in person")


def _check_actor(
    session: Session, principal: Principal, staff_number: str | None, command: Command, cache: dict
) -> None:
    """The person named exists, is active, and their role and store let them do this here. (That they
    signed in on this device is shown separately, by the evidence in server/actors.py.)"""
    number = staff_number
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


_PRODUCTS_OF = select(Product.sku).where(Product.sku.in_(bindparam("skus", expanding=True)))
_LOG_INSERT = insert(MutationLog.__table__)


class _Batch:
    """A batch's stock changes, worked out in memory and written together.

    Stock levels are read once (locked on PostgreSQL; SQLite's transaction holds the write lock),
    every stock command is checked against the figures as the batch has left them, and only a command
    that passes changes them: a rejected one leaves nothing to roll back, so it needs no SAVEPOINT.
    `write()` then books what the batch did: its ledger rows through the stock ledger (the levels, one
    version each, and the rows), and the mutation log, a statement each. An order step goes through
    orders.perform on what has been written so far, in a SAVEPOINT of its own, and the stock figures
    are read again after it.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        principal: Principal,
        clock_offset: timedelta = timedelta(0),
        witness: Witness | None = None,
    ) -> None:
        self.uow, self.session, self.principal, self.clock_offset = uow, uow.session, principal, clock_offset
        self.witness = witness  # who signed in on the device: a return's approver must have
        self.store: str = principal.store_code  # type: ignore[assignment]
        self.now = now_utc()
        self.on_hand: dict[str, int] = {}  # sku -> on hand here, as the batch has left it
        self.absent: set[str] = set()  # products with no level row here yet (inserted when changed)
        self.unknown: set[str] = set()  # no such product
        self.dirty: set[str] = set()  # levels the batch changed (or, not there yet, made at zero)
        self.movements: list[dict] = []
        self.log: list[dict] = []

    def load(self, skus: set[str]) -> None:
        wanted = sorted(s for s in skus if s not in self.on_hand and s not in self.unknown)
        found = self.uow.stock.lock(self.store, wanted)
        self.on_hand.update((sku, level.on_hand) for sku, level in found.items())
        missing = [s for s in wanted if s not in found]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            known = set(self.session.execute(_PRODUCTS_OF, {"skus": chunk}).scalars())
            for sku in chunk:
                if sku in known:
                    self.on_hand[sku] = 0
                    self.absent.add(sku)
                else:
                    self.unknown.add(sku)

    def apply(self, m: Mutation, command: Command | Rejected) -> MutationResult:
        status, reason, detail = "applied", "", ""
        try:
            if isinstance(command, Rejected):
                raise command
            if isinstance(command, AdjustStock | CountStock):
                self._stock(m, command)
            elif isinstance(command, OrderCommand):
                self._order(m, command)
            elif isinstance(command, ReturnCommand):
                self._return(m, command)
            else:  # pragma: no cover - COMMANDS and the handlers agree
                raise CommandError(f"no handler for {command.name}")
        except CommandError as exc:
            status, reason, detail = "rejected", REJECT_MALFORMED, str(exc)[:200]
        except Rejected as exc:
            status, reason, detail = "rejected", exc.reason, exc.detail[:200]
        p = self.principal
        self.log.append(
            {
                "device_id": p.device_id,
                "mutation_id": m.id,
                "store_code": p.store_code,
                "name": m.name[:40],
                "version": m.version,
                "args": m.args if status == "applied" or reason != REJECT_MALFORMED else {},
                "staff_number": m.staff_number or p.staff_number,
                "status": status,
                "reason": reason,
                "detail": detail,
                "created_at": as_utc(m.created_at) or m.created_at,
                "applied_at": self.now,
            }
        )
        return MutationResult(m.id, status, reason, detail)

    def _stock(self, m: Mutation, command: AdjustStock | CountStock) -> None:
        reason = command.reason if isinstance(command, AdjustStock) else "count"
        deltas = command.stock_deltas()
        if not all(sku in self.on_hand or sku in self.unknown for sku in deltas):
            self.load(set(deltas))
        after: dict[str, int] = {}
        for sku, delta in deltas.items():  # every SKU is checked before any is changed
            if sku in self.unknown:
                raise Rejected(REJECT_UNKNOWN_SKU, sku)
            n = stock_after(self.on_hand[sku], delta)
            if n is None:
                raise Rejected(REJECT_NEGATIVE_STOCK, f"{self.on_hand[sku]} on hand, change {delta}")
            after[sku] = n
        reference = f"{self.principal.device_id}:{m.id}"
        for sku, delta in deltas.items():
            if delta == 0:
                if sku in self.absent:
                    self.dirty.add(sku)  # the level row appears, at zero
                continue
            self.on_hand[sku] = after[sku]
            self.dirty.add(sku)
            self.movements.append(
                entry(self.store, sku, "on_hand", delta, reason, reference, self.now, self.principal.device_id, m.id)
            )

    def _order(self, m: Mutation, command: OrderCommand) -> None:
        self.write()  # the step sees the stock as the batch has left it
        p = self.principal
        try:
            with self._isolated("order", m):
                orders.perform(
                    self.uow,
                    self.store,
                    command,
                    m.staff_number or p.staff_number,
                    p.device_id,
                    m.id,
                    done_at=shifted(m.created_at, self.clock_offset) or m.created_at,
                )
        except OrderRefused as exc:
            raise Rejected(exc.reason, exc.detail) from None

    def _return(self, m: Mutation, command: ReturnCommand) -> None:
        """A return step (server/returns/), as an order step: in a SAVEPOINT of its own, on the stock as the batch
        has left it. A refusal a manager must see (units already returned) leaves its problem, written after the
        savepoint is rolled back."""
        self.write()
        p, witness, device_at = self.principal, self.witness, as_utc(m.created_at)

        def signed_in(number: str, person: Staff) -> Evidence:
            return witness.evidence(number, person, device_at) if witness is not None else _NO_ONE

        try:
            with self._isolated("return", m):
                returns.perform(
                    self.uow,
                    self.store,
                    command,
                    m.staff_number or p.staff_number,
                    p.device_id,
                    m.id,
                    done_at=shifted(m.created_at, self.clock_offset) or m.created_at,
                    signed_in=signed_in,
                )
        except ReturnRefused as exc:
            problem = getattr(exc, "problem", None)
            if problem is not None:
                returns.record_problem(self.uow, command.number, problem)
                self.uow.poke(self.store)  # the store's devices and managers see it at once
            raise Rejected(exc.reason, exc.detail) from None

    @contextmanager
    def _isolated(self, what: str, m: Mutation) -> Iterator[None]:
        """An order or return step in a SAVEPOINT of its own: a refusal half-way leaves nothing of it behind (the
        caller turns the refusal into a rejection). The step may have moved stock (a handover, a receipt): the
        batch reads the figures again after it."""
        try:
            with self.session.begin_nested():
                yield
        except DataError as exc:
            # A value this database cannot hold (input validation should have stopped it): the savepoint is
            # rolled back and this step alone is refused, else the device would resend the batch forever.
            # Lock timeouts, deadlocks and serialisation failures are not DataError: they fail the push.
            log.warning(
                "%s step %s of device %s refused by the database: %s",
                what,
                m.id,
                self.principal.device_id,
                type(exc.orig).__name__,
            )
            raise Rejected(
                REJECT_MALFORMED, f"the database could not store a value of this step ({type(exc.orig).__name__})"
            ) from None
        finally:
            self.on_hand.clear()
            self.absent.clear()
            self.unknown.clear()

    def write(self) -> None:
        if self.dirty:
            new = self.dirty & self.absent
            self.uow.stock.write(self.store, self.movements, new=new, now=self.now)
            self.absent -= new
            self.dirty.clear()
            self.movements = []
        if self.log:
            executemany(self.session, _LOG_INSERT, self.log)
            self.log = []
