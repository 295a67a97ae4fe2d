"""Sales: a till reports a sale (its own API key, idempotent by receipt number), and staff find a sale to return
against: by receipt number, or by what they know of it (gift receipt, order, customer, item).

Finding is chain-wide: a customer may return in any store of the chain, so a clerk in one store finds the
sales of every store (the store's own sales of the last 90 days are also on its devices, for offline returns:
crud.SYNC_TABLES "sales").
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ...domain.commands import NO_CONTROLS
from ...domain.permissions import Permission
from .. import db, sale_views, sales
from ..models import Sale, utcnow
from ..repositories.sales import SaleQuery, Sales
from .deps import SessionDep, UowDep, principal_dep
from .errors import ApiError, responses
from .schemas.sales import RECEIPT_PATTERN, SaleIn, SaleOut, SaleSummaryOut, loyalty_number

router = APIRouter(prefix="/api/v1/sales", tags=["sales"])

Poster = principal_dep(Permission.SALES_POST)
Reader = principal_dep(Permission.SALES_READ)
LOOKBACK = timedelta(days=365)  # how far back a search goes (a receipt number finds its sale at any age)


@router.post(
    "",
    response_model=SaleOut,
    status_code=201,
    summary="A till reports a sale of its store",
    description="Idempotent by receipt number: the same body again answers the stored sale (200); another body "
    "under a used receipt number is refused (409). Tenders must pay the lines exactly (qty x unit_price + tax), "
    "in the store's currency, with no more decimals than the currency has.",
    responses={200: {"model": SaleOut, "description": "A retry: the sale as it was recorded"}, **responses(409)},
    openapi_extra={"x-permission": Permission.SALES_POST.value},
)
def post_sale(body: SaleIn, principal: Poster, uow: UowDep) -> Response:
    if principal.store_code != body.store:
        err = sales.other_store(principal.store_code, body.store)
        raise ApiError(err.status, err.error, err.message)
    for attempt in range(2):
        try:
            with db.writer_turn(uow.engine):
                sale, created = sales.record(uow, body, principal.api_key_id)
                answer = _answer(uow.session, sale)
                uow.commit()  # (and the store's devices are poked)
            break
        except sales.SaleError as exc:
            raise ApiError(exc.status, exc.error, exc.message) from None
        except IntegrityError:
            # Another process recorded this receipt a moment ago: taken again, it is a retry (or a conflict).
            uow.rollback()
            if attempt:
                raise
    return Response(orjson.dumps(answer), status_code=201 if created else 200, media_type="application/json")


def _answer(session: Session, sale: Sale) -> dict:
    (out,) = sale_views.sales_json(session, [sale])
    return {"receipt_barcode": sales.receipt_barcode(sale.receipt), **out}


@router.get(
    "/{receipt}",
    response_model=SaleOut,
    summary="One sale by its receipt number (any store of the chain)",
    description="The receipt number as printed, or as its barcode reads (RC- and the number); any case. "
    "Lines say how many units were returned already, tenders how much was refunded.",
    responses=responses(404),
    openapi_extra={"x-permission": Permission.SALES_READ.value},
)
def get_sale(
    receipt: Annotated[str, Path(pattern=r"^ *(?:[Rr][Cc]-)?[A-Za-z0-9][A-Za-z0-9-]{3,31} *$")],
    principal: Reader,
    session: SessionDep,
) -> SaleOut:
    number = _receipt_number(receipt)
    sale = session.get(Sale, number)
    if sale is None:
        raise ApiError(
            404,
            "sales.not_found",
            f"No sale has the receipt number {number}. Check the number on the receipt (or scan its barcode); "
            "without the receipt, do a return without a receipt.",
        )
    return SaleOut(**_answer(session, sale))


def _receipt_number(text: str) -> str:
    """What was typed or scanned, as a receipt number (422 when it cannot be one: it never reaches the
    database, where PostgreSQL fails on a NUL)."""
    number = text.strip().upper()
    if number.startswith("RC-"):
        number = number[3:]
    if not re.fullmatch(RECEIPT_PATTERN, number):
        shown = "".join(c for c in text[:40] if c.isprintable())
        raise ApiError(
            422,
            "sales.bad_receipt",
            f"{shown!r} is not a receipt number: 4 to 32 letters, digits and dashes, e.g. NYC01-261203-02-0042. "
            "Check the number on the receipt.",
        )
    return number


_FREE_TEXT = NO_CONTROLS  # typed text: any character but control characters (a NUL would fail PostgreSQL)


@router.get(
    "",
    response_model=list[SaleSummaryOut],
    summary="Find sales to return against (any store of the chain, the last 365 days), newest first",
    description="Each parameter given narrows the search (all must hold); give at least one. `order` finds "
    "every collection of a web order; `name` is part of the customer's name, any case; `loyalty` is the card's "
    "number (LY- and 10 digits, or the digits).",
    openapi_extra={"x-permission": Permission.SALES_READ.value},
)
def find_sales(
    principal: Reader,
    session: SessionDep,
    gift_code: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9-]+$")] = None,
    order: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$")] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=254, pattern=_FREE_TEXT)] = None,
    phone: Annotated[str | None, Query(min_length=3, max_length=40, pattern=r"^[0-9 +()./-]+$")] = None,
    name: Annotated[str | None, Query(min_length=2, max_length=120, pattern=_FREE_TEXT)] = None,
    loyalty: Annotated[str | None, Query(max_length=16, pattern=r"^ *(?:[Ll][Yy]-?)?[0-9]{10} *$")] = None,
    sku: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    serial: Annotated[str | None, Query(min_length=1, max_length=40, pattern=_FREE_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SaleSummaryOut]:
    if loyalty is not None:
        try:
            loyalty = loyalty_number(loyalty)
        except ValueError:
            return []  # ten digits that fail the card's check digit: no card has them (the pattern says the rest)
    q = SaleQuery(
        gift_code=gift_code.upper() if gift_code else None,
        order=order.upper() if order else None,
        email=email.strip() if email else None,
        phone=phone.strip() if phone else None,
        name=name.strip() if name else None,
        loyalty=loyalty,
        sku=sku,
        serial=serial.strip() if serial else None,
    )
    if q.empty():
        return []  # nothing asked for, nothing found: a schema cannot say "at least one of these" to a client
    found = Sales(session).find(q, utcnow() - LOOKBACK, limit)
    out = []
    for s in sale_views.sales_json(session, found):
        out.append(
            SaleSummaryOut(
                receipt=s["receipt"],
                store=s["store"],
                channel=s["channel"],
                order_number=s["order_number"],
                sold_at=s["sold_at"],
                currency=s["currency"],
                total=s["total"],
                gift_code=s["gift_code"],
                customer=s["customer"],
                units=sum(ln["qty"] for ln in s["lines"]),
                returned=sum(ln["returned"] for ln in s["lines"]),
                lines=s["lines"],
            )
        )
    return out
