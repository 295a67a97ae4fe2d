"""Balances and the payments outbox, as staff read them.

`GET /api/v1/balances/{code}`: what a store credit or gift card holds, by its code typed or scanned (the QR on
the credit's e-mail or print-out). Chain-wide, like the codes themselves: a credit issued in one store is spent
in any. Staff only (Permission.CUSTOMERS_READ: associate, manager, admin): a balance is the customer's money,
and DESIGN.md gives a kiosk products, prices, stock and order requests, nothing else; an enrolled device with
nobody signed in has no business with it either.

`GET /api/v1/payments/failed?store=`: the card refunds of a store that the payment provider refused or that
could not be delivered (Permission.AUDIT_READ: managers of the store, admins), to settle with the customer.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ...domain.codes import CodeKind, interpret
from ...domain.permissions import Permission
from .. import balances, payments
from .deps import DirectoryDep, SessionDep, principal_dep, require_own_store, require_store
from .errors import ApiError, responses
from .schemas.balances import BalanceEntryOut, BalanceOut, FailedPaymentOut

router = APIRouter(tags=["balances"])

Reader = principal_dep(Permission.CUSTOMERS_READ)
Auditor = principal_dep(Permission.AUDIT_READ)
_LOOK_ALIKE = str.maketrans("OIL", "011")  # what a person types for 0 and 1 (Crockford reads them so)
_TYPED = re.compile(r"^(SC|GC)-?([0-9A-Z]{12})$")


def parse_code(text: str) -> str:
    """What was typed or scanned, as a balance code (SC-/GC- and 12 Crockford characters; any case, the dash
    optional, O/I/L read as 0/1); a 422 when it cannot be one."""
    cleaned = text.strip().upper() if text.isascii() else ""
    m = _TYPED.fullmatch(cleaned)
    if m:
        cleaned = f"{m.group(1)}-{m.group(2).translate(_LOOK_ALIKE)}"
    info = interpret(cleaned) if cleaned else None
    if info is None or info.kind not in (CodeKind.STORE_CREDIT, CodeKind.GIFT_CARD):
        shown = "".join(c for c in text[:40] if c.isprintable())
        raise ApiError(
            422,
            "balance.bad_code",
            f"{shown!r} is not a store credit or gift card code: SC- or GC- and 12 letters and digits, e.g. "
            "SC-7Q2M9K4T1B8D. Scan the code's QR or type it as printed.",
        )
    prefix = "SC-" if info.kind is CodeKind.STORE_CREDIT else "GC-"
    return prefix + (info.reference or "")


@router.get(
    "/api/v1/balances/{code}",
    response_model=BalanceOut,
    summary="What a store credit or gift card holds (any store of the chain)",
    description="The code as printed or as its QR reads (SC-/GC- and 12 characters; any case). The balance is "
    "the sum of the code's ledger; the last entries say how it came to be.",
    responses=responses(404),
    openapi_extra={"x-permission": Permission.CUSTOMERS_READ.value},
)
def get_balance(
    code: Annotated[str, Path(pattern=r"^ *[GgSs][Cc]-?[0-9A-TV-Za-tv-z]{12} *$")],
    principal: Reader,
    session: SessionDep,
) -> BalanceOut:
    wanted = parse_code(code)
    view = balances.balance(session, wanted)
    if view is None:
        raise ApiError(
            404,
            "balance.not_found",
            f"No store credit or gift card has the code {wanted}. Check it against the print-out or e-mail (or scan "
            "its QR code); if it is right, the code was not issued by this chain: ask for another way to pay.",
        )
    return BalanceOut(
        code=view.code,
        kind=view.kind,
        currency=view.currency,
        balance=str(view.balance),
        created_at=view.created_at,
        entries=[
            BalanceEntryOut(delta=str(e.delta), reason=e.reason, reference=e.reference, at=e.at) for e in view.entries
        ],
    )


@router.get(
    "/api/v1/payments/failed",
    response_model=list[FailedPaymentOut],
    summary="A store's card refunds that failed (refused by the provider, or undeliverable), newest first",
    description="The customer was not refunded by card for these: settle each with them (at the till, or by "
    "another refund). Refunds still being retried are not listed.",
    openapi_extra={"x-permission": Permission.AUDIT_READ.value},
)
def failed_payments(
    principal: Auditor,
    session: SessionDep,
    directory: DirectoryDep,
    store: Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z0-9-]+$")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[FailedPaymentOut]:
    require_store(session, directory, store)
    require_own_store(principal, store)
    return [
        FailedPaymentOut(
            id=p.id or 0,
            kind=p.kind,
            store=p.store_code,
            reference=p.reference,
            tender_reference=p.tender_reference,
            amount=str(p.amount),
            currency=p.currency,
            attempts=p.attempts,
            last_error=p.last_error,
            created_at=p.created_at,
            idempotency_key=p.idempotency_key,
        )
        for p in payments.failed(session, store, limit)
    ]
