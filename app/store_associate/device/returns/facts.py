"""The policy's facts from what the device has, and its decision made fit for a screen.

- The rules: the ones shipped with the app (app/assets/returns/rules.json), or a newer version pulled from the
  server and kept in the local store (domain/returns.newer decides).
- The sale: as last pulled, with the units and tender amounts that this device's own returns of it hold and the
  server does not count yet (Holds), so one sale returned over several visits, or by two returns made here
  offline, never offers a unit twice nor refunds a tender beyond what it paid.
- Without a receipt: the lowest price of each SKU over the rules' look-back (this store's sales the device
  keeps, and the catalogue's price today), and the customer's receipt-less returns made here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ...domain.returns import (
    Destination,
    Explanation,
    LineDecision,
    Outcome,
    PastReturn,
    ReturnDecision,
    ReturnRules,
    Sale,
    SaleLine,
    Tender,
    TenderKind,
    load_rules,
    newer,
)
from ..store.returns import ReturnHead, ReturnLog
from ..store.sales import MIN_PHONE_DIGITS, SaleView, phone_key
from .views import Quote, QuotedLine, RefundPart

log = logging.getLogger("store_associate.device.returns")

RULES_FILE = Path(__file__).resolve().parents[3] / "assets" / "returns" / "rules.json"


@lru_cache(maxsize=4)
def bundled_rules(path: Path = RULES_FILE) -> ReturnRules:
    """The rules shipped with the app."""
    return load_rules(json.loads(path.read_text(encoding="utf-8")))


def current_rules(returns: ReturnLog, path: Path = RULES_FILE) -> ReturnRules:
    """The newer of the shipped rules and the ones pulled from the server. Pulled rules this version of the app
    cannot read are passed over (and logged): the shipped ones apply until a readable version comes."""
    rules = bundled_rules(path)
    pulled = returns.stored_rules()
    if pulled is None:
        return rules
    try:
        return newer(rules, _pulled(json.dumps(pulled, sort_keys=True)))
    except (ValidationError, ValueError, TypeError) as exc:
        log.warning("pulled return rules version %s are not readable: %s", pulled.get("version"), exc)
        return rules


@lru_cache(maxsize=4)
def _pulled(text: str) -> ReturnRules:
    return load_rules(json.loads(text))


# --- the sale, with what this device's own returns hold -----------------------------------------------------


@dataclass
class Holds:
    """What this device's returns of one sale take that the pulled sale does not count yet: units per sale line,
    amounts per tender (refunds recorded, not yet made), and which returns hold each line (their numbers)."""

    units: dict[int, int] = field(default_factory=dict)
    tenders: dict[int, Decimal] = field(default_factory=dict)
    holders: dict[int, list[str]] = field(default_factory=dict)

    def hold(self, line_no: int, units: int, number: str) -> None:
        self.units[line_no] = self.units.get(line_no, 0) + units
        if units > 0:
            self.holders.setdefault(line_no, []).append(number)

    def refund(self, seq: int, amount: Decimal) -> None:
        self.tenders[seq] = self.tenders.get(seq, Decimal(0)) + amount


def tender_kind(kind: str) -> TenderKind | None:
    try:
        return TenderKind(kind)
    except ValueError:
        return None


def sale_facts(view: SaleView, holds: Holds) -> Sale:
    """The policy's sale: the pulled one, with `holds` added to what is already returned and refunded (never
    below zero: `holds` may take back what a confirmed return of the one being shown added)."""
    lines = tuple(
        SaleLine(
            line_no=ln.line_no,
            sku=ln.sku,
            category=ln.category,
            qty=ln.qty,
            unit_price=ln.unit_price,
            tax=ln.tax,
            serial=ln.serial,
            final_sale=ln.final_sale,
            returned=max(ln.returned + holds.units.get(ln.line_no, 0), 0),
        )
        for ln in view.lines
    )
    tenders = []
    for t in view.tenders:
        kind = tender_kind(t.kind)
        if kind is None:  # a kind this app does not know: nothing is refunded to it here (the server decides)
            continue
        refunded = max(t.refunded + holds.tenders.get(t.seq, Decimal(0)), Decimal(0))
        tenders.append(Tender(t.seq, kind, t.amount, refunded, t.reference))
    return Sale(view.receipt, view.sold_at, view.currency, lines, tuple(tenders))


def receiptless_history(heads: Iterable[ReturnHead], email: str, phone: str, exclude: str) -> tuple[PastReturn, ...]:
    """The customer's receipt-less returns made here (by e-mail, or phone number's ending), each with the credit
    it gave, other than `exclude`; cancelled, refused and empty ones gave nothing."""
    email = email.strip().lower()
    key = phone_key(phone)
    out = []
    for head in heads:
        if head.return_id == exclude or head.status in ("cancelled", "refused", "draft"):
            continue
        same_email = bool(email) and head.customer_email == email
        same_phone = (
            len(key) >= MIN_PHONE_DIGITS
            and len(head.phone_key) >= MIN_PHONE_DIGITS
            and (head.phone_key.startswith(key) or key.startswith(head.phone_key))
        )
        if same_email or same_phone:
            out.append(PastReturn(datetime.fromisoformat(head.opened_at), Decimal(head.credit)))
    return tuple(out)


def pulled_history(items: Iterable[Mapping[str, Any]], exclude: set[str]) -> tuple[PastReturn, ...]:
    """The customer's receipt-less returns the server sent (other devices' too), other than the numbers in
    `exclude` (the ones made here, counted from the device's own record), each with the credit it gave or will."""
    out = []
    for item in items:
        if item.get("number") in exclude or item.get("status") in _GAVE_NOTHING:
            continue
        try:
            at = datetime.fromisoformat(str(item["created_at"]))
            amount = Decimal(str(item.get("refund_total") or "0"))
            if amount <= 0:  # not refunded yet: what it was decided to refund
                amount = Decimal(str(((item.get("decision") or {}).get("totals") or {}).get("refund") or "0"))
        except (KeyError, ValueError, ArithmeticError):
            continue
        out.append(PastReturn(at if at.tzinfo else at.replace(tzinfo=UTC), amount))
    return tuple(out)


_GAVE_NOTHING = frozenset({"cancelled", "refused", "draft", "requested", "in_transit"})


def lowest_prices(sold: Mapping[str, Decimal], catalogue: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Per SKU, the lower of the lowest price sold at and the catalogue's price today."""
    out = dict(sold)
    for sku, price in catalogue.items():
        if price >= 0 and (sku not in out or price < out[sku]):
            out[sku] = price
    return out


# --- the decision, for a screen -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInfo:
    """What a screen shows of a line beside the decision: the return's line number, the sale's, the item's name,
    and whether a manager approved it."""

    line_no: int
    sale_line_no: int | None
    name: str
    approved: bool = False


def quote_of(
    decision: ReturnDecision,
    info: Sequence[LineInfo],
    card_last4: Mapping[int, str] | None = None,
    extra: tuple[Explanation, ...] = (),
) -> Quote:
    """The decision as a screen shows it: amounts taken out with a gift receipt."""
    hidden = decision.amounts_hidden
    lines = []
    for d in decision.lines:
        about = info[d.index]
        lines.append(_quoted(d, about, hidden))
    refunds = tuple(
        RefundPart(
            kind=part.kind,
            destination=part.destination,
            amount=None if hidden else part.amount,
            card_last4=(card_last4 or {}).get(part.seq, "") if part.seq is not None else "",
            reference=part.reference if part.destination is Destination.BALANCE else "",
        )
        for part in decision.refunds
    )
    return Quote(
        decision=decision,
        lines=tuple(lines),
        refunds=refunds,
        total=None if hidden else decision.totals.refund,
        explanations=decision.explanations + extra,
    )


def _quoted(d: LineDecision, about: LineInfo, hidden: bool) -> QuotedLine:
    def money(value: Decimal) -> Decimal | None:
        return None if hidden else value

    return QuotedLine(
        line_no=about.line_no,
        sale_line_no=about.sale_line_no,
        sku=d.sku,
        name=about.name,
        qty=d.qty,
        outcome=d.outcome,
        explanations=d.explanations,
        refund=money(d.refund),
        unit_price=money(d.unit_price),
        fee=money(d.fee),
        tax=money(d.tax),
        qty_left=d.qty_left,
        returnable_until=d.returnable_until,
        approved=about.approved and d.outcome is not Outcome.REFUSED,
    )
