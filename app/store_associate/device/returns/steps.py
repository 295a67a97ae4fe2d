"""A return made on this device, laid over from the steps it recorded (store/returns.py): each step's fate at the
server (from the outbox), the state the same machine as the server's gives (domain/return_flow.py), and what the
device's returns of a sale hold that the pulled sale does not count yet.

A step is pending while the outbox holds it; then applied (the server took it), or rejected (with the server's
reason, kept in the return log so it is still shown once the person has dismissed it from the outbox); applied and
confirmed once a complete pull has brought the figures it changed: from then on the sale as pulled counts what the
return took back, and the return holds nothing of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...domain.commands import CommandError, ReturnCommand, encode, return_number
from ...domain.return_flow import (
    TAKEN_BACK,
    Action,
    Approve,
    Cancel,
    Disposition,
    Line,
    Receive,
    Received,
    RecordLines,
    Refund,
    Refused,
    Return,
    ReturnStatus,
    apply,
    open_return,
)
from ...domain.returns import Outcome
from ..outbox import Outbox
from ..store.returns import ReturnHead, ReturnLog, Step
from .facts import Holds
from .views import LineRequest, Rejection

# A return the server sent, of another device, that holds units its sale does not count yet: lines recorded, not
# refunded (at the refund the server marks the sale's units returned, and the pull brings the sale again).
_HOLDING = frozenset({"evaluated", "awaiting_approval", "approved", "received", "dispositioned"})
_RECEIVED = frozenset({"received", "dispositioned"})


@dataclass(frozen=True)
class Fate:
    """Where a step stands: pending (in the outbox, to be sent), rejected (the server refused it, with its reason),
    applied (sent and applied) or confirmed (applied, and in the figures pulled since)."""

    fate: str
    reason: str = ""
    detail: str = ""


class Laid:
    """A return laid over from its steps: the state, each step's fate, and the steps still waiting to be sent."""

    def __init__(self, head: ReturnHead, ret: Return, steps: list[Step], fates: dict[int, Fate]) -> None:
        self.head, self.ret, self.steps, self.fates = head, ret, steps, fates

    def fate(self, step: Step) -> str:
        return self.fates[step.outbox_id].fate

    def live(self) -> list[Step]:
        """The steps the server has not refused."""
        return [s for s in self.steps if self.fate(s) != "rejected"]

    def last(self, name: str) -> Step | None:
        return next((s for s in reversed(self.live()) if s.name == name), None)

    @property
    def pending(self) -> int:
        return sum(1 for s in self.steps if self.fate(s) == "pending")

    def rejections(self) -> tuple[Rejection, ...]:
        out = []
        for s in self.steps:
            fate = self.fates[s.outbox_id]
            if fate.fate == "rejected":
                out.append(Rejection(s.name, fate.reason or "reject.malformed", fate.detail, s.outbox_id, s.at))
        return tuple(out)


class ReturnSteps:
    """The return log read against the outbox."""

    def __init__(self, outbox: Outbox, log: ReturnLog) -> None:
        self.outbox, self.log = outbox, log

    def fates(self, outbox_ids: list[int], steps: Sequence[Step] = ()) -> dict[int, Fate]:
        """Each step's fate, from the outbox (one query). A refusal seen there is kept in the return log, so that it
        is still shown after the person has dismissed it from the outbox."""
        kept = {s.outbox_id: s for s in steps}
        looked = [oid for oid in outbox_ids if oid not in kept or kept[oid].status == "sent"]
        entries = self.outbox.entries_by_id(looked) if looked else {}
        limit = self.outbox.confirmed_upto + self.outbox.base
        fates: dict[int, Fate] = {}
        rejected, gone = [], []
        for oid in outbox_ids:
            step = kept.get(oid)
            entry = entries.get(oid)
            if step is not None and step.status == "rejected":
                fates[oid] = Fate("rejected", step.reason, step.detail)
            elif entry is not None and entry.status == "rejected":
                fates[oid] = Fate("rejected", entry.reason, entry.detail)
                rejected.append((oid, entry.reason, entry.detail))
            elif entry is not None:
                fates[oid] = Fate("pending")  # pending, or orphaned (kept for review, not sent)
            else:
                fates[oid] = Fate("confirmed" if oid <= limit else "applied")
                if oid in looked:
                    gone.append(oid)
        if rejected:
            self.log.mark_rejected(rejected)
        if gone:
            self.log.mark_gone(gone)
        return fates

    def laid(self, head: ReturnHead, steps: list[Step] | None = None) -> Laid:
        if steps is None:
            steps = self.log.steps([head.return_id])[head.return_id]
        fates = self.fates([s.outbox_id for s in steps], steps)
        ret = open_return(return_number(head.return_id), head.store, head.clerk)
        for step in steps:
            if fates[step.outbox_id].fate == "rejected":
                continue
            try:
                action = step_action(step, head)
                if action is not None:
                    ret, _ = apply(ret, action)
            except (Refused, CommandError, KeyError, TypeError, ValueError):
                continue  # the server refuses it too, and says so (a step an older app recorded, say)
        return Laid(head, ret, steps, fates)

    def holds(self, receipt: str, exclude: str) -> Holds:
        """What the store's returns of the sale hold that the pulled sale does not count yet: this device's own
        (as laid over here), and other devices' as the server last sent them (lines recorded, not yet refunded).
        The return `exclude` holds nothing for itself; once its refund is in the pulled figures, they are taken
        back out, so that it is shown as it was decided."""
        holds = Holds()
        if not receipt:
            return holds
        heads = self.log.of_sale(receipt)
        mine = {return_number(h.return_id) for h in heads}
        for other in self.log.pulled_of_sale(receipt):
            if other.get("number") in mine or other.get("status") not in _HOLDING:
                continue
            taken_back = other.get("status") in _RECEIVED
            for ln in other.get("lines") or ():
                if ln.get("outcome") == Outcome.REFUSED.value or ln.get("sale_line_no") is None:
                    continue
                units = int(ln.get("received_qty") or 0) if taken_back else int(ln.get("qty") or 0)
                holds.hold(int(ln["sale_line_no"]), units, str(other.get("number")))
        if not heads:
            return holds
        steps = self.log.steps([h.return_id for h in heads])
        for head in heads:
            laid = self.laid(head, steps[head.return_id])
            ret = laid.ret
            if ret.status in (ReturnStatus.CANCELLED, ReturnStatus.REFUSED):
                continue
            refund = laid.last("refund_return")
            confirmed = refund is not None and laid.fate(refund) == "confirmed"
            own = head.return_id == exclude
            if own and not confirmed:
                continue
            if confirmed and not own:
                continue  # in the pulled sale already
            sign = -1 if own else 1
            taken_back = ret.status in TAKEN_BACK or ret.status in (ReturnStatus.REFUNDED, ReturnStatus.CLOSED)
            for ln in ret.lines:
                if ln.outcome is Outcome.REFUSED or ln.sale_line_no is None:
                    continue
                units = ln.received if taken_back else ln.qty
                holds.hold(ln.sale_line_no, sign * units, return_number(head.return_id))
            for seq, amount in refund.local.get("refunds", []) if refund is not None else []:
                holds.refund(int(seq), sign * Decimal(str(amount)))
        return holds


def repeated(laid: Laid, command: ReturnCommand) -> bool:
    """The step is the one last recorded on this return, again (tapped twice): it is not recorded twice."""
    live = laid.live()
    name, _, args = encode(command)
    return bool(live) and (live[-1].name, live[-1].args) == (name, args)


def line_json(line: Line) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "sku": line.sku,
        "qty": line.qty,
        "reason": line.reason,
        "condition": line.condition,
        "outcome": line.outcome.value,
        "sale_line_no": line.sale_line_no,
    }


def line_request(line: Line, recorded: Mapping[str, Any]) -> LineRequest:
    return LineRequest(
        qty=line.qty,
        condition=line.condition,
        reason=line.reason,
        note=str(recorded.get("note", "")),
        sale_line_no=line.sale_line_no,
        sku=line.sku if line.sale_line_no is None else "",
        serial=str(recorded.get("serial", "")),
    )


def step_action(step: Step, head: ReturnHead) -> Action | None:
    """The state machine's action for a kept step (None: open_return, which makes the return)."""
    args, local = step.args, step.local
    if step.name == "open_return":
        return None
    if step.name == "return_lines":
        return RecordLines(
            tuple(
                Line(
                    line_no=int(ln["line_no"]),
                    sku=str(ln["sku"]),
                    qty=int(ln["qty"]),
                    reason=str(ln["reason"]),
                    condition=str(ln["condition"]),
                    outcome=Outcome(ln["outcome"]),
                    sale_line_no=ln.get("sale_line_no"),
                )
                for ln in local["lines"]
            )
        )
    if step.name == "approve_return":
        return Approve(
            str(args["approver"]),
            str(local.get("role", "")),
            head.clerk,
            str(args["reason"]),
            str(args["note"]),
            tuple(int(n) for n in args["lines"]),
        )
    if step.name == "receive_return":
        return Receive(
            tuple(
                Received(int(r["line_no"]), int(r["qty"]), str(r["condition"]), Disposition(r["disposition"]))
                for r in args["lines"]
            )
        )
    if step.name == "refund_return":
        return Refund(bool(args.get("prefer_store_credit")))
    if step.name == "cancel_return":
        return Cancel(str(args["reason"]))
    raise CommandError(f"{step.name} is not a return step")
