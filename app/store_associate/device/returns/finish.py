"""Finishing a return: the items taken back and what becomes of them, the refund decided, or the return given up.

The refund is decided here on what was taken back (decide.refund_quote) and the server makes it when it gets the
command; the amounts decided per tender are kept beside the step, so that the sale shows them refunded (and no
second return refunds them again) until the pulled sale counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...domain.commands import CancelReturn, ReceivedLineIn, ReceiveReturn, RefundReturn
from ...domain.return_flow import Cancel, Disposition, Receive, Received, Refund, Refused, apply
from ...domain.returns import Condition, RefundMethod
from .checks import controls, make, too_long
from .decide import refund_quote
from .desk import Desk, one_at_a_time
from .keep import head, record_step
from .show import shown_of
from .steps import repeated
from .views import Quote, ReceivedItem, ReturnRefused, ShownReturn


class Finishing(Desk):
    @one_at_a_time
    def receive(self, return_id: str, items: Sequence[ReceivedItem]) -> ShownReturn:
        """The items taken back and what becomes of each line's units (restock, damaged, return to vendor,
        dispose), in one step. Lines left out were not brought back and are not refunded."""
        laid = self.steps.laid(head(self, return_id))
        received = []
        for item in items:
            if item.condition not in tuple(Condition):
                raise ReturnRefused("returns.device.invalid_condition", params={"line": item.line_no})
            if item.disposition not in tuple(Disposition):
                raise ReturnRefused("returns.device.invalid_disposition", params={"line": item.line_no})
            received.append(Received(item.line_no, item.qty, item.condition, Disposition(item.disposition)))
        if not received:
            raise Refused("returns.flow.no_lines")
        last = laid.live()[-1] if laid.live() else None
        again = [
            {"line_no": r.line_no, "qty": r.qty, "condition": r.condition, "disposition": str(r.disposition)}
            for r in received
        ]
        if last is not None and last.name == "receive_return" and last.args.get("lines") == again:
            return shown_of(self, laid)  # tapped twice
        apply(laid.ret, Receive(tuple(received)))  # refuses: more than recorded, another condition, refused line
        command = make(
            ReceiveReturn,
            return_id=return_id,
            lines=[
                make(ReceivedLineIn, line_no=r.line_no, qty=r.qty, condition=r.condition, disposition=r.disposition)
                for r in received
            ],
        )
        return shown_of(self, record_step(self, laid, command, {}, self.clock()))

    def refund_quote(self, return_id: str, prefer_store_credit: bool = False) -> Quote:
        """The refund of what was taken back, and where it goes (cards, cash from the till, balances, new store
        credit): what the screen shows before the clerk confirms."""
        laid = self.steps.laid(head(self, return_id))
        return refund_quote(self, laid, prefer_store_credit, self.clock())

    @one_at_a_time
    def refund(self, return_id: str, prefer_store_credit: bool = False, method: str | None = None) -> ShownReturn:
        """Decide the refund (the server makes it when it gets the command). `method`, when given, is a
        returns.RefundMethod value: "store_credit" is the same as `prefer_store_credit`."""
        if method is not None:
            try:
                prefer_store_credit = prefer_store_credit or RefundMethod(method) is RefundMethod.STORE_CREDIT
            except ValueError:
                raise ReturnRefused("returns.device.unknown_method") from None
        laid = self.steps.laid(head(self, return_id))
        last = laid.live()[-1] if laid.live() else None
        if (
            last is not None
            and last.name == "refund_return"
            and last.args.get("prefer_store_credit") == prefer_store_credit
        ):
            return shown_of(self, laid)  # tapped twice
        apply(laid.ret, Refund(prefer_store_credit))  # refuses: nothing taken back yet, refunded already
        now = self.clock()
        quote = refund_quote(self, laid, prefer_store_credit, now)
        command = make(
            RefundReturn, return_id=return_id, prefer_store_credit=prefer_store_credit, shown_total=quote.shown_total
        )
        local = {
            "refunds": [[p.seq, format(p.amount, "f")] for p in quote.decision.refunds if p.seq is not None],
            "total": quote.shown_total,
        }
        return shown_of(self, record_step(self, laid, command, local, now, credit=quote.decision.totals.refund))

    @one_at_a_time
    def cancel(self, return_id: str, reason: str) -> ShownReturn:
        """Give the return up before it is refunded (units taken back go back to the customer)."""
        reason = reason.strip()
        controls(reason)
        too_long(reason, 200)
        laid = self.steps.laid(head(self, return_id))
        if not reason:
            raise Refused("returns.flow.cancel_reason_missing")
        command = make(CancelReturn, return_id=return_id, reason=reason)
        if repeated(laid, command):
            return shown_of(self, laid)
        apply(laid.ret, Cancel(reason))  # refuses: refunded already, units sent to the vendor
        return shown_of(self, record_step(self, laid, command, {}, self.clock()))
