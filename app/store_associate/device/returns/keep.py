"""The return log kept in step with the outbox: every step is put in both, the state kept beside it is refreshed,
and what one write has and the other missed is mended.

The outbox is what is sent; the return log (store/returns.py) is what shows a return, with what the device decided
beside each step, after the outbox has sent it. The app may stop between the two writes: the steps the outbox holds
and the log missed are taken in (once, before a return is first read, and after every sync round) and decided
again on the device's copy. After a sync round, what the server refused is kept on its return, and returns older
than the receipt-less limits look back are forgotten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ...domain.commands import (
    RETURN_COMMANDS,
    ApproveReturn,
    CommandError,
    OpenReturn,
    RecordReturnLines,
    RefundReturn,
    ReturnCommand,
    encode,
    parse_command,
    return_number,
)
from ...domain.return_flow import Refused, decided_lines
from ..store.returns import ReturnHead
from ..store.sales import email_key, phone_key
from .checks import now_text
from .decide import decide, refund_quote
from .desk import Desk, one_at_a_time
from .steps import Laid, line_json
from .views import LineRequest, ReturnRefused

KEEP_RETURNS = timedelta(days=400)  # beyond the receipt-less limits' year, a return made here is forgotten


def head(desk: Desk, return_id: str) -> ReturnHead:
    adopt_once(desk)
    found = desk.log.head(return_id)
    if found is None:
        raise ReturnRefused("returns.device.not_found", params={"number": return_number(return_id)[:16]})
    return found


def record_step(
    desk: Desk,
    laid: Laid,
    command: ReturnCommand,
    local: Mapping[str, Any],
    now: datetime,
    credit: Decimal | None = None,
) -> Laid:
    """Put the step in the outbox and keep it here, with what the device decided beside it (`local`)."""
    name, version, args = encode(command)
    outbox_id = desk.record(command)
    desk.log.add_step(laid.head.return_id, outbox_id, name, version, args, local, now_text(now))
    kept = desk.log.head(laid.head.return_id)
    assert kept is not None
    fresh = desk.steps.laid(kept)
    refresh(desk, fresh, credit)
    return fresh


def refresh(desk: Desk, laid: Laid, credit: Decimal | None = None) -> None:
    amount = credit if credit is not None else Decimal(laid.head.credit or "0")
    desk.log.set_state(laid.head.return_id, laid.ret.status.value, amount)


class Keeping(Desk):
    @one_at_a_time
    def settle(self) -> None:
        """After a sync round (and before a refusal is dismissed): keep what the server refused, take in steps the
        outbox holds but the return log missed (the app stopped between the two writes), and forget returns older
        than the receipt-less limits look back."""
        _adopt(self)
        sent = self.log.sent_steps()
        if sent:
            changed = self.steps.fates([s for _, s in sent])
            ids = {rid for rid, oid in sent if changed[oid].fate == "rejected"}
            for kept in filter(None, (self.log.head(i) for i in ids)):
                refresh(self, self.steps.laid(kept))
        now = self.clock()
        if self.pruned_at is None or now - self.pruned_at > timedelta(hours=6):
            self.pruned_at = now
            self.log.prune(now - KEEP_RETURNS)


# --- steps the outbox has and the log missed --------------------------------------------------------------


def adopt_once(desk: Desk) -> None:
    if not desk.adopted:
        desk.adopted = True
        _adopt(desk)


def _adopt(desk: Desk) -> None:
    refs = desk.outbox.pending_refs(RETURN_COMMANDS, "return_id")
    if not refs:
        return
    known = desk.log.known_outbox_ids([i for i, _ in refs])
    missing = sorted(i for i, _ in refs if i not in known)
    if not missing:
        return
    entries = desk.outbox.entries_by_id(missing)
    for oid in missing:
        entry = entries.get(oid)
        if entry is None:
            continue
        try:
            command = parse_command(entry.name, entry.version, entry.args)
        except CommandError:
            continue
        if not isinstance(command, ReturnCommand):
            continue
        kept = desk.log.head(command.return_id)
        if kept is None:
            if not isinstance(command, OpenReturn):
                continue
            kept = _adopted_head(desk, command, entry.staff_number or "", entry.created_at)
            desk.log.open(kept)
        local: dict[str, Any] = {}
        at = datetime.fromisoformat(entry.created_at)
        with contextlib.suppress(Refused):  # (the sale is gone: the step is kept without the device's decision)
            local = _adopted_local(desk, kept, command, at)
        name, version, args = encode(command)
        desk.log.add_step(kept.return_id, oid, name, version, args, local, now_text(at))
        refresh(desk, desk.steps.laid(kept))


def _adopted_head(desk: Desk, command: OpenReturn, clerk: str, at: str) -> ReturnHead:
    sale = None
    if command.receipt:
        sale = desk.store.sales.get(command.receipt)
    elif command.gift_code:
        sale = desk.store.sales.by_gift_code(command.gift_code)
    return ReturnHead(
        return_id=command.return_id,
        opened_at=now_text(datetime.fromisoformat(at)),
        clerk=clerk,
        store=desk.store_code(),
        receipt=command.receipt,
        gift_code=command.gift_code,
        sale_receipt=sale.receipt if sale else (command.receipt or ""),
        customer_name=command.customer_name,
        customer_email=email_key(command.customer_email),
        phone_key=phone_key(command.customer_phone),
        customer_phone=command.customer_phone,
    )


def _adopted_local(desk: Desk, kept: ReturnHead, command: ReturnCommand, at: datetime) -> dict[str, Any]:
    if isinstance(command, RecordReturnLines):
        laid = desk.steps.laid(kept)
        requests = [
            LineRequest(ln.qty, ln.condition, ln.reason, ln.note, ln.sale_line_no, ln.sku, ln.serial)
            for ln in command.lines
        ]
        _, decision = decide(desk, laid, requests, at)
        return {"lines": [line_json(ln) for ln in decided_lines(command.lines, decision)]}
    if isinstance(command, ApproveReturn):
        known = desk.store.staff.known(command.approver)
        return {"role": known.role if known else ""}
    if isinstance(command, RefundReturn):
        quote = refund_quote(desk, desk.steps.laid(kept), command.prefer_store_credit, at)
        return {
            "refunds": [[p.seq, format(p.amount, "f")] for p in quote.decision.refunds if p.seq is not None],
            "total": quote.shown_total,
        }
    return {}
