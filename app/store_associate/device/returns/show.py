"""A return as the device shows it: its state as this device's steps give it, the decision on it as it stands
(on the lines as recorded, or on what was taken back once it was), what is still to be sent or was refused, and
what the server last said of it. Shown from the device's copy alone, so a return made offline shows at once.
"""

from __future__ import annotations

from datetime import datetime

from ...domain.commands import return_number
from ...domain.return_flow import Refused, ReturnStatus
from ...domain.returns import Explanation, evaluate
from .decide import card_last4, facts_of, recorded_lines, refund_quote, requested_lines
from .desk import Desk
from .facts import LineInfo, quote_of
from .keep import adopt_once
from .steps import Laid, line_request
from .views import Quote, ReturnSummary, ShownReturn

_OPEN = ("draft", "evaluated", "awaiting_approval", "approved", "received", "dispositioned", "refused")


def shown_of(desk: Desk, laid: Laid) -> ShownReturn:
    head, ret = laid.head, laid.ret
    quote: Quote | None = None
    notices: tuple[Explanation, ...] = ()
    try:
        if any(ln.received > 0 for ln in ret.lines) and ret.status is not ReturnStatus.CANCELLED:
            refund = laid.last("refund_return")
            at = datetime.fromisoformat(refund.at) if refund else desk.clock()
            prefer = bool(refund.args.get("prefer_store_credit")) if refund else False
            quote = refund_quote(desk, laid, prefer, at)
        elif ret.lines:
            step = laid.last("return_lines")
            at = datetime.fromisoformat(step.at) if step else desk.clock()
            recorded = recorded_lines(laid)
            requests = [line_request(ln, recorded.get(ln.line_no, {})) for ln in ret.lines]
            requested, info = requested_lines(desk, head, requests)
            info = [
                LineInfo(ln.line_no, ln.sale_line_no, i.name, ln.approved)
                for ln, i in zip(ret.lines, info, strict=True)
            ]
            facts = facts_of(desk, head, requested, at, prefer=False, approved=False)
            quote = quote_of(evaluate(desk.rules(), facts), info, card_last4(desk, head))
    except Refused as exc:
        notices = (Explanation(exc.reason, getattr(exc, "params", {})),)
    pulled = desk.log.pulled(return_number(head.return_id))
    return ShownReturn(
        return_id=head.return_id,
        number=return_number(head.return_id),
        ret=ret,
        receipt=head.receipt,
        gift_code=head.gift_code,
        sale_receipt=head.sale_receipt,
        customer_name=head.customer_name,
        customer_email=head.customer_email,
        customer_phone=head.customer_phone,
        clerk=head.clerk,
        opened_at=datetime.fromisoformat(head.opened_at),
        quote=quote,
        pending_steps=laid.pending,
        rejections=laid.rejections(),
        notices=notices,
        server_status=str(pulled.get("status") or "") if pulled else "",
        problems=tuple(str(p.get("kind") or "") for p in (pulled.get("problems") or ())) if pulled else (),
    )


def shown(desk: Desk, return_id: str) -> ShownReturn | None:
    adopt_once(desk)
    head = desk.log.head(return_id)
    return shown_of(desk, desk.steps.laid(head)) if head else None


class Showing(Desk):
    def shown(self, return_id: str) -> ShownReturn | None:
        return shown(self, return_id)

    def of_sale(self, receipt: str) -> list[ShownReturn]:
        """The returns made here against this sale, oldest first."""
        return [shown_of(self, self.steps.laid(h)) for h in self.log.of_sale(receipt.strip().upper())]

    def open_returns(self, limit: int = 100) -> list[ReturnSummary]:
        """The returns made here that are not finished, newest first."""
        adopt_once(self)
        return [
            ReturnSummary(
                h.return_id,
                return_number(h.return_id),
                ReturnStatus(h.status),
                h.receipt or h.gift_code,
                h.customer_name,
                datetime.fromisoformat(h.opened_at),
            )
            for h in self.log.recent(_OPEN, limit)
        ]
