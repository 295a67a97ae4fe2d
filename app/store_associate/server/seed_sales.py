"""Ninety days of trade for the seeded chain, the same every time for the same seed and `now`: the tills'
sales of every store (realistic customers, baskets, discounts, tax, serial numbers, tenders, gift receipts)
and web orders collected at every store, so that returns can be tried at once.

Till sales are planned here (`plan_store`, pure: SaleIn-shaped dicts) and recorded through server/sales.py's
`record_many`, the path a till's POST takes. Collected web orders are made the way intake makes orders
(repositories/orders.py `Orders.create`) and walked through the real order steps (server/orders.py
`perform`: acknowledge, pick, stage, hand over) with the times a store would have done them; the hand-over
makes the order a sale (sales.record_collection, receipt = the order's number, channel web).

Each store has its own random generator (seeded by the seed and the store's code), so a store's sales do not
change when the chain around it does; e-mails, phones, loyalty ids and serial numbers are unique chain-wide.

Long because: one generator whose parts (shoppers, opening hours, baskets, tenders, collected pickups) share a
store's plan, its random stream and its clock; split by those parts, each would import the others' privates.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, delete, select, update
from sqlmodel import Session

from ..config import Settings
from ..domain.codes import luhn_ok
from ..domain.commands import AcknowledgeOrder, HandOverOrder, PickLine, StageOrder
from ..domain.pickup import OrderStatus
from . import orders as order_steps
from . import sales as sales_module
from .api.schemas.sales import SaleCustomerIn, SaleIn, SaleLineIn, SaleTenderIn
from .models import (
    ApiKey,
    CustomerOrder,
    InventoryLevel,
    Notification,
    OrderEvent,
    Product,
    Sale,
    SaleLine,
    Store,
    UTCDateTime,
)
from .repositories.customers import Customers, customer_row
from .repositories.orders import NewOrder, event_row, line_row, order_row
from .seed_sales_data import (
    AREA_CODES,
    BASKET_LINES,
    CATEGORY_WEIGHT,
    CITY_MIX,
    CULTURES,
    DEFAULT_AREA_CODES,
    DEFAULT_MIX,
    DEFAULT_TAX,
    EMAIL_DOMAINS,
    FOOD,
    GIFTY,
    HOURLY_WEEKDAY,
    HOURLY_WEEKEND,
    MULTI_BUY,
    SERIAL_PREFIX,
    SERIALISED,
    TAX,
    WEEKDAY_SHARE,
)
from .uow import UnitOfWork

DAYS = 90  # what a device keeps and a return looks back on
SALES_PER_DAY = 30  # a store's average till sales a day (a busy store's benchmark: several hundred)
PICKUPS = 6  # web orders collected per store over the days

_CENT = Decimal("0.01")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The last sales before today of every store show one of these each, whatever the volume: the example receipts
# (a serialised item, a gift receipt, ...) are then always there and recent enough to return.
SHOWCASE = ("serial", "gift", "loyalty", "final", "split", "gift_card", "store_credit")


class Weighted:
    """Items drawn by weight, by bisecting the running total made once (random.choices makes it each call: the
    seed draws a few million times)."""

    def __init__(self, items: Iterable, weights: Iterable[float]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[min(bisect.bisect_right(self.cum, rng.random() * self.total), len(self.items) - 1)]


_BASKET = Weighted(range(1, len(BASKET_LINES) + 1), BASKET_LINES)
_QTY_MULTI = Weighted([1, 2, 3, 4, 6], [70, 18, 6, 4, 2])
_QTY_ONE = Weighted([1, 2, 3], [91, 7, 2])
# How people pay (relative): card, cash, part cash and part card, a gift card or store credit (the rest by card),
# and two cards for a large basket.
_TENDER = Weighted(["card", "cash", "split", "gift_card", "store_credit", "two_cards"], [64, 18, 7, 4, 3, 4])


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    brand: str
    category: str
    price: Decimal


@dataclass
class Shopper:
    name: str
    email: str
    phone: str
    loyalty_id: str | None
    locale: str

    def as_sale(self) -> dict:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "loyalty_id": self.loyalty_id,
            "locale": self.locale,
        }


@dataclass
class Identities:
    """What must be unique across the chain: e-mails, phones, loyalty ids, serial numbers, GC-/SC- codes."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    loyalty: set[str] = field(default_factory=set)
    serials: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)


@dataclass
class StorePlan:
    """A store's till sales (SaleIn-shaped dicts, in time order) and its shoppers."""

    code: str
    sales: list[dict]
    shoppers: list[Shopper]
    showcase: dict[str, str] = field(default_factory=dict)  # feature -> receipt


@dataclass
class SalesSummary:
    sales: int = 0
    lines: int = 0
    tenders: int = 0
    shoppers: int = 0
    pickups: int = 0
    examples: dict[str, Any] = field(default_factory=dict)


def money(value: Decimal) -> str:
    return str(value.quantize(_CENT, ROUND_HALF_UP))


# --- shoppers ---------------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")


def loyalty_id(rng: random.Random) -> str:
    """A loyalty card's 10 digits, the last a Luhn check digit (domain/codes.py checks it on a scan)."""
    body = "".join(rng.choices("0123456789", k=9))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def _email(rng: random.Random, first: str, last: str, ids: Identities) -> str:
    f, la = _ascii(first), _ascii(last)
    patterns = [
        f"{f}.{la}",
        f"{f}{la}{rng.randint(1, 99)}",
        f"{f[0]}{la}",
        f"{f}_{la}",
        f"{la}.{f}",
        f"{f}.{la}{rng.randint(60, 99) if rng.random() < 0.7 else rng.randint(0, 9):02d}",
    ]
    local = rng.choice(patterns)
    domain = rng.choice(EMAIL_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email in ids.emails:
        n += 1
        email = f"{local}{n}@{domain}"
    ids.emails.add(email)
    return email


def _phone(rng: random.Random, city: str, ids: Identities) -> str:
    codes = AREA_CODES.get(city, DEFAULT_AREA_CODES)
    for _ in range(12):
        phone = f"+1 {rng.choice(codes)}-555-01{rng.randint(0, 99):02d}"
        if phone not in ids.phones:
            ids.phones.add(phone)
            return phone
    return ""  # the city's fictional numbers are used up: this one gave none


def shoppers(rng: random.Random, city: str, n: int, ids: Identities) -> list[Shopper]:
    """n people living near a store of `city`: names of the cultures there, an e-mail each, a phone for most,
    a loyalty card for about 40 %, and the language they read (Spanish or Arabic for some)."""
    mix = CITY_MIX.get(city, DEFAULT_MIX)
    cultures, weights = list(mix), list(mix.values())
    out = []
    for _ in range(n):
        firsts, lasts, locales = CULTURES[rng.choices(cultures, weights)[0]]
        first, last = rng.choice(firsts), rng.choice(lasts)
        locale = rng.choices(list(locales), list(locales.values()))[0]
        card = None
        if rng.random() < 0.4:
            card = loyalty_id(rng)
            while card in ids.loyalty:
                card = loyalty_id(rng)
            ids.loyalty.add(card)
        email = _email(rng, first, last, ids)
        phone = _phone(rng, city, ids) if rng.random() < 0.8 else ""
        out.append(Shopper(f"{first} {last}", email, phone, card, locale))
    return out


# --- opening hours and the day's curve ---------------------------------------------------------------------


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def open_intervals(hours: dict, day: date) -> list[tuple[int, int]]:
    """The day's opening hours as minute ranges; "00:00"-"00:00" is around the clock, a close at 00:00 is
    midnight."""
    spans = []
    for start, end in hours.get(_WEEK[day.weekday()], []):
        a, b = _minutes(start), _minutes(end)
        if b <= a:
            b = 24 * 60 if b == 0 else b + 24 * 60
        spans.append((a, min(b, 24 * 60)))
    return spans


@functools.cache
def day_curve(spans: tuple[tuple[int, int], ...], weekend: bool) -> DayCurve:
    """The curve of a day with these opening hours (made once: a store's days repeat a week's hours)."""
    return DayCurve(list(spans), weekend)


class DayCurve:
    """When in a day people buy, given its opening hours: the hour by the weekday's or weekend's curve (times
    the part of the hour the store is open), then a minute it is open and a second."""

    def __init__(self, spans: list[tuple[int, int]], weekend: bool) -> None:
        curve = HOURLY_WEEKEND if weekend else HOURLY_WEEKDAY
        self.minutes = [[m for a, b in spans for m in range(max(a, h * 60), min(b, (h + 1) * 60))] for h in range(24)]
        hours = [h for h in range(24) if self.minutes[h]]
        self.hours = Weighted(hours, [curve[h] * len(self.minutes[h]) / 60 for h in hours])

    def second(self, rng: random.Random) -> int:
        minutes = self.minutes[self.hours.pick(rng)]
        return minutes[int(rng.random() * len(minutes))] * 60 + int(rng.random() * 60)


# --- baskets -----------------------------------------------------------------------------------------------


class Catalogue:
    """The products a till sells, by category, with the category's weight in a basket."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.by_category: dict[str, list[Item]] = {}
        for item in items:
            self.by_category.setdefault(item.category, []).append(item)
        self.categories = sorted(self.by_category)
        self.weighted = Weighted(self.categories, [CATEGORY_WEIGHT.get(c, 4) for c in self.categories])
        self.serialised = [i for c in self.categories for i in self.by_category[c] if serialised(i)]
        self.gifty = [i for c in sorted(GIFTY & set(self.categories)) for i in self.by_category[c]]
        self.by_sku = {i.sku: i for items in self.by_category.values() for i in items}

    def pick(self, rng: random.Random) -> Item:
        items = self.by_category[self.weighted.pick(rng)]
        # A few favourites sell most: the square of a uniform number favours the front of the list.
        return items[int(len(items) * rng.random() ** 2)]


def serialised(item: Item) -> bool:
    floor = SERIALISED.get(item.category)
    return floor is not None and item.price >= floor


def serial_number(rng: random.Random, item: Item, sold: date, ids: Identities) -> str:
    """A maker's serial number: the brand's prefix, the year and week it was made (weeks to months before the
    sale) and 7 characters; unique chain-wide."""
    prefix = SERIAL_PREFIX.get(item.brand, _ascii(item.brand)[:2].upper() or "SN")
    made = (sold - timedelta(days=rng.randint(20, 300))).isocalendar()
    while True:
        serial = f"{prefix}{made.year % 100:02d}{made.week:02d}{''.join(rng.choices(_CROCKFORD, k=7))}"
        if serial not in ids.serials:
            ids.serials.add(serial)
            return serial


def _code(rng: random.Random, prefix: str, ids: Identities) -> str:
    while True:
        code = f"{prefix}-{''.join(rng.choices(_CROCKFORD, k=12))}"
        if code not in ids.codes:
            ids.codes.add(code)
            return code


def _unit_price(rng: random.Random, item: Item, clearance: bool) -> Decimal:
    """The price paid per unit: the shelf price, a promotion now and then (10-25 % off), clearance at 40-50 %
    off; never below half the shelf price (about what the chain paid for it)."""
    if clearance:
        off = Decimal(rng.choice(["0.40", "0.45", "0.50"]))
    elif rng.random() < 0.12:
        off = Decimal(rng.choice(["0.10", "0.15", "0.20", "0.25"]))
    else:
        return item.price
    floor = (item.price / 2).quantize(_CENT, ROUND_UP)
    return max(floor, (item.price * (1 - off)).quantize(_CENT, ROUND_HALF_UP), _CENT)


def _qty(rng: random.Random, item: Item) -> int:
    return (_QTY_MULTI if item.category in MULTI_BUY else _QTY_ONE).pick(rng)


def tax_rates(store: str) -> tuple[Decimal, Decimal]:
    """(general, food) sales tax of a store, as fractions: its city's (the code's first three letters)."""
    general, food = TAX.get(store[:3], DEFAULT_TAX)
    return general / 100, food / 100


def _lines(
    rng: random.Random, catalogue: Catalogue, store: str, sold: date, wants: set[str], ids: Identities
) -> list[dict]:
    general, food = tax_rates(store)
    n = _BASKET.pick(rng)
    chosen: list[Item] = []
    if "serial" in wants and catalogue.serialised:
        chosen.append(rng.choice(catalogue.serialised))
    if "gift" in wants and catalogue.gifty:
        chosen.append(rng.choice(catalogue.gifty))
    for _ in range(n * 3):
        if len(chosen) >= n:
            break
        item = catalogue.pick(rng)
        if all(item.sku != c.sku for c in chosen):
            chosen.append(item)
    final_at = rng.randrange(len(chosen)) if "final" in wants else -1
    lines = []
    for k, item in enumerate(chosen):
        clearance = k == final_at or rng.random() < 0.02
        unit = _unit_price(rng, item, clearance)
        qty = 1 if serialised(item) else _qty(rng, item)
        rate = food if item.category in FOOD else general
        tax = (unit * qty * rate).quantize(_CENT, ROUND_HALF_UP)
        lines.append(
            {
                "sku": item.sku,
                "qty": qty,
                "unit_price": money(unit),
                "tax": money(tax),
                "serial": serial_number(rng, item, sold, ids) if serialised(item) else "",
                "final_sale": clearance,
            }
        )
    return lines


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 62)
        out.append(_ALNUM[d])
    return "".join(out)


def _card(rng: random.Random, amount: Decimal) -> dict:
    # A payment provider's reference, as Stripe's PaymentIntents look: pi_ and 24 letters and digits.
    return {
        "kind": "card",
        "amount": money(amount),
        "card_last4": f"{rng.randrange(10000):04d}",
        "reference": "pi_" + _base62(rng.getrandbits(143), 24),
    }


def _tenders(rng: random.Random, total: Decimal, wants: set[str], ids: Identities) -> list[dict]:
    """How the customer paid: mostly by card, cash often, sometimes part cash and part card, a gift card or
    store credit (with the rest by card), two cards for a large basket. The amounts add up to the total."""
    kind = next((w for w in ("split", "gift_card", "store_credit") if w in wants), None) or _TENDER.pick(rng)
    if kind == "cash":
        return [{"kind": "cash", "amount": money(total)}]
    if kind == "split":
        notes = [Decimal(n) for n in (5, 10, 20, 40, 50) if Decimal(n) < total]
        cash = rng.choice(notes) if notes else (total / 2).quantize(_CENT)
        if cash <= 0 or cash >= total:
            return [_card(rng, total)]
        return [{"kind": "cash", "amount": money(cash)}, _card(rng, total - cash)]
    if kind in ("gift_card", "store_credit"):
        if kind == "gift_card":
            balance = Decimal(rng.choice([10, 25, 50, 100]))
        else:
            balance = Decimal(rng.randint(500, 6000)) / 100
        part = min(balance, total)
        first = {
            "kind": kind,
            "amount": money(part),
            "reference": _code(rng, "GC" if kind == "gift_card" else "SC", ids),
        }
        return [first] + ([_card(rng, total - part)] if part < total else [])
    if kind == "two_cards" and total > 80:
        half = (total / 2).quantize(_CENT)
        return [_card(rng, half), _card(rng, total - half)]
    return [_card(rng, total)]


def _total(lines: list[dict]) -> Decimal:
    return sum((Decimal(ln["unit_price"]) * ln["qty"] + Decimal(ln["tax"]) for ln in lines), Decimal("0.00"))


# --- a store's 90 days -------------------------------------------------------------------------------------


def store_rng(seed_value: int, store: str) -> random.Random:
    return random.Random(f"sales:{seed_value}:{store}")


def plan_store(
    seed_value: int,
    store: dict,
    catalogue: Catalogue,
    now: datetime,
    days: int,
    per_day: float,
    ids: Identities,
    currency: str = "USD",
) -> StorePlan:
    """A store's till sales over the `days` before `now` (SaleIn-shaped dicts, oldest first). `store`: its
    code, timezone and hours. Deterministic for the same seed, store, catalogue, `now` and earlier stores."""
    code = store["code"]
    rng = store_rng(seed_value, code)
    tz = ZoneInfo(store["timezone"])
    local_now = now.astimezone(tz)
    since = now - timedelta(days=days)
    pool = shoppers(rng, code[:3], max(24, min(400, int(per_day * days / 9))), ids)
    # Regulars: a few people come back often; loyalty members come more often than others.
    regulars = Weighted(pool, [rng.lognormvariate(0, 0.7) * (2 if s.loyalty_id else 1) for s in pool])
    members = [s for s in pool if s.loyalty_id]
    tills = [f"{t:02d}" for t in range(1, max(2, min(8, round(per_day / 15) + 1)) + 1)]
    till_pick = Weighted(tills, [1.0 / (1 + 0.35 * k) for k in range(len(tills))])  # till 01 is open most
    # First the day's times and receipt numbers, then the baskets: the showcase needs to know the last ones.
    slots: list[tuple[datetime, str, str]] = []
    for back in range(days, -1, -1):
        day = local_now.date() - timedelta(days=back)
        spans = open_intervals(store["hours"], day)
        if not spans:
            continue
        curve = day_curve(tuple(spans), day.weekday() >= 5)
        expected = per_day * WEEKDAY_SHARE[day.weekday()] * max(0.6, rng.gauss(1.0, 0.12))
        n = int(expected) + (rng.random() < expected - int(expected))
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        seconds = sorted(curve.second(rng) for _ in range(n))
        seq = dict.fromkeys(tills, 0)
        prefix = f"{code.replace('-', '')}-{day:%y%m%d}"
        for s in seconds:
            at = midnight + timedelta(seconds=s)  # the wall clock's time that day
            if not since < at <= now:
                continue
            till = till_pick.pick(rng)
            seq[till] += 1
            slots.append((at, till, f"{prefix}-{till}-{seq[till]:04d}"))
    today = local_now.date()
    before_today = [i for i, (at, _, _) in enumerate(slots) if at.date() < today] or list(range(len(slots)))
    forced = dict(zip(reversed(before_today[-len(SHOWCASE) :]), SHOWCASE, strict=False))
    plan = StorePlan(code, [], pool)
    for i, (at, till, receipt) in enumerate(slots):
        wants = {forced[i]} if i in forced else set()
        if "loyalty" in wants and members:
            shopper: Shopper | None = rng.choice(members)
        elif rng.random() < 0.5:
            shopper = None  # no loyalty card, no e-receipt: the till knows nobody
        else:
            shopper = regulars.pick(rng)
        lines = _lines(rng, catalogue, code, at.date(), wants, ids)
        gifty = any(catalogue.by_sku[ln["sku"]].category in GIFTY for ln in lines)
        gift = "gift" in wants or rng.random() < (0.14 if gifty else 0.07)
        sale = {
            "receipt": receipt,
            "store": code,
            "till": till,
            "sold_at": at.isoformat(),
            "currency": currency,
            "customer": shopper.as_sale() if shopper else None,
            "lines": lines,
            "tenders": _tenders(rng, _total(lines), wants, ids),
            "gift_receipt": gift,
        }
        plan.sales.append(sale)
        if i in forced:
            plan.showcase[forced[i]] = receipt
    return plan


# --- into the database -------------------------------------------------------------------------------------


def sale_in(sale: dict) -> SaleIn:
    """A planned sale as record_many takes it, built from its parts without validating them again: pydantic's
    checks cost more than writing the sale (tens of thousands of them per seed). What SaleIn would make of the
    dict is what this makes (tests/server/test_seed_sales.py validates every planned sale and compares); the
    rules of a sale (SKUs, currency, tenders against the lines, ...) are record_many's, checked on each."""
    customer = sale["customer"]
    return SaleIn.model_construct(
        receipt=sale["receipt"],
        store=sale["store"],
        till=sale["till"],
        sold_at=datetime.fromisoformat(sale["sold_at"]).astimezone(UTC),
        currency=sale["currency"],
        customer=SaleCustomerIn.model_construct(**customer) if customer else None,
        lines=[
            SaleLineIn.model_construct(
                sku=ln["sku"],
                qty=ln["qty"],
                unit_price=Decimal(ln["unit_price"]),
                tax=Decimal(ln["tax"]),
                serial=ln["serial"],
                final_sale=ln["final_sale"],
            )
            for ln in sale["lines"]
        ],
        tenders=[SaleTenderIn.model_construct(**{**t, "amount": Decimal(t["amount"])}) for t in sale["tenders"]],
        gift_receipt=sale["gift_receipt"],
    )


def _load(engine: Engine, stores: list[str] | None) -> tuple[list[dict], list[Item], str]:
    with Session(engine) as session:
        rows = session.execute(
            select(Store.code, Store.timezone, Store.hours).where(Store.kind == "store").order_by(Store.code)
        ).all()
        items = [
            Item(r.sku, r.name, r.brand, r.category, Decimal(r.price))
            for r in session.execute(
                select(Product.sku, Product.name, Product.brand, Product.category, Product.price)
                .where(Product.deleted.is_(False))
                .order_by(Product.sku)
            )
        ]
        currency = session.execute(select(Product.currency).limit(1)).scalar_one_or_none() or "USD"
    chosen = [dict(r._mapping) for r in rows if stores is None or r.code in stores]
    if stores is not None:
        place = {code: i for i, code in enumerate(stores)}
        chosen.sort(key=lambda r: place[r["code"]])
    return chosen, items, currency


def seed_sales(
    engine: Engine,
    seed_value: int,
    now: datetime,
    *,
    days: int = DAYS,
    per_day: float = SALES_PER_DAY,
    pickups: int = PICKUPS,
    stores: list[str] | None = None,
    staff: dict[str, str] | None = None,
    avoid: Iterable[str] = (),
    home: str | None = None,
    settings: Settings | None = None,
) -> SalesSummary:
    """Record `days` of till sales (about `per_day` a store a day) and `pickups` collected web orders per store,
    for `stores` (store codes; None: every store; the benchmark chain's thousand keep to those with staff).
    `staff`: store -> the staff number whose steps the collected orders show; `avoid`: SKUs the collected
    orders leave alone (the seed's examples of stock); `home`: the store whose receipts are the examples."""
    settings = settings or Settings()
    store_rows, items, currency = _load(engine, stores)
    summary = SalesSummary()
    if not store_rows or not items:
        return summary
    catalogue = Catalogue(items)
    ids = Identities()
    uow = UnitOfWork(engine, settings)
    plans: dict[str, StorePlan] = {}
    till_keys = _till_keys(engine)
    for store in store_rows:
        plan = plan_store(seed_value, store, catalogue, now, days, per_day, ids, currency)
        plans[store["code"]] = plan
        with uow:
            recorded = sales_module.record_many(uow, [sale_in(s) for s in plan.sales], till_keys.get(store["code"]))
            uow.commit()
        summary.sales += len(recorded)
        summary.lines += sum(len(s["lines"]) for s in plan.sales)
        summary.tenders += sum(len(s["tenders"]) for s in plan.sales)
        summary.shoppers += len({s["customer"]["email"] for s in plan.sales if s["customer"]})
    collected = collect_pickups(
        uow, seed_value, store_rows, plans, now, days, pickups, staff or {}, set(avoid), currency
    )
    summary.pickups = len(collected)
    home = home if home in plans else store_rows[0]["code"]
    summary.examples = examples(engine, plans[home], [c for c in collected if c["store"] == home])
    return summary


def _till_keys(engine: Engine) -> dict[str, int]:
    """Each store's till key (the seed makes one a store): the sales are recorded as that till sent them."""
    with Session(engine) as session:
        rows = session.execute(
            select(ApiKey.store_code, ApiKey.id).where(ApiKey.role == "till", ApiKey.revoked_at.is_(None))
        ).all()
    return {store: key for store, key in rows}


# --- collected web orders ----------------------------------------------------------------------------------


def collect_pickups(
    uow: UnitOfWork,
    seed_value: int,
    store_rows: list[dict],
    plans: dict[str, StorePlan],
    now: datetime,
    days: int,
    per_store: int,
    staff: dict[str, str],
    avoid: set[str],
    currency: str,
) -> list[dict]:
    """Web orders placed over the days and collected: made as intake makes them (Orders.create, their units
    reserved), then acknowledged, picked, staged and handed over by the store's associate through the real
    steps, dated when they were done. Each becomes a sale (receipt = order number, channel web). Their
    messages to the customer went out long ago: none is left in the outbox, so no mail leaves for them now.
    Returns what was made: store, order number, pickup code, customer e-mail, times."""
    if per_store <= 0 or days < 3:
        return []
    made: list[dict] = []
    with uow:
        session = uow.session
        uow.changes.lock()  # before any row, as every writer does
        web_shop = session.execute(select(ApiKey.id).where(ApiKey.role == "web_shop").limit(1)).scalar_one_or_none()
        new: list[NewOrder] = []
        people_rows: list[dict] = []
        for store in store_rows:
            code = store["code"]
            rng = random.Random(f"pickups:{seed_value}:{code}")
            stocked = _plenty(session, code, avoid)
            if not stocked:
                continue
            tz = ZoneInfo(store["timezone"])
            people = [s for s in plans[code].shoppers if s.email]
            for k in range(per_store):
                # Spread over the days, the newest three days ago: collected (within a day or two) before now.
                back = (
                    3
                    + (days - 4) * (per_store - 1 - k) // per_store
                    + rng.randint(0, max(0, (days - 4) // per_store - 1))
                )
                day = now.astimezone(tz).date() - timedelta(days=min(back, days - 1))
                # The web shop never closes; people order at the times they shop.
                placed = _time_of(day, tz, day_curve(_ALL_DAY, day.weekday() >= 5).second(rng))
                who = rng.choice(people)
                picked = rng.sample(stocked, min(len(stocked), rng.choices([1, 2, 3], [55, 30, 15])[0]))
                lines = [(item, 1 if serialised(item) else rng.choices([1, 2], [85, 15])[0]) for item in picked]
                order = order_row(
                    store=code,
                    channel="web",
                    fulfilment="pickup",
                    status=OrderStatus.NEW.value,
                    customer_id=0,  # below, with the batch's customers
                    currency=currency,
                    total=sum((item.price * qty for item, qty in lines), Decimal("0")),
                    promised_at=placed + timedelta(hours=2),
                    now=placed,
                    id_check=rng.random() < 0.08,
                    api_key_id=web_shop,
                    idempotency_key=f"seed-{seed_value}-{code}-{k}",
                )
                new.append(
                    NewOrder(
                        order,
                        [line_row(item.sku, item.name, qty, item.price) for item, qty in lines],
                        event_row("intake", {"channel": "web"}, placed),
                        reserve=True,
                    )
                )
                made.append(
                    {
                        "store": code,
                        "placed": placed,
                        "email": who.email,
                        "name": who.name,
                        "rng": rng,
                        "store_row": store,
                    }
                )
                people_rows.append(customer_row(who.name, who.email, who.phone, who.locale, placed))
        # A web order's customer is its own row, as intake makes it (the web shop knows no loyalty card).
        for n, customer_id in zip(new, Customers(session).insert(people_rows), strict=True):
            n.order["customer_id"] = customer_id
        uow.orders.create(new)
        for n, m in zip(new, made, strict=True):
            m.update(order=n.order["number"], pickup_code=n.order["pickup_code"])
            _walk(uow, n, m, staff.get(m["store"]), now)
        _settle_history(uow, made)
        uow.commit()
    for m in made:
        del m["rng"], m["store_row"]
    return made


def _plenty(session: Session, store: str, avoid: set[str]) -> list[Item]:
    """Products with units to spare here (10 or more available): a handful of collected orders leaves the
    store's stock as the seed made it, near enough."""
    rows = session.execute(
        select(Product.sku, Product.name, Product.brand, Product.category, Product.price)
        .join(InventoryLevel, InventoryLevel.sku == Product.sku)
        .where(
            InventoryLevel.store_code == store,
            InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.safety_stock >= 10,
            Product.deleted.is_(False),
        )
        .order_by(Product.sku)
        .limit(400)
    ).all()
    return [Item(r.sku, r.name, r.brand, r.category, Decimal(r.price)) for r in rows if r.sku not in avoid]


def _walk(uow: UnitOfWork, new: NewOrder, m: dict, staff: str | None, now: datetime) -> None:
    """The order's steps, as the store's associate did them: acknowledged within the hour, picked line by line,
    staged, and handed over to the customer hours to two days later."""
    rng: random.Random = m["rng"]
    number, store = new.order["number"], m["store"]
    hours, tz = m["store_row"]["hours"], ZoneInfo(m["store_row"]["timezone"])
    t = open_from(hours, tz, m["placed"] + timedelta(minutes=rng.randint(3, 50)))
    steps: list[tuple[Any, datetime]] = [(AcknowledgeOrder(order=number), t)]
    for ln in new.lines:
        t += timedelta(minutes=rng.randint(1, 9))
        steps.append((PickLine(order=number, line_no=ln["line_no"], qty=ln["qty"]), t))
    t += timedelta(minutes=rng.randint(4, 30))
    steps.append((StageOrder(order=number, bin=f"B-{rng.randint(1, 40):02d}"), t))
    m["staged"] = t
    t = min(_collection_time(rng, hours, tz, t), now - timedelta(minutes=30))
    steps.append(
        (
            HandOverOrder(
                order=number,
                lines=[ln["line_no"] for ln in new.lines],
                id_checked=bool(new.order["id_check"]),
                collected_by=m["name"],
            ),
            t,
        )
    )
    m["collected"] = t
    # The hand-over step records the collection as a sale (sales.record_collection, dated when it was done).
    for command, at in steps:
        order_steps.perform(uow, store, command, staff, None, None, done_at=at)


_ALL_DAY = ((0, 24 * 60),)


def _time_of(day: date, tz: ZoneInfo, second: int) -> datetime:
    """The instant (UTC) of a second of a day by the store's wall clock."""
    return (datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(seconds=second)).astimezone(UTC)


def open_from(hours: dict, tz: ZoneInfo, t: datetime) -> datetime:
    """`t` when the store is open then, else when it next opens (within a week; `t` if it never does)."""
    local = t.astimezone(tz)
    for k in range(8):
        day = local.date() + timedelta(days=k)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        for a, b in sorted(open_intervals(hours, day)):
            if local < midnight + timedelta(minutes=b):
                return max(local, midnight + timedelta(minutes=a)).astimezone(UTC)
    return t


def _collection_time(rng: random.Random, hours: dict, tz: ZoneInfo, staged: datetime) -> datetime:
    """When the customer came: the same day or one of the next two, while the store was open, after staging."""
    for _ in range(6):
        day = staged.astimezone(tz).date() + timedelta(days=rng.choice([0, 0, 1, 1, 1, 2]))
        spans = open_intervals(hours, day)
        if not spans:
            continue
        at = _time_of(day, tz, day_curve(tuple(spans), day.weekday() >= 5).second(rng))
        if at >= staged + timedelta(minutes=30):
            return at
    return staged + timedelta(hours=1)


_ORDER = CustomerOrder.__table__
_EVENT = OrderEvent.__table__
_NOTE = Notification.__table__
_ORDER_TIMES = (
    update(_ORDER)
    .where(_ORDER.c.number == bindparam("k_number"))
    .values(
        updated_at=bindparam("v_updated", type_=UTCDateTime()), expires_at=bindparam("v_expires", type_=UTCDateTime())
    )
)
_EVENTS_RECORDED = (
    update(_EVENT)
    .where(_EVENT.c.order_number.in_(bindparam("numbers", expanding=True)))
    .values(recorded_at=_EVENT.c.at)
)
_MESSAGES = delete(_NOTE).where(_NOTE.c.order_number.in_(bindparam("numbers", expanding=True)))


def _settle_history(uow: UnitOfWork, made: list[dict]) -> None:
    """The steps were written now, by the server's clock: the orders' trail says each was recorded when it was
    done (the store's devices were online), an order was last changed at its hand-over and was ready until its
    pickup window from staging. The customer's messages went out then: the outbox keeps none of them (nothing to
    send now, and the outbox stays as a fresh chain has it)."""
    session = uow.session
    if not made:
        return
    session.flush()
    windows = {
        code: timedelta(hours=session.get(Store, code).pickup_hours(uow.settings))
        for code in {m["store"] for m in made}
    }
    numbers = [m["order"] for m in made]
    session.execute(
        _ORDER_TIMES,
        [
            {"k_number": m["order"], "v_updated": m["collected"], "v_expires": m["staged"] + windows[m["store"]]}
            for m in made
        ],
    )
    session.execute(_EVENTS_RECORDED, {"numbers": numbers})
    session.execute(_MESSAGES, {"numbers": numbers})


# --- examples ----------------------------------------------------------------------------------------------


def examples(engine: Engine, plan: StorePlan, collected: list[dict]) -> dict[str, Any]:
    """Receipts of the home store worth trying: one with a serialised item, one with a gift receipt (and its
    GR- code), a loyalty customer's, a clearance (final sale) item, a split tender, a gift card, store credit,
    a regular customer (several visits), and a web order collected here."""
    by_receipt = {s["receipt"]: s for s in plan.sales}
    out: dict[str, Any] = {"store": plan.code}
    with Session(engine) as session:

        def gift_code(receipt: str) -> str | None:
            return session.execute(select(Sale.gift_code).where(Sale.receipt == receipt)).scalar_one_or_none()

        for feature, receipt in plan.showcase.items():
            sale = by_receipt[receipt]
            entry: dict[str, Any] = {"receipt": receipt, "barcode": sales_module.receipt_barcode(receipt)}
            if feature == "serial":
                line = next((ln for ln in sale["lines"] if ln["serial"]), None)
                if line is None:
                    continue
                entry.update(sku=line["sku"], serial=line["serial"])
            elif feature == "gift":
                entry.update(gift_code=gift_code(receipt))
            elif feature == "loyalty":
                if not (sale["customer"] or {}).get("loyalty_id"):
                    continue
                entry.update(loyalty_id=sale["customer"]["loyalty_id"], email=sale["customer"]["email"])
            elif feature == "final":
                entry.update(sku=next(ln["sku"] for ln in sale["lines"] if ln["final_sale"]))
            elif feature in ("gift_card", "store_credit"):
                entry.update(reference=sale["tenders"][0]["reference"])
            out[f"receipt_{feature}"] = entry
        visits: dict[str, list[str]] = {}
        for s in plan.sales:
            if s["customer"]:
                visits.setdefault(s["customer"]["email"], []).append(s["receipt"])
        regular = max(visits.items(), key=lambda kv: (len(kv[1]), kv[0]), default=None)
        if regular is not None:
            who = next(s["customer"] for s in plan.sales if s["customer"] and s["customer"]["email"] == regular[0])
            out["regular_customer"] = {**who, "receipts": len(regular[1]), "latest": regular[1][-1]}
        if collected:
            latest = max(collected, key=lambda c: c["collected"])
            lines = session.execute(select(SaleLine.sku).where(SaleLine.receipt == latest["order"])).scalars().all()
            out["web_collected"] = {
                "order": latest["order"],
                "receipt": latest["order"],
                "pickup_code": latest["pickup_code"],
                "email": latest["email"],
                "skus": list(lines),
                "collected_at": latest["collected"].isoformat(),
            }
            status = session.execute(
                select(CustomerOrder.status).where(CustomerOrder.number == latest["order"])
            ).scalar_one()
            out["web_collected"]["status"] = status
    return out
