"""What the returns screen says: the fixed lists (conditions, reasons, dispositions, a manager's reasons) and their
texts, the policy's explanations as sentences to read out, and the lines the customer reads (each item, the total,
where the money goes). Every sentence through t()."""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.dates import format_date

from ..device.returns import Destination, Explanation, Outcome, Quote
from .i18n import get_locale, money, t
from .returns_state import DecidedLine, RefundRow

CONDITIONS = ("new", "opened", "damaged", "defective")
REASONS = ("wrong_size", "changed_mind", "defective", "not_as_described", "damaged_in_transit", "arrived_late", "other")
DISPOSITIONS = ("restock", "damaged", "return_to_vendor", "dispose")
OVERRIDE_REASONS = ("defect_confirmed", "store_error", "goodwill", "slightly_late", "identity_checked", "other")


# --- the texts of the fixed lists (literal keys: the catalogue check sees every one) ----------------------------


def condition_text(value: str) -> str:
    return {
        "new": t("returns.condition.new"),
        "opened": t("returns.condition.opened"),
        "damaged": t("returns.condition.damaged"),
        "defective": t("returns.condition.defective"),
    }.get(value, value)


def reason_text(value: str) -> str:
    return {
        "wrong_size": t("returns.reason.wrong_size"),
        "changed_mind": t("returns.reason.changed_mind"),
        "defective": t("returns.reason.defective"),
        "not_as_described": t("returns.reason.not_as_described"),
        "damaged_in_transit": t("returns.reason.damaged_in_transit"),
        "arrived_late": t("returns.reason.arrived_late"),
        "other": t("returns.reason.other"),
    }.get(value, value)


def disposition_text(value: str) -> str:
    return {
        "restock": t("returns.ui.disposition.restock"),
        "damaged": t("returns.ui.disposition.damaged"),
        "return_to_vendor": t("returns.ui.disposition.return_to_vendor"),
        "dispose": t("returns.ui.disposition.dispose"),
    }.get(value, value)


def override_text(value: str) -> str:
    return {
        "defect_confirmed": t("returns.override.defect_confirmed"),
        "store_error": t("returns.override.store_error"),
        "goodwill": t("returns.override.goodwill"),
        "slightly_late": t("returns.override.slightly_late"),
        "identity_checked": t("returns.override.identity_checked"),
        "other": t("returns.override.other"),
    }.get(value, value)


def outcome_text(outcome: Outcome, approved: bool = False) -> str:
    if approved:
        return t("returns.why.manager_approved")
    return {
        Outcome.ALLOWED: t("returns.outcome.allowed"),
        Outcome.NEEDS_MANAGER: t("returns.outcome.needs_manager"),
        Outcome.REFUSED: t("returns.outcome.refused"),
    }[outcome]


def destination_text(destination: Destination) -> str:
    return {
        Destination.PAYMENT_PROVIDER: t("returns.destination.payment_provider"),
        Destination.TILL: t("returns.destination.till"),
        Destination.BALANCE: t("returns.destination.balance"),
        Destination.NEW_STORE_CREDIT: t("returns.destination.new_store_credit"),
    }[destination]


def say(e: Explanation, currency: str = "") -> str:
    """A sentence for the clerk to read out: the explanation's key with its parameters, amounts in the locale's
    money format and dates as the locale writes them. The keys are the policy's (returns.why.*), the return
    flow's (returns.flow.*, returns.override_refused.*), the device's (returns.device.*) and the sale search's
    (sales.find.*)."""
    params: dict[str, object] = dict(e.params)
    for name in getattr(e, "money", ()):
        with contextlib.suppress(KeyError, InvalidOperation):
            params[name] = money(Decimal(str(params[name])), currency) if currency else params[name]
    for name in getattr(e, "dates", ()):
        with contextlib.suppress(KeyError, ValueError):
            params[name] = format_date(date.fromisoformat(str(params[name])), format="medium", locale=get_locale())
    try:
        return t(e.key, **params)
    except (KeyError, IndexError, ValueError):
        return t(e.key)


# --- what the customer reads ----------------------------------------------------------------------------------


def refund_rows(quote: Quote) -> list[RefundRow]:
    rows = []
    for p in quote.refunds:
        where = destination_text(p.destination)
        if p.card_last4:
            where = t("returns.ui.card_ending", where=where, last4=p.card_last4)
        rows.append(RefundRow(p.destination.value, where, "" if p.amount is None else money(p.amount, quote.currency)))
    return rows


def summary_lines(decided: list[DecidedLine], quote: Quote) -> list[str]:
    """What the customer reads on the screen turned to them: each item and whether it is taken back, the total
    and where it goes; with a gift receipt no amount at all."""
    out = []
    for ln in decided:
        if ln.refund:
            out.append(
                t("returns.ui.summary.line", qty=ln.qty, name=ln.name, outcome=ln.outcome_text, amount=ln.refund)
            )
        else:
            out.append(t("returns.ui.summary.line_hidden", qty=ln.qty, name=ln.name, outcome=ln.outcome_text))
    if quote.total is not None:
        out.append(t("returns.ui.summary.total", amount=money(quote.total, quote.currency)))
    elif quote.amounts_hidden:
        out.append(t("returns.ui.summary.gift"))
    for row in refund_rows(quote):
        out.append(t("returns.ui.summary.to", where=row.text, amount=row.amount) if row.amount else row.text)
    return out
