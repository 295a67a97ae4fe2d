"""Customer returns: the life cycle, as pure functions (like pickup.py for orders).

    DRAFT -> EVALUATED -> (AWAITING_APPROVAL -> APPROVED) -> RECEIVED -> DISPOSITIONED -> REFUNDED -> CLOSED

- DRAFT: opened at the counter (with a receipt, a gift receipt, or none); no lines yet.
- EVALUATED: lines recorded and the policy's decision kept, nothing needs a manager. A line that needs one makes
  it AWAITING_APPROVAL until a manager approves (APPROVED; approving when nothing needed it also gives APPROVED).
- RECEIVED: the items taken back (quantity and condition per line); DISPOSITIONED: what becomes of each unit
  decided (restock, damaged, return to vendor, dispose), each a stock movement. At the counter both happen in one
  step (receive_return); a parcel inspected later may be received first and dispositioned afterwards.
- REFUNDED: the refund is decided (on a device: waiting for the server to make it); CLOSED: the server made it
  (card refunds queued to the payment provider, balances credited, store credit issued, the receipt e-mailed).
- Side exits: CANCELLED, at any time before REFUNDED (units already taken back go back to the customer; not
  when some were sent to the vendor or thrown away); REFUSED when the policy refuses every line (the lines may
  be recorded again, e.g. with the condition corrected, or the return cancelled).
- A carrier return starts as REQUESTED (the web shop opened it with an RMA label), may go IN_TRANSIT, and is
  DRAFT again once the parcel arrives at a store; from there it is a return like any other.

`apply(ret, action)` returns the next state and its `Effects`, or raises `Refused` with an i18n key (under
"returns.flow.", or the policy's "returns.override_refused." for an approval). It evaluates no policy: the
caller evaluates (domain/returns.evaluate) and hands the outcome of each line in with `RecordLines`; the server
does so with its own facts, the device with its copy, so each side applies its own decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .pickup import replace
from .return_facts import ReturnDecision
from .return_overrides import check_override, reason_change_allowed
from .return_rules import Outcome


class Disposition(StrEnum):
    """What becomes of a unit taken back: each one a stock movement in the ledger."""

    RESTOCK = "restock"  # back on the shelf here (first to an open pickup order short of it)
    DAMAGED = "damaged"  # held as damaged: counted, not sellable
    RETURN_TO_VENDOR = "return_to_vendor"  # leaves the store for the supplier
    DISPOSE = "dispose"  # thrown away


GONE = frozenset({Disposition.RETURN_TO_VENDOR, Disposition.DISPOSE})  # units no longer in the store


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    IN_TRANSIT = "in_transit"
    DRAFT = "draft"
    EVALUATED = "evaluated"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    RECEIVED = "received"
    DISPOSITIONED = "dispositioned"
    REFUNDED = "refunded"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


FINAL = frozenset({ReturnStatus.CLOSED, ReturnStatus.CANCELLED})
NOT_ARRIVED = frozenset({ReturnStatus.REQUESTED, ReturnStatus.IN_TRANSIT})
RECORDABLE = frozenset(
    {
        ReturnStatus.DRAFT,
        ReturnStatus.EVALUATED,
        ReturnStatus.AWAITING_APPROVAL,
        ReturnStatus.APPROVED,
        ReturnStatus.REFUSED,
    }
)
APPROVABLE = frozenset({ReturnStatus.EVALUATED, ReturnStatus.AWAITING_APPROVAL, ReturnStatus.APPROVED})
RECEIVABLE = frozenset({ReturnStatus.EVALUATED, ReturnStatus.APPROVED})
TAKEN_BACK = frozenset({ReturnStatus.RECEIVED, ReturnStatus.DISPOSITIONED})


class Refused(Exception):
    """The action does not fit the return's state. `reason` is an i18n key, `detail` says which line or state."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


_REFUSALS = """closed refunded not_requested arrived_already not_arrived received_already no_lines all_refused
awaiting_approval not_received not_dispositioned dispositioned_already not_refunded duplicate_line bad_qty
reason_locked no_such_line line_refused qty_above_recorded condition_differs line_not_received
disposition_missing units_gone cancel_reason_missing"""
REFUSALS = frozenset(f"returns.flow.{key}" for key in _REFUSALS.split())
"""Every returns.flow.* key `apply` can refuse with (the catalogues must have them all)."""


@dataclass(frozen=True)
class Line:
    """A line of the return. `outcome` is the policy's decision for it; `approved`: a manager approved it;
    `received`: units taken back (0 until then); `disposition`: what became of them."""

    line_no: int
    sku: str
    qty: int
    reason: str
    condition: str
    outcome: Outcome = Outcome.ALLOWED
    sale_line_no: int | None = None
    approved: bool = False
    received: int = 0
    disposition: Disposition | None = None


@dataclass(frozen=True)
class Return:
    number: str  # R-<return id>
    store: str
    status: ReturnStatus
    lines: tuple[Line, ...] = ()
    clerk: str = ""  # staff number of who opened it
    approver: str = ""  # staff number of the manager who approved it, if one did

    def line(self, line_no: int) -> Line:
        for ln in self.lines:
            if ln.line_no == line_no:
                return ln
        raise Refused("returns.flow.no_such_line", str(line_no))


def open_return(number: str, store: str, clerk: str, *, requested: bool = False) -> Return:
    """A new return: DRAFT at a counter, REQUESTED when the web shop opens one to come by carrier."""
    return Return(number, store, ReturnStatus.REQUESTED if requested else ReturnStatus.DRAFT, clerk=clerk)


# --- actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ship:
    """The customer sent the parcel (a carrier return)."""


@dataclass(frozen=True)
class Arrive:
    """The parcel arrived at a store: from here it is handled like a return at the counter."""


@dataclass(frozen=True)
class RecordLines:
    """The return's lines as they now stand, each with the policy's outcome (see decided_lines)."""

    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Approve:
    """A manager's override: `approver` (role `approver_role`) approves `lines` for `clerk`, why and a note."""

    approver: str
    approver_role: str
    clerk: str
    reason: str
    note: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Received:
    line_no: int
    qty: int
    condition: str
    disposition: Disposition | None = None  # None: decided later (SetDispositions)


@dataclass(frozen=True)
class Receive:
    lines: tuple[Received, ...]


@dataclass(frozen=True)
class SetDispositions:
    """What becomes of the units of each received line that has no disposition yet."""

    lines: tuple[tuple[int, Disposition], ...]


@dataclass(frozen=True)
class Refund:
    prefer_store_credit: bool = False


@dataclass(frozen=True)
class Close:
    """The server made the refund."""


@dataclass(frozen=True)
class Cancel:
    reason: str


Action = Ship | Arrive | RecordLines | Approve | Receive | SetDispositions | Refund | Close | Cancel


# --- effects --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockMove:
    """Units of a line to book: `qty` > 0 taken back with `disposition`; < 0 given back to the customer."""

    line_no: int
    sku: str
    qty: int
    disposition: Disposition


@dataclass(frozen=True)
class Approval:
    approver: str
    reason: str
    note: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Effects:
    """What the step means outside the return: stock to book, a refund to make, an approval to audit, a message."""

    stock: tuple[StockMove, ...] = ()
    refund: tuple[tuple[int, int], ...] = ()  # (line_no, units) to refund now
    prefer_store_credit: bool = False
    approval: Approval | None = None
    notify: str | None = None  # "return_receipt"


# --- the machine ----------------------------------------------------------------------------------------


def apply(ret: Return, action: Action) -> tuple[Return, Effects]:
    status = ret.status
    if status in FINAL:
        raise Refused("returns.flow.closed", status.value)
    if status is ReturnStatus.REFUNDED and not isinstance(action, Close):
        raise Refused("returns.flow.refunded", status.value)
    match action:
        case Ship():
            if status is not ReturnStatus.REQUESTED:
                raise Refused("returns.flow.not_requested", status.value)
            return replace(ret, status=ReturnStatus.IN_TRANSIT), Effects()
        case Arrive():
            if status not in NOT_ARRIVED:
                raise Refused("returns.flow.arrived_already", status.value)
            return replace(ret, status=ReturnStatus.DRAFT), Effects()
        case RecordLines(lines=lines):
            return _record(ret, lines), Effects()
        case Approve():
            return _approve(ret, action)
        case Receive(lines=received):
            return _receive(ret, received)
        case SetDispositions(lines=given):
            return _dispose(ret, given)
        case Refund(prefer_store_credit=prefer):
            if status is not ReturnStatus.DISPOSITIONED:
                otherwise = (
                    "returns.flow.not_dispositioned" if status is ReturnStatus.RECEIVED else "returns.flow.not_received"
                )
                raise Refused(_not_yet(status, otherwise), status.value)
            refund = tuple((ln.line_no, ln.received) for ln in ret.lines if ln.received > 0)
            return (
                replace(ret, status=ReturnStatus.REFUNDED),
                Effects(refund=refund, prefer_store_credit=prefer, notify="return_receipt"),
            )
        case Close():
            if status is not ReturnStatus.REFUNDED:
                raise Refused("returns.flow.not_refunded", status.value)
            return replace(ret, status=ReturnStatus.CLOSED), Effects()
        case Cancel(reason=why):
            return _cancel(ret, why)
    raise Refused("returns.flow.unknown_action", type(action).__name__)  # pragma: no cover


def _not_yet(status: ReturnStatus, otherwise: str) -> str:
    """Why a return is not ready for a step, in the words that help most (`otherwise`: the step's own)."""
    if status in NOT_ARRIVED:
        return "returns.flow.not_arrived"
    if status is ReturnStatus.DRAFT:
        return "returns.flow.no_lines"
    if status is ReturnStatus.REFUSED:
        return "returns.flow.all_refused"
    if status is ReturnStatus.AWAITING_APPROVAL:
        return "returns.flow.awaiting_approval"
    return otherwise


def _too_late(status: ReturnStatus) -> str:
    """Why a step of before the receipt no longer fits."""
    return "returns.flow.received_already" if status in TAKEN_BACK else _not_yet(status, "returns.flow.no_lines")


def _settle(ret: Return) -> Return:
    """The status the lines give: every line refused, one awaiting a manager, approved, or simply evaluated."""
    counted = [ln for ln in ret.lines if ln.outcome is not Outcome.REFUSED]
    if not counted:
        return replace(ret, status=ReturnStatus.REFUSED)
    if any(ln.outcome is Outcome.NEEDS_MANAGER and not ln.approved for ln in counted):
        return replace(ret, status=ReturnStatus.AWAITING_APPROVAL)
    return replace(ret, status=ReturnStatus.APPROVED if ret.approver else ReturnStatus.EVALUATED)


def _distinct(numbers: Sequence[int]) -> None:
    if len(set(numbers)) != len(numbers):
        raise Refused("returns.flow.duplicate_line", ",".join(map(str, numbers))[:80])


def _same_facts(a: Line, b: Line) -> bool:
    return (a.sale_line_no, a.sku, a.qty, a.condition, a.reason) == (
        b.sale_line_no,
        b.sku,
        b.qty,
        b.condition,
        b.reason,
    )


def _record(ret: Return, lines: tuple[Line, ...]) -> Return:
    if ret.status in NOT_ARRIVED:
        raise Refused("returns.flow.not_arrived", ret.status.value)
    if ret.status in TAKEN_BACK:
        raise Refused("returns.flow.received_already", ret.status.value)
    if not lines:
        raise Refused("returns.flow.no_lines")
    _distinct([ln.line_no for ln in lines])
    before = {ln.line_no: ln for ln in ret.lines}
    new: list[Line] = []
    for ln in lines:
        if ln.qty < 1:
            raise Refused("returns.flow.bad_qty", str(ln.line_no))
        old = before.get(ln.line_no)
        if old is not None and not reason_change_allowed(old.reason, ln.reason):
            raise Refused("returns.flow.reason_locked", f"{ln.line_no}: {old.reason}")
        # An approval holds for the line the manager saw: recorded again unchanged, it stays approved.
        approved = old is not None and old.approved and _same_facts(old, ln)
        new.append(replace(ln, approved=approved, received=0, disposition=None))
    approver = ret.approver if any(ln.approved for ln in new) else ""
    return _settle(replace(ret, lines=tuple(sorted(new, key=lambda x: x.line_no)), approver=approver))


def _approve(ret: Return, action: Approve) -> tuple[Return, Effects]:
    if ret.status not in APPROVABLE:
        raise Refused(_too_late(ret.status), ret.status.value)
    # Four eyes: the approver is neither the clerk asking now nor the one who opened the return.
    for clerk in dict.fromkeys((action.clerk, ret.clerk)):
        problem = check_override(action.approver_role, action.approver, clerk, action.reason, action.note)
        if problem is not None:
            raise Refused(problem.key, action.approver[:16])
    if not action.lines:
        raise Refused("returns.flow.no_lines")
    _distinct(action.lines)
    for n in action.lines:
        if ret.line(n).outcome is Outcome.REFUSED:
            raise Refused("returns.flow.line_refused", str(n))
    lines = tuple(replace(ln, approved=True) if ln.line_no in action.lines else ln for ln in ret.lines)
    approval = Approval(action.approver, str(action.reason), action.note, tuple(sorted(action.lines)))
    return _settle(replace(ret, lines=lines, approver=action.approver)), Effects(approval=approval)


def _receive(ret: Return, received: tuple[Received, ...]) -> tuple[Return, Effects]:
    if ret.status not in RECEIVABLE:
        raise Refused(_too_late(ret.status), ret.status.value)
    if not received:
        raise Refused("returns.flow.no_lines")
    _distinct([r.line_no for r in received])
    got = {}
    for r in received:
        line = ret.line(r.line_no)
        if line.outcome is Outcome.REFUSED:
            raise Refused("returns.flow.line_refused", str(r.line_no))
        if r.qty < 1:
            raise Refused("returns.flow.bad_qty", str(r.line_no))
        if r.qty > line.qty:
            raise Refused("returns.flow.qty_above_recorded", f"{r.line_no}: {r.qty} > {line.qty}")
        if r.condition != line.condition:
            # The policy decided on the condition recorded: a different one is recorded first (return_lines).
            raise Refused("returns.flow.condition_differs", f"{r.line_no}: {line.condition} -> {r.condition}")
        got[r.line_no] = r
    lines = tuple(
        replace(ln, received=got[ln.line_no].qty, disposition=got[ln.line_no].disposition) if ln.line_no in got else ln
        for ln in ret.lines
    )
    moves = tuple(
        StockMove(ln.line_no, ln.sku, ln.received, ln.disposition) for ln in lines if ln.disposition is not None
    )
    done = all(r.disposition is not None for r in received)
    status = ReturnStatus.DISPOSITIONED if done else ReturnStatus.RECEIVED
    return replace(ret, lines=lines, status=status), Effects(stock=moves)


def _dispose(ret: Return, given: tuple[tuple[int, Disposition], ...]) -> tuple[Return, Effects]:
    if ret.status is ReturnStatus.DISPOSITIONED:
        raise Refused("returns.flow.dispositioned_already", ret.status.value)
    if ret.status is not ReturnStatus.RECEIVED:
        raise Refused(_not_yet(ret.status, "returns.flow.not_received"), ret.status.value)
    _distinct([n for n, _ in given])
    waiting = {ln.line_no for ln in ret.lines if ln.received > 0 and ln.disposition is None}
    for n, _ in given:
        if ret.line(n).received == 0:
            raise Refused("returns.flow.line_not_received", str(n))
        if n not in waiting:
            raise Refused("returns.flow.dispositioned_already", str(n))
    missing = waiting - {n for n, _ in given}
    if missing:
        raise Refused("returns.flow.disposition_missing", ",".join(map(str, sorted(missing))))
    chosen = dict(given)
    lines = tuple(replace(ln, disposition=chosen[ln.line_no]) if ln.line_no in chosen else ln for ln in ret.lines)
    moves = tuple(
        StockMove(ln.line_no, ln.sku, ln.received, chosen[ln.line_no]) for ln in lines if ln.line_no in chosen
    )
    return replace(ret, lines=lines, status=ReturnStatus.DISPOSITIONED), Effects(stock=moves)


def _cancel(ret: Return, why: str) -> tuple[Return, Effects]:
    if not why.strip():
        raise Refused("returns.flow.cancel_reason_missing")
    gone = [ln.line_no for ln in ret.lines if ln.received > 0 and ln.disposition in GONE]
    if gone:
        raise Refused("returns.flow.units_gone", ",".join(map(str, gone)))
    # Units taken back go back to the customer: what was booked is booked out again.
    back = tuple(
        StockMove(ln.line_no, ln.sku, -ln.received, ln.disposition)
        for ln in ret.lines
        if ln.received > 0 and ln.disposition is not None
    )
    return replace(ret, status=ReturnStatus.CANCELLED), Effects(stock=back)


# --- from what was recorded to lines --------------------------------------------------------------------


class LineInput(Protocol):
    """A line as recorded (commands.ReturnLineIn is one)."""

    @property
    def line_no(self) -> int: ...
    @property
    def sale_line_no(self) -> int | None: ...
    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> int: ...
    @property
    def condition(self) -> str: ...
    @property
    def reason(self) -> str: ...


def decided_lines(recorded: Sequence[LineInput], decision: ReturnDecision) -> tuple[Line, ...]:
    """The return's lines from what was recorded and the policy's decision on it (evaluate's facts.lines in the
    same order): each line's SKU (the sale line's, with a receipt) and outcome."""
    by_index = {d.index: d for d in decision.lines}
    lines = []
    for i, r in enumerate(recorded):
        d = by_index.get(i)
        lines.append(
            Line(
                line_no=r.line_no,
                sku=(d.sku if d is not None and d.sku else r.sku),
                qty=r.qty,
                reason=str(r.reason),
                condition=str(r.condition),
                outcome=d.outcome if d is not None else Outcome.REFUSED,
                sale_line_no=r.sale_line_no,
            )
        )
    return tuple(lines)
