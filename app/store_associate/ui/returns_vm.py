"""View-model of the returns screen at the counter: find the sale, choose what comes back, the policy's decision
read out, a manager's approval when a line needs one, take the items back, refund, done. Plain Python, tested
without Flet; every sentence through t().

One scan field drives it all (a keyboard-wedge scanner needs no mouse): `submit` does what Enter means at the
current step. A scan finds the sale, then selects the scanned item's line; an empty Enter moves on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ..device.returns import (
    Destination,
    Explanation,
    LineRequest,
    Outcome,
    ReceivedItem,
    Refused,
    ReturnRefused,
    Returns,
    ReturnStatus,
    ShownReturn,
)
from ..device.runtime import scanned_text, without_controls
from ..device.sales import SaleMatch, SaleView, find_sale
from .i18n import local_time, money, t
from .returns_state import DecidedLine, LineChoice, ReceiveRow, ReturnsState, SaleRow, Step
from .returns_texts import (
    CONDITIONS,
    DISPOSITIONS,
    OVERRIDE_REASONS,
    REASONS,
    outcome_text,
    refund_rows,
    say,
    summary_lines,
)

# What becomes of an item by the condition it comes back in, unless the clerk says otherwise.
DEFAULT_DISPOSITION = {"new": "restock", "opened": "restock", "damaged": "damaged", "defective": "return_to_vendor"}


class ReturnsViewModel:
    def __init__(
        self,
        returns: Returns,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        zone: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.returns, self.clock, self.zone = returns, clock, zone
        self.state = ReturnsState()
        self._match: SaleMatch | None = None
        self._shown: ShownReturn | None = None

    # --- Enter in the scan field --------------------------------------------------------------------------

    def submit(self, text: str) -> ReturnsState:
        """What Enter in the scan field means at this step: a code or text finds the sale, then selects the scanned
        item's line; an empty Enter goes on to the next step."""
        code = scanned_text(text).strip()
        step = self.state.step
        if step in (Step.FIND, Step.CHOOSE_SALE, Step.DONE):
            if step is Step.DONE and not code:
                return self.restart()
            return self.find(code)
        if step is Step.LINES:
            return self.scan_item(code) if code else self.decide()
        if code:
            return self._fail("returns.ui.finish_step_first")
        if step is Step.DECISION:
            return self.proceed()
        if step is Step.RECEIVE:
            return self.receive()
        if step is Step.REFUND:
            return self.refund()
        return self.state

    # --- finding the sale -------------------------------------------------------------------------------

    def find(self, text: str) -> ReturnsState:
        s = self.state
        match = find_sale(self.returns.store, text, self.clock())
        self._match = match
        if not match.found:
            self.state = ReturnsState()
            return self._fail(match.message or "returns.device.sale_not_found", match.params)
        if match.sale is not None:
            return self.choose_sale(match.sale.receipt)
        s = self.state = ReturnsState(step=Step.CHOOSE_SALE)
        hide = match.hide_prices
        s.matches = [self._sale_row(sale, hide) for sale in match.sales]
        s.notice, s.error = t("returns.ui.choose_sale", n=len(match.sales)), False
        return s

    def _sale_row(self, sale: SaleView, hide: bool) -> SaleRow:
        units = sum(ln.qty for ln in sale.lines)
        return SaleRow(
            sale.receipt,
            local_time(sale.sold_at, self.zone()),
            sale.customer.name if sale.customer and not hide else "",
            t("returns.ui.items", n=units),
            "" if hide else money(sale.total, sale.currency),
        )

    def choose_sale(self, receipt: str) -> ReturnsState:
        match = self._match
        sale = next((x for x in match.sales if x.receipt == receipt), None) if match else None
        if match is None or sale is None:
            return self._fail("returns.device.choose_sale")
        try:
            shown = self.returns.start(match, sale)
        except Refused as exc:
            return self._refused(exc)
        s = self.state = ReturnsState(step=Step.LINES)
        s.hide_amounts = match.hide_prices
        s.receipt = sale.receipt if not s.hide_amounts else (sale.gift_code or "")
        s.customer = shown.customer_name
        self._took(shown)
        left = self.returns.sale_as_left(sale.receipt, exclude=shown.return_id) or sale
        s.lines = [
            LineChoice(
                ln.line_no,
                ln.name,
                ln.sku,
                ln.qty,
                ln.returned,
                ln.left,
                "" if s.hide_amounts else money(ln.unit_price, sale.currency),
                qty=1,
            )
            for ln in left.lines
        ]
        s.notice, s.error = t("returns.ui.scan_items"), False
        return s

    def no_receipt(self) -> ReturnsState:
        """Return without a receipt: the customer's details come first (store credit goes to them)."""
        self.state = ReturnsState(step=Step.CUSTOMER, receiptless=True)
        self.state.notice = t("returns.ui.customer_hint")
        return self.state

    def start_without_receipt(self, name: str, email: str, phone: str) -> ReturnsState:
        try:
            shown = self.returns.start_without_receipt(
                without_controls(name).strip(), without_controls(email).strip(), without_controls(phone).strip()
            )
        except Refused as exc:
            return self._refused(exc)
        s = self.state = ReturnsState(step=Step.LINES, receiptless=True, customer=shown.customer_name)
        self._took(shown)
        s.notice = t("returns.ui.scan_items_receiptless")
        return s

    # --- choosing what comes back ---------------------------------------------------------------------------

    def scan_item(self, code: str) -> ReturnsState:
        """A scanned item selects its line (with a receipt), or adds a line (without one)."""
        s = self.state
        if s.receiptless:
            try:
                product = self.returns.product_for(code)
            except Refused as exc:
                return self._refused(exc)
            same = next((ln for ln in s.lines if ln.sku == product.sku), None)
            if same is not None:
                same.qty += 1
            else:
                key = max((ln.key for ln in s.lines), default=0) + 1
                s.lines.append(LineChoice(key, product.name, product.sku, 0, 0, 0, "", chosen=True))
            return self._ok(t("returns.ui.item_added", name=product.name))
        try:
            line_no = self.returns.line_for_item(s.return_id, code)
        except Refused as exc:
            return self._refused(exc)
        line = next((ln for ln in s.lines if ln.key == line_no), None)
        if line is None:
            return self._fail("returns.ui.item_not_on_sale")
        if line.chosen and line.qty < line.left:
            line.qty += 1
        line.chosen = True
        return self._ok(t("returns.ui.line_chosen", name=line.name, qty=line.qty))

    def _line(self, key: int) -> LineChoice | None:
        return next((ln for ln in self.state.lines if ln.key == key), None)

    def choose(self, key: int, on: bool) -> ReturnsState:
        line = self._line(key)
        if line is not None:
            line.chosen = on
        return self.state

    def set_qty(self, key: int, qty: int | str) -> ReturnsState:
        line = self._line(key)
        try:
            value = int(str(qty).strip())
        except ValueError:
            return self._fail("returns.why.qty_not_positive")
        if line is not None:
            line.qty = value
            line.chosen = line.chosen or value > 0
        return self.state

    def set_condition(self, key: int, condition: str) -> ReturnsState:
        line = self._line(key)
        if line is not None and condition in CONDITIONS:
            line.condition = condition
        return self.state

    def set_reason(self, key: int, reason: str) -> ReturnsState:
        line = self._line(key)
        if line is not None and reason in REASONS:
            line.reason = reason
        return self.state

    def set_note(self, key: int, note: str) -> ReturnsState:
        line = self._line(key)
        if line is not None:
            line.note = without_controls(note)[:500]
        return self.state

    def _requests(self) -> list[LineRequest]:
        s = self.state
        return [
            LineRequest(
                ln.qty,
                ln.condition,
                ln.reason,
                ln.note.strip(),
                sale_line_no=None if s.receiptless else ln.key,
                sku=ln.sku if s.receiptless else "",
                serial=ln.serial,
            )
            for ln in s.lines
            if ln.chosen
        ]

    def decide(self) -> ReturnsState:
        """Record the chosen lines with the policy's decision, and show it."""
        requests = self._requests()
        if not requests:
            return self._fail("returns.ui.choose_lines")
        if any(not r.reason for r in requests):
            return self._fail("returns.why.reason_missing")
        try:
            shown = self.returns.record_lines(self.state.return_id, requests)
        except Refused as exc:
            return self._refused(exc)
        self._took(shown)
        self.state.step = Step.DECISION
        return self._ok(t("returns.ui.decided"))

    # --- the decision ---------------------------------------------------------------------------------

    def _took(self, shown: ShownReturn) -> None:
        """Keep what the device shows of the return: its number, state and decision."""
        s = self.state
        self._shown = shown
        s.return_id, s.number, s.status = shown.return_id, shown.number, shown.status.value
        quote = shown.quote
        if quote is None:
            return
        s.hide_amounts = quote.amounts_hidden
        names = {ln.key: ln.name for ln in s.lines}
        s.decided = [
            DecidedLine(
                ln.line_no,
                ln.name or names.get(ln.sale_line_no or ln.line_no, ln.sku),
                ln.qty,
                ln.outcome.value,
                outcome_text(ln.outcome, ln.approved),
                "" if ln.refund is None else money(ln.refund, quote.currency),
                tuple(say(e, quote.currency) for e in ln.explanations),
            )
            for ln in quote.lines
        ]
        s.sentences = [say(e, quote.currency) for e in quote.explanations]
        s.total = "" if quote.total is None else money(quote.total, quote.currency)
        s.needs_manager = bool(quote.needs_manager) and shown.status is ReturnStatus.AWAITING_APPROVAL
        s.refunds = refund_rows(quote)
        s.summary = summary_lines(s.decided, quote)

    def proceed(self) -> ReturnsState:
        """From the decision: a manager first when a line needs one, else take the items back."""
        s = self.state
        if s.status == ReturnStatus.REFUSED.value:
            return self._fail("returns.flow.all_refused")
        if s.needs_manager:
            s.step = Step.OVERRIDE
            return self._ok(t("returns.ui.manager_needed"))
        return self._to_receive()

    def _to_receive(self) -> ReturnsState:
        s = self.state
        shown = self._shown
        if shown is None:
            return s
        names = {d.line_no: d.name for d in s.decided}
        s.receiving = [
            ReceiveRow(
                ln.line_no,
                names.get(ln.line_no, ln.sku),
                ln.qty,
                ln.qty,
                ln.condition,
                DEFAULT_DISPOSITION.get(ln.condition, "restock"),
            )
            for ln in shown.ret.lines
            if ln.outcome is not Outcome.REFUSED
        ]
        s.step = Step.RECEIVE
        return self._ok(t("returns.ui.receive_hint"))

    def approve(self, staff: str, pin: str, reason: str, note: str) -> ReturnsState:
        """A manager's staff number and PIN (checked on this device, offline too), a reason and a note."""
        if reason not in OVERRIDE_REASONS:
            return self._fail("returns.override_refused.reason_unknown")
        try:
            shown = self.returns.approve(self.state.return_id, without_controls(staff).strip(), pin, reason, note)
        except Refused as exc:
            return self._refused(exc)
        self._took(shown)
        self._to_receive()
        return self._ok(t("returns.ui.approved"))

    # --- taking back, refund -----------------------------------------------------------------------------

    def _row(self, line_no: int) -> ReceiveRow | None:
        return next((r for r in self.state.receiving if r.line_no == line_no), None)

    def set_received(self, line_no: int, qty: int | str) -> ReturnsState:
        row = self._row(line_no)
        try:
            value = int(str(qty).strip())
        except ValueError:
            return self._fail("returns.flow.bad_qty")
        if row is not None:
            row.qty = value
        return self.state

    def set_received_condition(self, line_no: int, condition: str) -> ReturnsState:
        row = self._row(line_no)
        if row is not None and condition in CONDITIONS:
            row.condition = condition
            row.disposition = DEFAULT_DISPOSITION[condition]
        return self.state

    def set_disposition(self, line_no: int, disposition: str) -> ReturnsState:
        row = self._row(line_no)
        if row is not None and disposition in DISPOSITIONS:
            row.disposition = disposition
        return self.state

    def receive(self) -> ReturnsState:
        items = [ReceivedItem(r.line_no, r.qty, r.condition, r.disposition) for r in self.state.receiving if r.qty > 0]
        try:
            shown = self.returns.receive(self.state.return_id, items)
        except Refused as exc:
            return self._refused(exc)
        self._took(shown)
        return self._to_refund()

    def _to_refund(self) -> ReturnsState:
        s = self.state
        try:
            quote = self.returns.refund_quote(s.return_id, s.store_credit)
        except Refused as exc:
            return self._refused(exc)
        s.refunds = refund_rows(quote)
        s.total = "" if quote.total is None else money(quote.total, quote.currency)
        s.summary = summary_lines(s.decided, quote)
        s.step = Step.REFUND
        return self._ok(t("returns.ui.refund_hint"))

    def prefer_store_credit(self, on: bool) -> ReturnsState:
        self.state.store_credit = on
        return self._to_refund() if self.state.step is Step.REFUND else self.state

    def refund(self) -> ReturnsState:
        s = self.state
        try:
            shown = self.returns.refund(s.return_id, prefer_store_credit=s.store_credit)
        except Refused as exc:
            return self._refused(exc)
        self._took(shown)
        s.step = Step.DONE
        self.refresh_done()
        return self._ok(t("returns.ui.done", number=s.number))

    def refresh_done(self) -> ReturnsState:
        """The store credit's code, once the server issued it (it comes back with the return after a sync)."""
        s = self.state
        if not any(r.destination == Destination.NEW_STORE_CREDIT.value for r in s.refunds):
            s.credit_code, s.credit_note = "", ""
            return s
        pulled = self.returns.log.pulled(s.number) if s.number else None
        parts: list[Mapping[str, object]] = list((pulled or {}).get("refund") or [])
        code = next((str(p.get("code")) for p in parts if isinstance(p, Mapping) and p.get("code")), "")
        s.credit_code = code
        s.credit_note = t("returns.ui.credit_code", code=code) if code else t("returns.ui.credit_pending")
        return s

    def cancel(self, reason: str) -> ReturnsState:
        if not self.state.return_id:
            return self.restart()
        try:
            self.returns.cancel(
                self.state.return_id, without_controls(reason).strip() or t("returns.ui.cancel_default")
            )
        except Refused as exc:
            return self._refused(exc)
        number = self.state.number
        self.restart()
        return self._ok(t("returns.ui.cancelled", number=number))

    def restart(self) -> ReturnsState:
        self.state = ReturnsState()
        self._match, self._shown = None, None
        return self.state

    # --- notices ------------------------------------------------------------------------------------------

    def _ok(self, text: str) -> ReturnsState:
        self.state.notice, self.state.error, self.state.why = text, False, []
        return self.state

    def _fail(self, key: str, params: Mapping[str, str | int] | None = None) -> ReturnsState:
        self.state.notice, self.state.error = say(Explanation(key, dict(params or {}))), True
        self.state.why = []
        return self.state

    def _refused(self, exc: Refused) -> ReturnsState:
        """A refusal: what happened and what to do (its i18n sentence), and the policy's reasons line by line."""
        params = exc.params if isinstance(exc, ReturnRefused) else {}
        explanations = exc.explanations if isinstance(exc, ReturnRefused) else ()
        currency = self._shown.quote.currency if self._shown and self._shown.quote else ""
        self._fail(exc.reason, params)
        self.state.why = [say(e, currency) for e in explanations]
        return self.state
