"""Starting a return at the counter: on a found sale (device/sales.find_sale), or without a receipt to a customer
identified by e-mail or phone; and finding what the customer brings back (a scanned item's product, its sale line,
and the sale with what this device's returns of it already hold counted as returned).

The customer's details go into open_return as they are checked there, so that the server never refuses a return
for them. "Start" tapped twice opens one return: the empty one the clerk just opened on the same details is reused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from ...domain.codes import interpret
from ...domain.commands import OpenReturn, encode, return_number
from ...domain.return_flow import ReturnStatus
from ..lookup import Outcome as LookupOutcome
from ..sales import Found, SaleMatch
from ..store.catalogue import ProductRecord
from ..store.returns import ReturnHead
from ..store.sales import SaleView, email_key, phone_key
from .checks import controls, fits, make, now_text, too_long
from .desk import Desk, one_at_a_time
from .keep import head
from .show import shown, shown_of
from .views import ReturnRefused, ShownReturn

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REUSE_DRAFT = timedelta(hours=1)  # a second "start" on the same sale reuses the empty return just opened


def new_return_id() -> str:
    """A return's id, made here: 12 Crockford base32 characters from the system's random source (60 bits)."""
    return "".join(secrets.choice(CROCKFORD) for _ in range(12))


class Starting(Desk):
    @one_at_a_time
    def start(
        self,
        match: SaleMatch,
        sale: SaleView | None = None,
        *,
        return_id: str | None = None,
        customer_name: str | None = None,
        customer_email: str | None = None,
        customer_phone: str | None = None,
    ) -> ShownReturn:
        """Open a return on a found sale (`sale`: the one chosen when the match found several). With a gift
        receipt the customer is the one who received the gift: their name and e-mail may be given for the store
        credit; the buyer's are never used."""
        if not match.found:
            raise ReturnRefused(match.message or "returns.device.sale_not_found", params=match.params)
        chosen = sale or match.sale
        if chosen is None or chosen.receipt not in {s.receipt for s in match.sales}:
            raise ReturnRefused("returns.device.choose_sale")
        gift = match.kind is Found.GIFT_RECEIPT
        left = self.sale_as_left(chosen.receipt)
        if left is not None and left.units_left == 0:
            raise ReturnRefused("returns.device.nothing_left", params={"receipt": chosen.receipt})
        buyer = None if gift else chosen.customer
        name = customer_name if customer_name is not None else (buyer.name if buyer else "")
        email = customer_email if customer_email is not None else (buyer.email if buyer else "")
        phone = customer_phone if customer_phone is not None else (buyer.phone if buyer else "")
        return self._open(
            return_id,
            receipt="" if gift else chosen.receipt,
            gift_code=(chosen.gift_code or "") if gift else "",
            sale_receipt=chosen.receipt,
            name=name,
            email=email,
            phone=phone,
            strict=(customer_name is not None, customer_email is not None, customer_phone is not None),
        )

    @one_at_a_time
    def start_without_receipt(
        self, customer_name: str, customer_email: str, customer_phone: str, *, return_id: str | None = None
    ) -> ShownReturn:
        """Open a return without a receipt: store credit only, to a customer identified by e-mail or phone."""
        if not customer_email.strip() and not customer_phone.strip():
            raise ReturnRefused("returns.device.customer_needed")
        return self._open(
            return_id,
            receipt="",
            gift_code="",
            sale_receipt="",
            name=customer_name,
            email=customer_email,
            phone=customer_phone,
            strict=(True, True, True),
        )

    def _open(
        self,
        return_id: str | None,
        *,
        receipt: str,
        gift_code: str,
        sale_receipt: str,
        name: str,
        email: str,
        phone: str,
        strict: tuple[bool, bool, bool],
    ) -> ShownReturn:
        clerk = self.clerk()
        if not clerk:
            raise ReturnRefused("returns.device.signed_out")
        name, email, phone = _customer(name, email, phone, strict)
        details = {
            "receipt": receipt,
            "gift_code": gift_code,
            "customer_name": name,
            "customer_email": email,
            "customer_phone": phone,
        }
        if return_id is None:
            return_id = self._draft_to_reuse(clerk, details) or new_return_id()
        command = make(OpenReturn, return_id=return_id, **details)
        kept = self.log.head(return_id)
        if kept is not None:
            laid = self.steps.laid(kept)
            first = next((s for s in laid.live() if s.name == "open_return"), None)
            if first is not None and first.args == encode(command)[2]:
                return shown_of(self, laid)  # tapped twice
            raise ReturnRefused("returns.device.id_taken", params={"number": return_number(return_id)})
        now = self.clock()
        outbox_id = self.record(command)
        self.log.open(
            ReturnHead(
                return_id=return_id,
                opened_at=now_text(now),
                clerk=clerk,
                store=self.store_code(),
                receipt=receipt,
                gift_code=gift_code,
                sale_receipt=sale_receipt,
                customer_name=name,
                customer_email=email_key(email),
                phone_key=phone_key(phone),
                customer_phone=phone,
            )
        )
        name_, version, args = encode(command)
        self.log.add_step(return_id, outbox_id, name_, version, args, {}, now_text(now))
        opened = shown(self, return_id)
        assert opened is not None
        return opened

    def _draft_to_reuse(self, clerk: str, details: Mapping[str, str]) -> str | None:
        """An empty return this clerk opened in the last hour with the same details (sale, customer): "start"
        tapped twice opens one return."""
        since = self.clock() - _REUSE_DRAFT
        for kept in self.log.recent(("draft",), limit=20):
            if kept.clerk != clerk or datetime.fromisoformat(kept.opened_at) < since:
                continue
            laid = self.steps.laid(kept)
            opened = next((s for s in laid.live() if s.name == "open_return"), None)
            same = opened is not None and all(opened.args.get(k) == v for k, v in details.items())
            if same and laid.ret.status is ReturnStatus.DRAFT and not laid.ret.lines:
                return kept.return_id
        return None

    # --- items ------------------------------------------------------------------------------------------

    def product_for(self, scanned: str) -> ProductRecord:
        """The product of a scanned or typed item (a receipt-less return's line). Refused with what the code was
        when it is not a product of the catalogue."""
        result = self.lookup.lookup(scanned, record=False)
        if result.outcome is LookupOutcome.FOUND and result.product is not None:
            return result.product
        key = {
            LookupOutcome.NOT_A_PRODUCT: "returns.device.item_not_a_product",
            LookupOutcome.AMBIGUOUS: "returns.device.item_ambiguous",
            LookupOutcome.INVALID: "returns.device.item_unreadable",
        }.get(result.outcome, "returns.device.item_unknown")
        raise ReturnRefused(key)

    def line_for_item(self, return_id: str, scanned: str) -> int | None:
        """The sale line a scanned item is (its serial number's, when the code carries one), with units left to
        return; None when the sale has no such line."""
        kept = head(self, return_id)
        view = self.sale_as_left(kept.sale_receipt, exclude=return_id) if kept.sale_receipt else None
        if view is None:
            return None
        serial = (interpret(scanned).serial or "").strip().upper()
        product = self.product_for(scanned)
        lines = [ln for ln in view.lines if ln.sku == product.sku and ln.left > 0]
        if serial:
            lines = [ln for ln in lines if ln.serial.strip().upper() == serial] or lines
        return lines[0].line_no if lines else None

    def sale_as_left(self, receipt: str, exclude: str = "") -> SaleView | None:
        """The sale with what this device's returns of it hold counted as returned (other than `exclude`): what a
        screen shows as bought, already returned, and still returnable."""
        view = self.store.sales.get(receipt) if receipt else None
        if view is None:
            return None
        holds = self.steps.holds(view.receipt, exclude)
        lines = tuple(replace(ln, returned=max(ln.returned + holds.units.get(ln.line_no, 0), 0)) for ln in view.lines)
        tenders = tuple(
            replace(t, refunded=max(t.refunded + holds.tenders.get(t.seq, Decimal(0)), Decimal(0)))
            for t in view.tenders
        )
        return replace(view, lines=lines, tenders=tenders)


def _customer(name: str, email: str, phone: str, strict: tuple[bool, bool, bool]) -> tuple[str, str, str]:
    """The customer's details as open_return takes them. Typed ones are refused with what is wrong; ones from
    the sale (the till's record) are left out when they would not fit, rather than refuse the return."""
    out = []
    for value, typed, most, key in (
        (name, strict[0], 120, ""),
        (email, strict[1], 254, "returns.device.invalid_email"),
        (phone, strict[2], 32, "returns.device.invalid_phone"),
    ):
        value = (value or "").strip()
        try:
            controls(value)
            too_long(value, most)
            if key == "returns.device.invalid_email" and value and not fits(OpenReturn, customer_email=value):
                raise ReturnRefused(key)
            if key == "returns.device.invalid_phone" and value and not fits(OpenReturn, customer_phone=value):
                raise ReturnRefused(key)
        except ReturnRefused:
            if typed:
                raise
            value = ""
        out.append(value)
    return out[0], out[1], out[2]
