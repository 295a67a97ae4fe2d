"""Sales to return against: recording them (a till's POST /api/v1/sales, the seed, a web order's collection)
and reading them as the API and devices see them.

    with UnitOfWork(engine, settings) as uow:
        sale, created = record(uow, SaleIn(...), api_key_id)      # one sale: the route, a hand-over
        recorded = record_many(uow, [SaleIn(...), ...], None)     # thousands: the seed
        uow.commit()

Both check every sale before they write anything (SaleError: status, error key, message; nothing written
then), are idempotent by receipt number (the same body again: the stored sale, created False; another body
for a used receipt: 409), find or make the customer (repositories/customers.py: loyalty id, then e-mail), give
a gift receipt its `GR-` code, take the sales' versions from the change log (devices of the store pull them,
crud.SYNC_TABLES "sales") and poke the store's devices. The caller commits.

A sale does not move stock: a till's stock is booked by whatever reports the store's stock, and a web order's
units left with its hand-over (handlers.apply_effects).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import orjson
from babel.numbers import get_currency_precision, get_territory_currencies
from sqlalchemy import bindparam, select
from sqlmodel import Session

from .api.schemas.sales import CROCKFORD, SaleIn, SaleLineIn, SaleTenderIn
from .models import ApiKey, CustomerOrder, OrderLine, Product, Sale, Store, utc, utcnow
from .repositories.customers import Customers
from .repositories.sales import Sales
from .uow import UnitOfWork

CHANNELS = ("till", "web")
FUTURE_SLACK = timedelta(days=1)  # a till's clock may run ahead; a sale dated further on is a mistake
TOTAL_LIMIT = Decimal("10000000000")  # the columns' limit (12 digits, 2 after the point)
_CHUNK = 1000  # sales written per round of record_many
_CENT = Decimal("0.01")

_STORES = select(Store.code, Store.kind, Store.country).where(Store.code.in_(bindparam("codes", expanding=True)))
_PRODUCTS = select(Product.sku, Product.name, Product.category, Product.currency, Product.deleted).where(
    Product.sku.in_(bindparam("skus", expanding=True))
)
_KEY = select(ApiKey.role, ApiKey.store_code, ApiKey.revoked_at).where(ApiKey.id == bindparam("id"))


class SaleError(Exception):
    """A sale that cannot be recorded: the HTTP status, a stable key and what to do. Nothing was written."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class NewSale(NamedTuple):
    """A sale for `record_many` with where it came from: a till's (the default), or a web order's collection
    (channel "web", the order's number, and its customer's id: the order's customer, not one found again)."""

    sale: SaleIn
    channel: str = "till"
    order_number: str = ""
    customer_id: int | None = None


class Recorded(NamedTuple):
    receipt: str
    created: bool  # False: the same sale was recorded before (a retry)
    gift_code: str | None


def record(
    uow: UnitOfWork,
    sale: SaleIn,
    api_key_id: int | None,
    *,
    channel: str = "till",
    order_number: str = "",
    customer_id: int | None = None,
) -> tuple[Sale, bool]:
    """Record one sale in the unit of work's transaction (the caller commits): the sale as stored, and whether
    it was made now (False: this receipt number was recorded with this same body before, and that sale is
    answered). `api_key_id`: the till's key that sent it (its store must be the sale's; None for the server's
    own sales: seed, demo, a web order's collection). Raises SaleError (nothing written) for:

    - 401 api_key.invalid: the key was revoked; 403 sales.other_store: the key is another store's;
    - 409 sales.receipt_used: this receipt number is already used by another sale (a different body);
    - 422 sales.unknown_store, sales.wrong_currency (not the store's currency), sales.bad_amount (more decimals
      than the currency has), sales.duplicate_line (two lines with one number), sales.unknown_sku,
      sales.serial_qty (a serial number is one unit), sales.tenders_mismatch (tenders must sum to the lines'
      qty x unit_price + tax), sales.too_large, sales.in_future (sold more than a day ahead of the server's clock).

    `channel`, `order_number`, `customer_id`: see NewSale (hand-over's `record_collection` uses them)."""
    (done,) = record_many(uow, [NewSale(sale, channel, order_number, customer_id)], api_key_id)
    stored = uow.session.get(Sale, done.receipt)
    assert stored is not None
    return stored, done.created


def record_many(uow: UnitOfWork, sales: Sequence[SaleIn | NewSale], api_key_id: int | None) -> list[Recorded]:
    """Record many sales at once, as `record` does one (same checks, same idempotency, same errors), for the
    seed and the demo: every sale is checked first (SaleError for the first that fails, and nothing is written),
    then they are written a thousand at a time with one statement per table (repositories/bulk.py's
    executemany), their customers found or made in one round per thousand, one block of versions each.
    Returns, in the order given, each sale's receipt, whether it was made now, and its gift receipt code.
    A receipt that appears twice in `sales` is recorded once (the second, with the same body, is a retry)."""
    items = [s if isinstance(s, NewSale) else NewSale(s) for s in sales]
    if not items:
        return []
    session = uow.session
    uow.changes.lock()  # before any row, as every writer does
    _check_key(session, api_key_id, items)
    digests = [sale_hash(n) for n in items]
    stored = Sales(session).existing(sorted({n.sale.receipt for n in items}))
    out: list[Recorded | None] = [None] * len(items)
    first: dict[str, int] = {}  # receipt -> index of the copy that is recorded
    fresh: list[int] = []
    for i, (n, digest) in enumerate(zip(items, digests, strict=True)):
        receipt = n.sale.receipt
        before = stored.get(receipt)
        if before is not None or receipt in first:
            same = before.request_hash == digest if before is not None else digests[first[receipt]] == digest
            if not same:
                raise _receipt_used(receipt)
            out[i] = Recorded(receipt, False, before.gift_code if before is not None else None)
            continue
        first[receipt] = i
        fresh.append(i)
    if fresh:
        products = _check(session, [items[i] for i in fresh])
        for start in range(0, len(fresh), _CHUNK):
            chunk = fresh[start : start + _CHUNK]
            written = _write(uow, [items[i] for i in chunk], [digests[i] for i in chunk], products, api_key_id)
            for i, made in zip(chunk, written, strict=True):
                out[i] = made
    for i, r in enumerate(out):  # a later copy of a receipt made in this batch: the first's gift code
        if r is not None and not r.created and r.receipt in first and out[first[r.receipt]] is not None:
            out[i] = Recorded(r.receipt, False, out[first[r.receipt]].gift_code)  # type: ignore[union-attr]
    return [r for r in out if r is not None]


def sale_hash(n: NewSale) -> str:
    """The digest a sale is stored with: the same body gives the same digest (amounts are normalised to cents,
    times to UTC by SaleIn), so that a retry is told from another sale under a used receipt number."""
    body = n.sale.model_dump(mode="json")
    body["_origin"] = [n.channel, n.order_number]
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@functools.cache
def store_currency(country: str) -> str | None:
    """The currency a store sells in: its country's (ISO 4217, from CLDR); None when it has no country."""
    found = get_territory_currencies(country.upper()) if country else []
    return found[0] if found else None


@functools.cache
def currency_places(currency: str) -> int:
    """Decimals an amount in this currency may have here: the currency's own (yen: 0), at most the columns' 2."""
    return min(2, get_currency_precision(currency))


def receipt_barcode(receipt: str) -> str:
    """What the printed receipt's Code 128 carries (domain/codes.py reads it back as the receipt number)."""
    return f"RC-{receipt}"


def new_gift_code() -> str:
    # Each random byte's low 5 bits: 256 is a multiple of 32, so every character is equally likely.
    return "GR-" + "".join(CROCKFORD[b & 31] for b in secrets.token_bytes(10))


# --- checks ------------------------------------------------------------------------------------------------


def _check_key(session: Session, api_key_id: int | None, items: list[NewSale]) -> None:
    """The till's key is valid now (the API may have let it through from its cache) and its store is every
    sale's."""
    if api_key_id is None:
        return
    row = session.execute(_KEY, {"id": api_key_id}).first()
    if row is None or row.revoked_at is not None:
        raise SaleError(401, "api_key.invalid", "This API key is not valid. Check the key or ask for a new one.")
    for n in items:
        if row.store_code != n.sale.store:
            raise other_store(row.store_code, n.sale.store)


def other_store(key_store: str | None, store: str) -> SaleError:
    where = f"store {key_store}" if key_store else "no store"
    return SaleError(
        403,
        "sales.other_store",
        f"This till's key belongs to {where}; it cannot post a sale of store {store[:16]}. "
        "Post the sale with the key of a till of that store.",
    )


def _receipt_used(receipt: str) -> SaleError:
    return SaleError(
        409,
        "sales.receipt_used",
        f"The receipt number {receipt} is already used by another sale. Send that sale again exactly as it was "
        "(a retry), or give this sale a new receipt number.",
    )


def _check(session: Session, items: list[NewSale]) -> dict:
    """Every rule a new sale must meet, before anything is written. Returns the lines' products by SKU."""
    stores = {}
    codes = sorted({n.sale.store for n in items})
    for start in range(0, len(codes), 500):
        stores.update({r.code: r for r in session.execute(_STORES, {"codes": codes[start : start + 500]})})
    skus = sorted({ln.sku for n in items for ln in n.sale.lines})
    products = {}
    for start in range(0, len(skus), 500):
        products.update({r.sku: r for r in session.execute(_PRODUCTS, {"skus": skus[start : start + 500]})})
    latest = utcnow() + FUTURE_SLACK
    currencies: dict[str, str | None] = {}
    for n in items:
        _check_one(n, stores, products, currencies, latest)
    return products


def _check_one(n: NewSale, stores: dict, products: dict, currencies: dict, latest: datetime) -> None:
    sale, web = n.sale, n.channel == "web"
    if n.channel not in CHANNELS:
        raise ValueError(f"a sale's channel is one of {CHANNELS}")
    store = stores.get(sale.store)
    if store is None or store.kind != "store":
        raise SaleError(
            422, "sales.unknown_store", f"No store has the code {sale.store!r}. Check the store code of the till."
        )
    if not web:  # a web order's currency is the order's, taken when it was placed
        if store.code not in currencies:
            currencies[store.code] = store_currency(store.country)
        expected = currencies[store.code] or _catalogue_currency(sale, products)
        if expected and sale.currency != expected:
            raise SaleError(
                422,
                "sales.wrong_currency",
                f"Store {sale.store} sells in {expected}; this sale is in {sale.currency}. Send it in {expected}.",
            )
    places = currency_places(sale.currency)
    step = Decimal(1).scaleb(-places)
    amounts = [a for ln in sale.lines for a in (ln.unit_price, ln.tax)] + [t.amount for t in sale.tenders]
    if any(a != a.quantize(step) for a in amounts):
        raise SaleError(
            422,
            "sales.bad_amount",
            f"An amount has more decimals than {sale.currency} has ({places}). Round it to the currency.",
        )
    numbers = [ln.line_no or i for i, ln in enumerate(sale.lines, start=1)]
    if len(set(numbers)) != len(numbers):
        twice = sorted({x for x in numbers if numbers.count(x) > 1})
        raise SaleError(
            422,
            "sales.duplicate_line",
            f"Line number {twice[0]} is used twice. Number each line of the receipt once.",
        )
    unknown = [ln.sku for ln in sale.lines if ln.sku not in products or (products[ln.sku].deleted and not web)]
    if unknown:
        raise SaleError(
            422,
            "sales.unknown_sku",
            f"These SKUs are not in the catalogue: {', '.join(sorted(set(unknown))[:10])}. "
            "Check the till's catalogue against the server's.",
        )
    if any(ln.serial and ln.qty != 1 for ln in sale.lines):
        raise SaleError(
            422, "sales.serial_qty", "A line with a serial number is one unit. Put each serial number on a line."
        )
    subtotal, tax, total = totals(sale.lines)
    if total >= TOTAL_LIMIT:
        raise SaleError(422, "sales.too_large", f"A sale's total must be below {TOTAL_LIMIT}. Split the sale.")
    paid = sum((t.amount for t in sale.tenders), Decimal("0.00"))
    if paid != total:
        raise SaleError(
            422,
            "sales.tenders_mismatch",
            f"The tenders add up to {paid} {sale.currency}, but the lines come to {total} {sale.currency} "
            f"({subtotal} for the units, qty x unit price, and {tax} tax). Send tenders that pay the lines exactly.",
        )
    if sale.sold_at > latest:
        raise SaleError(
            422,
            "sales.in_future",
            f"The sale is dated {sale.sold_at.isoformat()}, more than a day after the server's time. "
            "Check the till's clock.",
        )


def _catalogue_currency(sale: SaleIn, products: dict) -> str | None:
    found = {products[ln.sku].currency for ln in sale.lines if ln.sku in products}
    return found.pop() if len(found) == 1 else None


def totals(lines: Sequence[SaleLineIn]) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) of a sale's lines: qty x unit price, the lines' tax, and their sum."""
    subtotal = sum((ln.unit_price * ln.qty for ln in lines), Decimal("0.00")).quantize(_CENT)
    tax = sum((ln.tax for ln in lines), Decimal("0.00")).quantize(_CENT)
    return subtotal, tax, subtotal + tax


# --- writing -----------------------------------------------------------------------------------------------


def _write(
    uow: UnitOfWork, items: list[NewSale], digests: list[str], products: dict, api_key_id: int | None
) -> list[Recorded]:
    """Checked new sales (and their digests): their customers, gift codes, versions and rows."""
    session = uow.session
    now = utcnow()
    wanted = [
        None if n.customer_id is not None or n.sale.customer is None else n.sale.customer.model_dump() for n in items
    ]
    found = Customers(session).resolve(wanted, now)
    customer_ids = [n.customer_id if n.customer_id is not None else cid for n, cid in zip(items, found, strict=True)]
    gifts = _gift_codes(Sales(session), sum(n.sale.gift_receipt for n in items))
    first = uow.changes.take(len(items))
    sales, lines, tenders, made = [], [], [], []
    for k, (n, digest, customer_id) in enumerate(zip(items, digests, customer_ids, strict=True)):
        sale = n.sale
        subtotal, tax, total = totals(sale.lines)
        gift = gifts.pop() if sale.gift_receipt else None
        sales.append(
            {
                "receipt": sale.receipt,
                "store_code": sale.store,
                "channel": n.channel,
                "order_number": n.order_number,
                "till": sale.till,
                "sold_at": sale.sold_at,
                "currency": sale.currency,
                "customer_id": customer_id,
                "subtotal": subtotal,
                "tax": tax,
                "total": total,
                "gift_code": gift,
                "api_key_id": api_key_id,
                "request_hash": digest,
                "created_at": now,
                "version": first + k,
            }
        )
        for no, ln in enumerate(sale.lines, start=1):
            product = products[ln.sku]
            lines.append(
                {
                    "receipt": sale.receipt,
                    "line_no": ln.line_no or no,
                    "sku": ln.sku,
                    "name": product.name,
                    "category": product.category,
                    "qty": ln.qty,
                    "unit_price": ln.unit_price,
                    "tax": ln.tax,
                    "serial": ln.serial,
                    "final_sale": ln.final_sale,
                    "returned": 0,
                }
            )
        for seq, t in enumerate(sale.tenders, start=1):
            tenders.append(
                {
                    "receipt": sale.receipt,
                    "seq": seq,
                    "kind": t.kind,
                    "amount": t.amount,
                    "card_last4": t.card_last4,
                    "reference": t.reference,
                    "refunded": Decimal("0.00"),
                }
            )
        made.append(Recorded(sale.receipt, True, gift))
    Sales(session).insert(sales, lines, tenders)
    for store in sorted({n.sale.store for n in items}):
        uow.poke(store)  # the store's devices pull the new sales
    return made


def _gift_codes(sales: Sales, n: int) -> list[str]:
    """n gift receipt codes no sale has (10 random Crockford characters: a clash is all but impossible, but a
    code must name one sale)."""
    codes: set[str] = set()
    while len(codes) < n:
        codes.update(new_gift_code() for _ in range(n - len(codes)))
        codes -= sales.gift_codes_taken(sorted(codes))
    return sorted(codes)


# --- a web order's collection ---------------------------------------------------------------------------


def record_collection(
    uow: UnitOfWork, order: CustomerOrder, lines: list[OrderLine], collected: Sequence[int], at: datetime
) -> Sale | None:
    """A web order becomes a sale when it is collected (the hand_over step, server/orders.py): receipt = the
    order's number, channel "web", the collected lines (units picked, the order line's unit price, no tax: an
    order carries none), one card tender of that amount with the order's number as its reference, the order's
    customer. A later collection of the same order (the rest of a partial handover) is a sale of its own, with
    receipt `<order>-2`, `<order>-3`, ... Each sale's line numbers are the order's, which is what makes this
    safe to run twice: lines already in a sale of the order are not sold again (None: nothing new to record)."""
    sales = Sales(uow.session)
    count, done = sales.collected_lines(order.number)
    by_no = {ln.line_no: ln for ln in lines}
    now_sold = [by_no[n] for n in sorted(set(collected)) if n in by_no and n not in done and by_no[n].picked > 0]
    if not now_sold:
        return None
    total = sum((ln.unit_price * ln.picked for ln in now_sold), Decimal("0.00")).quantize(_CENT)
    receipt = order.number
    k = count + 1
    while True:  # the first free number of this order's collections
        receipt = order.number if k == 1 else f"{order.number}-{k}"
        if not sales.existing([receipt]):
            break
        k += 1
    sale = SaleIn(
        receipt=receipt,
        store=order.store_code,
        sold_at=utc(at).isoformat(),
        currency=order.currency,
        lines=[
            SaleLineIn(line_no=ln.line_no, sku=ln.sku, qty=ln.picked, unit_price=str(ln.unit_price), tax="0")
            for ln in now_sold
        ],
        tenders=[SaleTenderIn(kind="card", amount=str(total), reference=order.number)] if total > 0 else [],
    )
    stored, _ = record(uow, sale, None, channel="web", order_number=order.number, customer_id=order.customer_id)
    return stored
