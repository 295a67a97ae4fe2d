"""Recording what is returned: the lines with the policy's decision, and a manager's approval of what the policy
will not let the clerk accept alone (their PIN checked against this device's offline verifier: override.py).

The policy decides on the device's own copy (decide.py), so the clerk sees the decision while typing and it
stands with no network. A line whose input is wrong is refused on the device with the policy's explanations, and
nothing recorded, so that the clerk corrects it; a line the policy refuses for the customer's case is a decision,
recorded as refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...domain.commands import ApproveReturn, RecordReturnLines, ReturnLineIn
from ...domain.return_flow import Approve, RecordLines, Refused, apply, decided_lines
from ...domain.returns import Explanation, Outcome, ReturnDecision, check_override
from .checks import controls, make, too_long
from .decide import decide
from .desk import Desk, one_at_a_time
from .keep import head, record_step
from .override import verified_manager
from .show import shown_of
from .steps import Laid, line_json, repeated
from .views import LineRequest, Quote, ReturnRefused, ShownReturn

# The policy's refusals that say the input is wrong (not the customer's case): the step is refused on the device,
# nothing recorded, so that the clerk corrects it. The others (window passed, final sale) are decisions, recorded.
_INPUT_ERRORS = frozenset(
    f"returns.why.{key}"
    for key in (
        *("reason_missing", "reason_unknown", "other_needs_note", "note_too_long", "condition_unknown"),
        *("qty_not_positive", "all_returned", "qty_above_left", "line_unknown", "serial_missing", "serial_mismatch"),
    )
)
_UNITS_GONE = frozenset({"returns.why.all_returned", "returns.why.qty_above_left"})


class Recording(Desk):
    def quote(self, return_id: str, lines: Sequence[LineRequest]) -> Quote:
        """The policy's decision on these lines, without recording anything (for the screen while typing)."""
        laid = self.steps.laid(head(self, return_id))
        _check_lines(lines)
        return decide(self, laid, lines, self.clock())[0]

    @one_at_a_time
    def record_lines(self, return_id: str, lines: Sequence[LineRequest]) -> ShownReturn:
        """Record the return's lines (the whole list: numbered 1.. in this order) with the policy's decision. A line
        whose input is wrong (more than is left, a serial number that does not match, a missing reason) refuses the
        step with the policy's explanations, and nothing is recorded; a line the policy refuses for the customer's
        case (past the window, final sale) is recorded as refused."""
        laid = self.steps.laid(head(self, return_id))
        _check_lines(lines)
        if not lines:
            raise Refused("returns.flow.no_lines")
        if not laid.head.sale_receipt and any(not line.sku.strip() for line in lines):
            raise ReturnRefused("returns.device.item_unknown")  # without a receipt, each line is a scanned item
        now = self.clock()
        _, decision = decide(self, laid, lines, now)
        _refuse_bad_input(self, laid, decision)
        recorded = [
            make(
                ReturnLineIn,
                line_no=n,
                sale_line_no=line.sale_line_no if laid.head.sale_receipt else None,
                sku="" if laid.head.sale_receipt else line.sku.strip(),
                qty=line.qty,
                condition=line.condition,
                reason=line.reason,
                note=line.note,
                serial=line.serial.strip(),
            )
            for n, line in enumerate(lines, start=1)
        ]
        command = make(RecordReturnLines, return_id=return_id, lines=recorded)
        if repeated(laid, command):
            return shown_of(self, laid)
        decided = decided_lines(recorded, decision)
        apply(laid.ret, RecordLines(decided))  # refuses with the server's rules (received already, reason locked)
        local = {"lines": [line_json(ln) for ln in decided]}
        return shown_of(self, record_step(self, laid, command, local, now, credit=decision.totals.refund))

    @one_at_a_time
    def approve(
        self,
        return_id: str,
        approver: str,
        pin: str,
        reason: str,
        note: str,
        lines: Sequence[int] | None = None,
    ) -> ShownReturn:
        """A manager approves, on this device, what the policy would not let the clerk accept alone: their staff
        number and PIN are checked against this device's offline verifier (people who signed in here online
        within the offline window), wrong PINs count towards the same lockout as sign-in, and the PIN is kept
        nowhere. `lines` default to every line waiting for a manager."""
        laid = self.steps.laid(head(self, return_id))
        note = note.strip()
        controls(note)
        wanted = (
            tuple(lines)
            if lines is not None
            else tuple(ln.line_no for ln in laid.ret.lines if ln.outcome is Outcome.NEEDS_MANAGER and not ln.approved)
        )
        if not wanted:
            last = laid.live()[-1] if laid.live() else None
            if last is not None and last.name == "approve_return":
                return shown_of(self, laid)  # tapped twice: the lines it approved wait no more
            raise ReturnRefused("returns.device.override.nothing_to_approve")
        manager = verified_manager(
            self.store.staff, approver.strip(), pin, self.clock(), self.offline_days(), self.store_code()
        )
        problem = check_override(manager[1], manager[0], laid.head.clerk, reason, note)
        if problem is not None:
            raise ReturnRefused(problem.key, params=problem.params)
        command = make(
            ApproveReturn, return_id=return_id, approver=manager[0], reason=reason, note=note, lines=list(wanted)
        )
        if repeated(laid, command):
            return shown_of(self, laid)
        apply(laid.ret, Approve(manager[0], manager[1], laid.head.clerk, reason, note, wanted))
        return shown_of(self, record_step(self, laid, command, {"role": manager[1]}, self.clock()))


def _check_lines(lines: Sequence[LineRequest]) -> None:
    if len(lines) > 100:
        raise ReturnRefused("returns.device.too_many_lines", params={"max": 100})
    for line in lines:
        controls(line.note, line.serial, line.sku)
        too_long(line.serial, 40)
        too_long(line.sku, 32)


def _refuse_bad_input(desk: Desk, laid: Laid, decision: ReturnDecision) -> None:
    bad = [d for d in decision.lines if any(e.key in _INPUT_ERRORS for e in d.explanations)]
    if not bad:
        return
    why: list[Explanation] = []
    for d in bad:
        why += [
            Explanation("returns.device.line", {"line": d.index + 1}),
            *(e for e in d.explanations if e.key in _INPUT_ERRORS),
        ]
        gone = any(e.key in _UNITS_GONE for e in d.explanations)
        if gone and d.line_no is not None:
            holders = desk.steps.holds(laid.head.sale_receipt, laid.head.return_id).holders.get(d.line_no, [])
            if holders:
                why.append(Explanation("returns.device.held_by", {"returns": ", ".join(holders)}))
    raise ReturnRefused(
        "returns.device.lines_refused",
        params={"lines": ", ".join(str(d.index + 1) for d in bad)},
        explanations=tuple(why),
    )
