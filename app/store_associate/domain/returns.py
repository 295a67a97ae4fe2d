"""The return policy engine: a pure function of the facts -> a decision per line, the amounts, and why.

`evaluate(rules, facts)` is called by the device (at once, offline) and by the server (when the command
arrives) with the same rules version and the same facts, so both reach the same decision. It reads no clock,
file or database: `facts.now` is the time, the caller gathers the sale, the customer's history and the
prices. The rules are data (return_rules.py), the facts and the decision are return_facts.py, manager
overrides and the reason lock return_overrides.py, the money split refunds.py; this module re-exports them.

Conventions:
- Days are counted in UTC calendar days: a sale made on day D (its UTC date) with a 30-day window may be
  returned up to and including day D + 30 (UTC). The store's own time zone plays no part, so a device and
  the server anywhere agree; near midnight UTC the edge can be a few hours off the store's calendar.
- A line's refund is the price paid for the units returned (unit price x quantity, to the currency's minor
  unit), less any restocking fee (a percent of that price, before tax), plus the line's tax for those units
  (the line's tax x units / units sold). Prices and tax are computed on cumulative units (what units 1..n
  cost, less what units 1..k already returned cost), so one sale returned over several visits never refunds
  more than was paid for the line, whatever the rounding. A refused line refunds 0.
- Receipt-less lines: the lowest price of the last 90 days (a fact per SKU), no tax (the tax paid is
  unknown), store credit only.
- Every explanation is an i18n key under "returns." with its parameters (`Explanation`): what a clerk can
  read out. Dates are ISO strings (listed in `dates`), amounts decimal strings in the return's currency
  (listed in `money`) for the screen to format. With a gift receipt no explanation carries an amount and
  `ReturnDecision.amounts_hidden` tells the customer-facing summary to show none.
- Totals and the tender split count every line that is not refused: the lines a manager must approve are
  in them (the return as it stands if approved). If the manager declines, evaluate again without them;
  once one approves (check_override), evaluate with `manager_approved=True`.
- The receipt-less limits assume the history's amounts are in the return's currency (a store has one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from .refunds import (
    ZERO,
    Allocation,
    Destination,
    RefundMethod,
    Tender,
    TenderKind,
    TenderRefund,
    allocate_refund,
    round_money,
    store_credit,
)
from .return_facts import (
    EXPLANATION_KEYS,
    NOTE_MAX,
    Explanation,
    FactsError,
    LineDecision,
    PastReturn,
    Reason,
    ReceiptKind,
    RequestedLine,
    ReturnDecision,
    ReturnFacts,
    Sale,
    SaleLine,
    Totals,
)
from .return_overrides import OverrideReason, check_override, override_allowed, reason_change_allowed
from .return_rules import (
    CategoryPolicy,
    Condition,
    ConditionRule,
    Outcome,
    ReturnRules,
    load_rules,
    newer,
    worst,
)

# fmt: off
__all__ = [
    "Allocation", "Condition", "EXPLANATION_KEYS", "LABEL_FAMILIES", "Destination", "Explanation", "FactsError",
    "LineDecision", "OverrideReason", "Outcome", "PastReturn", "Reason", "ReceiptKind", "RefundMethod",
    "RequestedLine", "ReturnDecision", "ReturnFacts", "ReturnRules", "Sale", "SaleLine", "Tender", "TenderKind",
    "TenderRefund", "Totals", "allocate_refund", "check_override", "evaluate", "load_rules", "newer",
    "override_allowed", "reason_change_allowed", "round_money", "NOTE_MAX",
]
# fmt: on


# The label families a screen shows for the enums: returns.reason.<Reason value>, returns.condition.<...>, ...
LABEL_FAMILIES: dict[str, tuple[str, ...]] = {
    "returns.reason": tuple(Reason),
    "returns.condition": tuple(Condition),
    "returns.outcome": tuple(Outcome),
    "returns.override": tuple(OverrideReason),
    "returns.method": tuple(RefundMethod),
    "returns.destination": tuple(Destination),
}


def _utc_date(moment: datetime, what: str) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FactsError(f"{what} must be an aware datetime")
    return moment.astimezone(UTC).date()


def _norm_serial(serial: str) -> str:
    return "".join(serial.split()).casefold()


def _why(key: str, **params: str | int) -> Explanation:
    return Explanation(f"returns.why.{key}", params, dates=tuple(p for p in params if p in _DATE_PARAMS))


_DATE_PARAMS = frozenset({"sold", "until"})


def _reason_problem(line: RequestedLine) -> Explanation | None:
    if not str(line.reason).strip():
        return _why("reason_missing")
    try:
        reason = Reason(line.reason)
    except ValueError:
        return _why("reason_unknown")
    if reason is Reason.OTHER and not line.note.strip():
        return _why("other_needs_note")
    if len(line.note) > NOTE_MAX:
        return _why("note_too_long", max=NOTE_MAX)
    return None


@dataclass(slots=True)
class _Line:
    """A line being decided (mutable while the rules run): each finding with the outcome it gives."""

    outcome: Outcome = Outcome.ALLOWED
    found: list[tuple[Outcome, Explanation]] = field(default_factory=list)
    fee_percent: Decimal = ZERO
    until: date | None = None

    def add(self, outcome: Outcome, explanation: Explanation) -> None:
        self.outcome = worst(self.outcome, outcome)
        self.found.append((outcome, explanation))

    def explanations(self) -> tuple[Explanation, ...]:
        """Why, for the clerk: for a refused line only what refuses it ("returnable until ..." beside "final
        sale" would only confuse); otherwise everything, in the order the rules ran."""
        if self.outcome is Outcome.REFUSED:
            return tuple(why for outcome, why in self.found if outcome is Outcome.REFUSED)
        return tuple(why for _, why in self.found)


def _condition(line: RequestedLine) -> Condition | None:
    try:
        return Condition(line.condition)
    except ValueError:
        return None


def _apply_condition(state: _Line, condition: Condition, rule: ConditionRule) -> None:
    if rule.outcome is not Outcome.ALLOWED:
        state.add(rule.outcome, _why(f"condition.{condition.value}.{rule.outcome.value}"))
    if rule.fee_percent > 0 and rule.outcome is not Outcome.REFUSED:
        state.fee_percent = rule.fee_percent
        state.add(Outcome.ALLOWED, _why(f"fee.{condition.value}", percent=format(rule.fee_percent.normalize(), "f")))


def _window(
    state: _Line,
    rules: ReturnRules,
    policy: CategoryPolicy,
    condition: Condition,
    sold: date,
    today: date,
) -> None:
    """The return window (with holiday extensions, late grace and, for a defective item, the warranty)."""
    until = sold + timedelta(days=policy.window_days)
    holiday = rules.holiday_until(sold) if policy.holiday_extension else None
    extended = holiday is not None and holiday > until
    if extended:
        assert holiday is not None
        until = holiday
    state.until = until
    if today <= until:
        key = "holiday_window" if extended else "within_window"
        state.add(Outcome.ALLOWED, _why(key, until=until.isoformat()))
        return
    if condition is Condition.DEFECTIVE:
        warranty = policy.conditions[Condition.DEFECTIVE].warranty_days
        if warranty > 0:
            warranty_until = sold + timedelta(days=warranty)
            if today <= warranty_until:
                state.until = warranty_until
                state.add(Outcome.ALLOWED, _why("defective_warranty", until=warranty_until.isoformat()))
            else:
                state.add(Outcome.REFUSED, _why("warranty_passed", days=warranty, until=warranty_until.isoformat()))
            return
    if today <= until + timedelta(days=policy.late_grace_days):
        state.add(Outcome.NEEDS_MANAGER, _why("late", sold=sold.isoformat(), until=until.isoformat()))
        return
    days = (until - sold).days
    state.add(Outcome.REFUSED, _why("window_passed", days=days, sold=sold.isoformat(), until=until.isoformat()))


def _refused_line(
    index: int, line_no: int | None, sku: str, qty: int, state: _Line, qty_left: int | None
) -> LineDecision:
    return LineDecision(
        index=index,
        line_no=line_no,
        sku=sku,
        qty=qty,
        outcome=Outcome.REFUSED,
        unit_price=ZERO,
        goods=ZERO,
        fee_percent=ZERO,
        fee=ZERO,
        tax=ZERO,
        refund=ZERO,
        explanations=state.explanations(),
        qty_left=qty_left,
        returnable_until=state.until,
    )


def evaluate(rules: ReturnRules, facts: ReturnFacts) -> ReturnDecision:
    """The decision on `facts` under `rules`. Raises FactsError only for facts no customer could cause (a
    naive datetime, a receipt return without its sale, no currency, a negative figure on the sale); every
    customer's case is a decision."""
    today = _utc_date(facts.now, "now")
    kind = ReceiptKind(facts.receipt_kind)
    sale = facts.sale
    if kind is ReceiptKind.NONE:
        if sale is not None:
            raise FactsError("a return without a receipt has no sale")
        currency = facts.currency
    else:
        if sale is None:
            raise FactsError(f"a return with a {kind.value} needs its sale")
        currency = sale.currency
        _check_sale(sale)
    currency = currency.strip().upper()
    if not currency:
        raise FactsError("the currency is needed for a return without a receipt")

    if kind is ReceiptKind.RECEIPT and not facts.prefer_store_credit:
        method = RefundMethod.ORIGINAL_TENDERS
    else:
        method = RefundMethod.STORE_CREDIT
    amounts_hidden = kind is ReceiptKind.GIFT_RECEIPT
    explanations: list[Explanation] = []
    if kind is ReceiptKind.GIFT_RECEIPT:
        explanations.append(_why("gift_receipt"))
    elif kind is ReceiptKind.NONE:
        explanations.append(_why("receiptless", days=rules.receiptless.price_lookback_days))
    elif facts.prefer_store_credit:
        explanations.append(_why("store_credit_chosen"))

    if kind is ReceiptKind.NONE:
        decided = _receiptless_lines(rules, facts, currency)
    else:
        assert sale is not None
        decided = _receipt_lines(rules, facts, sale, currency, today)

    if kind is ReceiptKind.NONE:
        decided = _receiptless_limits(rules, facts, currency, today, decided, explanations)

    total = sum((line.refund for line in decided if line.outcome is not Outcome.REFUSED), ZERO)
    if method is RefundMethod.ORIGINAL_TENDERS:
        assert sale is not None
        allocation = allocate_refund(total, sale.tenders, currency, method)
        if allocation.unallocated > 0:
            # The sale's payments cannot take the whole refund back (they were refunded some other way): the
            # rest becomes store credit, and a manager looks at it.
            rest = store_credit(allocation.unallocated, currency)
            allocation = Allocation(allocation.parts + rest.parts, ZERO)
            short = _why("tenders_short")
            explanations.append(short)
            decided = [_needs_manager(line, short) for line in decided]
    else:
        allocation = allocate_refund(total, (), currency, method)

    if facts.manager_approved:
        approved = _why("manager_approved")
        decided = [
            _replace_line(line, outcome=Outcome.ALLOWED, explanations=(*line.explanations, approved))
            if line.outcome is Outcome.NEEDS_MANAGER
            else line
            for line in decided
        ]

    counted = [line for line in decided if line.outcome is not Outcome.REFUSED]
    goods = sum((line.goods for line in counted), ZERO)
    fees = sum((line.fee for line in counted), ZERO)
    tax = sum((line.tax for line in counted), ZERO)
    new_credit = sum((p.amount for p in allocation.parts if p.destination is Destination.NEW_STORE_CREDIT), ZERO)
    totals = Totals(goods, fees, tax, goods - fees + tax, allocation.total - new_credit, new_credit)

    outcome = worst(*(line.outcome for line in counted)) if counted else Outcome.REFUSED
    return ReturnDecision(
        rules_version=rules.version,
        currency=currency,
        receipt_kind=kind,
        outcome=outcome,
        method=method,
        amounts_hidden=amounts_hidden,
        lines=tuple(decided),
        totals=totals,
        refunds=allocation.parts,
        explanations=tuple(explanations),
    )


def _check_sale(sale: Sale) -> None:
    """A sale with negative figures was never accepted by POST /api/v1/sales: reaching here, it is a bug."""
    for line in sale.lines:
        if line.qty < 0 or line.returned < 0 or line.unit_price < 0 or line.tax < 0:
            raise FactsError(f"sale {sale.receipt} line {line.line_no} has a negative figure")
    for tender in sale.tenders:
        if tender.amount < 0 or tender.refunded < 0:
            raise FactsError(f"sale {sale.receipt} tender {tender.seq} has a negative figure")


def _replace_line(line: LineDecision, **changes: object) -> LineDecision:
    values = {name: getattr(line, name) for name in LineDecision.__dataclass_fields__}
    values.update(changes)
    return LineDecision(**values)


def _needs_manager(line: LineDecision, why: Explanation) -> LineDecision:
    if line.outcome is Outcome.REFUSED:
        return line
    return _replace_line(line, outcome=Outcome.NEEDS_MANAGER, explanations=(*line.explanations, why))


def _receipt_lines(
    rules: ReturnRules, facts: ReturnFacts, sale: Sale, currency: str, today: date
) -> list[LineDecision]:
    sold = _utc_date(sale.sold_at, "sale.sold_at")
    by_no = {line.line_no: line for line in sale.lines}
    taken: dict[int, int] = {}  # units of each sale line taken by earlier lines of this return
    decided: list[LineDecision] = []
    for index, request in enumerate(facts.lines):
        state = _Line()
        sold_line = by_no.get(request.line_no) if request.line_no is not None else None
        if sold_line is None:
            state.add(Outcome.REFUSED, _why("line_unknown", line=request.line_no if request.line_no is not None else 0))
            decided.append(_refused_line(index, request.line_no, request.sku, request.qty, state, None))
            continue
        before = max(sold_line.returned, 0) + taken.get(sold_line.line_no, 0)
        left = max(sold_line.qty - before, 0)
        problem = _reason_problem(request)
        if problem is not None:
            state.add(Outcome.REFUSED, problem)
        condition = _condition(request)
        if condition is None:
            state.add(Outcome.REFUSED, _why("condition_unknown"))
        if request.qty < 1:
            state.add(Outcome.REFUSED, _why("qty_not_positive"))
        elif left == 0:
            state.add(Outcome.REFUSED, _why("all_returned"))
        elif request.qty > left:
            state.add(Outcome.REFUSED, _why("qty_above_left", asked=request.qty, left=left))
        if sold_line.serial:
            if not request.serial.strip():
                state.add(Outcome.REFUSED, _why("serial_missing"))
            elif _norm_serial(request.serial) != _norm_serial(sold_line.serial):
                state.add(Outcome.REFUSED, _why("serial_mismatch"))
        policy = rules.policy(sold_line.category)
        if condition is not None:
            if sold_line.final_sale:
                if condition is Condition.DEFECTIVE:
                    state.add(rules.final_sale.defective_outcome, _why("final_sale_defective"))
                else:
                    state.add(rules.final_sale.outcome, _why("final_sale"))
            _window(state, rules, policy, condition, sold, today)
            _apply_condition(state, condition, policy.conditions[condition])
        if state.outcome is Outcome.REFUSED:
            decided.append(_refused_line(index, sold_line.line_no, sold_line.sku, request.qty, state, left))
            continue
        qty = request.qty
        after = before + qty
        # Cumulative figures: units before+1..after cost what units 1..after cost less what 1..before did, so the
        # parts of a line returned over several visits add up to the rounded whole, never more.
        goods = round_money(sold_line.unit_price * after, currency) - round_money(
            sold_line.unit_price * before, currency
        )
        tax = round_money(sold_line.tax * after / sold_line.qty, currency) - round_money(
            sold_line.tax * before / sold_line.qty, currency
        )
        fee = round_money(goods * state.fee_percent / 100, currency)
        taken[sold_line.line_no] = taken.get(sold_line.line_no, 0) + qty
        decided.append(
            LineDecision(
                index=index,
                line_no=sold_line.line_no,
                sku=sold_line.sku,
                qty=qty,
                outcome=state.outcome,
                unit_price=sold_line.unit_price,
                goods=goods,
                fee_percent=state.fee_percent,
                fee=fee,
                tax=tax,
                refund=goods - fee + tax,
                explanations=state.explanations(),
                qty_left=left,
                returnable_until=state.until,
            )
        )
    return decided


def _receiptless_lines(rules: ReturnRules, facts: ReturnFacts, currency: str) -> list[LineDecision]:
    receiptless = rules.receiptless
    identified = facts.customer_identified
    decided: list[LineDecision] = []
    for index, request in enumerate(facts.lines):
        state = _Line()
        if not receiptless.accepted:
            state.add(Outcome.REFUSED, _why("receiptless_not_accepted"))
        if not identified:
            state.add(Outcome.REFUSED, _why("receiptless_no_customer"))
        problem = _reason_problem(request)
        if problem is not None:
            state.add(Outcome.REFUSED, problem)
        condition = _condition(request)
        if condition is None:
            state.add(Outcome.REFUSED, _why("condition_unknown"))
        if request.qty < 1:
            state.add(Outcome.REFUSED, _why("qty_not_positive"))
        price = facts.lowest_prices.get(request.sku)
        if price is None or price < 0:
            state.add(Outcome.REFUSED, _why("receiptless_no_price", days=receiptless.price_lookback_days))
        policy = rules.policy(request.category)
        if condition is not None:
            _apply_condition(state, condition, policy.conditions[condition])
        if state.outcome is Outcome.REFUSED or price is None:
            decided.append(_refused_line(index, None, request.sku, request.qty, state, None))
            continue
        goods = round_money(price * request.qty, currency)
        fee = round_money(goods * state.fee_percent / 100, currency)
        decided.append(
            LineDecision(
                index=index,
                line_no=None,
                sku=request.sku,
                qty=request.qty,
                outcome=state.outcome,
                unit_price=price,
                goods=goods,
                fee_percent=state.fee_percent,
                fee=fee,
                tax=ZERO,
                refund=goods - fee,
                explanations=state.explanations(),
            )
        )
    return decided


def _receiptless_limits(
    rules: ReturnRules,
    facts: ReturnFacts,
    currency: str,
    today: date,
    decided: list[LineDecision],
    explanations: list[Explanation],
) -> list[LineDecision]:
    """Above the customer's count or amount over the period (this return included): a manager approves."""
    limits = rules.receiptless
    this = sum((line.refund for line in decided if line.outcome is not Outcome.REFUSED), ZERO)
    if not any(line.outcome is not Outcome.REFUSED for line in decided):
        return decided
    since = today - timedelta(days=limits.period_days)
    count, amount = 0, ZERO
    for past in facts.receiptless_history:
        if _utc_date(past.at, "receiptless_history.at") > since:
            count += 1
            amount += past.amount
    months = max(round(limits.period_days / 30.4375), 1)
    found: list[Explanation] = []
    if count + 1 > limits.max_count:
        found.append(_why("receiptless_count_limit", count=count, max=limits.max_count, months=months))
    cap = limits.max_amount.get(currency)
    if cap is None:
        found.append(_why("receiptless_no_amount_limit", currency=currency))
    elif amount + this > cap:
        found.append(
            Explanation(
                "returns.why.receiptless_amount_limit",
                {"total": str(round_money(amount + this, currency)), "max": str(cap), "months": months},
                money=("total", "max"),
            )
        )
    for why in found:
        explanations.append(why)
        decided = [_needs_manager(line, why) for line in decided]
    return decided
