"""The seed's 90 days of trade (server/seed_sales.py), on real SQLite files and the real PostgreSQL server: till
sales for every store over the days, money that adds up, receipts and serial numbers that are unique and well
formed, a realistic mix (gift receipts, anonymous sales, loyalty customers, tenders), collected web orders that
became sales through the real order steps, example receipts that name real sales, and the same seed giving the
same receipts."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from store_associate.domain.codes import CodeKind, interpret, luhn_ok
from store_associate.domain.credentials import token_hash
from store_associate.server.api.schemas.sales import SaleIn
from store_associate.server.db import make_engine, upgrade
from store_associate.server.models import (
    ApiKey,
    Customer,
    CustomerOrder,
    InventoryMovement,
    Notification,
    OrderEvent,
    OrderLine,
    Product,
    Sale,
    SaleLine,
    SaleTender,
    Store,
)
from store_associate.server.sales import NewSale, sale_hash
from store_associate.server.seed import _Generator, _products, seed
from store_associate.server.seed_data import STORE_HOURS
from store_associate.server.seed_sales import (
    Catalogue,
    Identities,
    Item,
    plan_store,
    sale_in,
    serialised,
    tax_rates,
)
from store_associate.server.seed_sales_data import FOOD
from tests.conftest import database

NOW = datetime.now(UTC).replace(microsecond=0)  # one "now" for every seed here: the same seed, the same sales
DAYS = 90
PER_DAY = 3
PICKUPS = 2
RECEIPT = re.compile(r"^([A-Z0-9]+)-(\d{6})-(\d{2})-(\d{4})$")
CENT = Decimal("0.01")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    with database(request.param, tmp_path_factory.mktemp(f"seed-sales-{request.param}")) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            summary = seed(engine, 42, 27, 120, sales_per_day=PER_DAY, pickups_per_store=PICKUPS, now=NOW)
            yield engine, summary
        finally:
            engine.dispose()


def till_sales(s: Session) -> list[Sale]:
    return list(s.execute(select(Sale).where(Sale.channel == "till").order_by(Sale.receipt)).scalars())


def by_receipt(s: Session, model: type) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for row in s.execute(select(model)).scalars():
        out[row.receipt].append(row)
    return out


def test_every_store_sells_every_week_of_the_90_days(seeded):
    engine, summary = seeded
    with Session(engine) as s:
        stores = {st.code: st for st in s.execute(select(Store)).scalars()}
        sales = till_sales(s)
    selling = {code for code, st in stores.items() if st.kind == "store"}
    assert len(selling) == 25 and summary.sales == len(sales)
    per_store: dict[str, list[datetime]] = defaultdict(list)
    for sale in sales:
        per_store[sale.store_code].append(sale.sold_at)
    assert set(per_store) == selling  # every store, no warehouse
    for times in per_store.values():
        assert all(NOW - timedelta(days=DAYS) < t <= NOW for t in times)
        weeks = {int((NOW - t).total_seconds() // (7 * 86400)) for t in times}
        assert weeks >= set(range(12))  # some sales every week, from three months ago to the last days
        assert PER_DAY * DAYS * 0.7 < len(times) < PER_DAY * DAYS * 1.3


def test_sales_follow_opening_hours_and_the_busy_days(seeded):
    engine, _ = seeded
    with Session(engine) as s:
        stores = {st.code: st for st in s.execute(select(Store)).scalars()}
        sales = till_sales(s)
    weekdays: Counter = Counter()
    for sale in sales:
        store = stores[sale.store_code]
        local = sale.sold_at.astimezone(ZoneInfo(store.timezone))
        weekdays[local.weekday()] += 1
        spans = store.hours[("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]]
        minute = local.hour * 60 + local.minute
        opens = [(int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:]) or 24 * 60) for a, b in spans]
        assert any(a <= minute < b or (a == 0 and b == 24 * 60) for a, b in opens), (sale.receipt, local, spans)
    assert weekdays[5] > weekdays[1]  # Saturday is busier than Tuesday


def test_receipts_are_unique_well_formed_and_numbered_per_till_and_day(seeded):
    engine, _ = seeded
    with Session(engine) as s:
        zones = {st.code: ZoneInfo(st.timezone) for st in s.execute(select(Store)).scalars()}
        sales = till_sales(s)
    assert len({x.receipt for x in sales}) == len(sales)
    runs: dict[tuple, list[tuple[datetime, int]]] = defaultdict(list)
    for sale in sales:
        m = RECEIPT.match(sale.receipt)
        assert m and re.match(r"^[A-Z0-9][A-Z0-9-]{3,31}$", sale.receipt)  # the plan's form, the API's shape
        code, day, till, seq = m.groups()
        assert code == sale.store_code.replace("-", "") and till == sale.till
        assert day == sale.sold_at.astimezone(zones[sale.store_code]).strftime("%y%m%d")  # the store's own date
        runs[(sale.store_code, day, till)].append((sale.sold_at, int(seq)))
        scanned = interpret(f"RC-{sale.receipt}")
        assert scanned.kind is CodeKind.RECEIPT and scanned.reference == sale.receipt
    for numbers in runs.values():  # each till counts its day's receipts from 1, in the order they were rung up
        assert [n for _, n in sorted(numbers)] == list(range(1, len(numbers) + 1))


def test_money_adds_up_and_tenders_pay_the_total(seeded):
    engine, _ = seeded
    with Session(engine) as s:
        prices = {p.sku: (Decimal(p.price), p.category) for p in s.execute(select(Product)).scalars()}
        lines, tenders = by_receipt(s, SaleLine), by_receipt(s, SaleTender)
        sales = list(s.execute(select(Sale)).scalars())
    for sale in sales:
        mine = lines[sale.receipt]
        subtotal = sum((Decimal(ln.unit_price) * ln.qty for ln in mine), Decimal(0))
        tax = sum((Decimal(ln.tax) for ln in mine), Decimal(0))
        assert (Decimal(sale.subtotal), Decimal(sale.tax)) == (subtotal, tax)
        assert Decimal(sale.total) == subtotal + tax > 0
        paid = tenders[sale.receipt]
        assert sum((Decimal(t.amount) for t in paid), Decimal(0)) == Decimal(sale.total)
        assert all(Decimal(t.amount) > 0 for t in paid)
        if sale.channel != "till":
            continue
        general, food = tax_rates(sale.store_code)
        for ln in mine:
            price, category = prices[ln.sku]
            unit = Decimal(ln.unit_price)
            assert (price / 2).quantize(CENT) <= unit <= price  # discounts, never below the cost-like floor
            rate = food if category in FOOD else general
            assert Decimal(ln.tax) == (unit * ln.qty * rate).quantize(CENT, ROUND_HALF_UP)
            assert 1 <= ln.qty <= 6
        for t in paid:
            if t.kind == "card":
                assert re.fullmatch(r"\d{4}", t.card_last4) and re.fullmatch(r"pi_[A-Za-z0-9]{24}", t.reference)
            elif t.kind == "gift_card":
                assert re.fullmatch(r"GC-[0-9A-HJKMNP-TV-Z]{12}", t.reference)
            elif t.kind == "store_credit":
                assert re.fullmatch(r"SC-[0-9A-HJKMNP-TV-Z]{12}", t.reference)
            else:
                assert t.kind == "cash" and t.card_last4 == "" and t.reference == ""
    assert tax_rates("NYC-01")[0] == Decimal("0.08875") and tax_rates("PDX-01") == (0, 0)


def test_serial_numbers_are_unique_and_on_every_serialised_item(seeded):
    engine, _ = seeded
    with Session(engine) as s:
        products = {p.sku: p for p in s.execute(select(Product)).scalars()}
        rows = s.execute(select(SaleLine).join(Sale).where(Sale.channel == "till")).scalars().all()
    serials = [ln.serial for ln in rows if ln.serial]
    assert serials and len(set(serials)) == len(serials)
    for ln in rows:
        p = products[ln.sku]
        item = Item(p.sku, p.name, p.brand, p.category, Decimal(p.price))
        assert bool(ln.serial) == serialised(item)
        if ln.serial:
            assert ln.qty == 1 and re.fullmatch(r"[A-Z]{2}\d{4}[0-9A-HJKMNP-TV-Z]{7}", ln.serial)


def test_a_realistic_mix_of_customers_receipts_and_tenders(seeded):
    engine, _ = seeded
    with Session(engine) as s:
        sales = till_sales(s)
        customers = {c.id: c for c in s.execute(select(Customer)).scalars()}
        kinds = Counter(s.execute(select(SaleTender.kind).join(Sale).where(Sale.channel == "till")).scalars())
        final = Counter(s.execute(select(SaleLine.final_sale).join(Sale).where(Sale.channel == "till")).scalars())
    n = len(sales)
    assert 0.05 < sum(x.gift_code is not None for x in sales) / n < 0.18  # about one in ten asks for one
    assert 0.40 < sum(x.customer_id is None for x in sales) / n < 0.60  # about half: nobody known
    loyal = [x for x in sales if x.customer_id and customers[x.customer_id].loyalty_id]
    assert len(loyal) / n > 0.1
    assert 0.005 < final[True] / (final[True] + final[False]) < 0.05  # clearance now and then
    assert kinds["card"] > kinds["cash"] > kinds["gift_card"] > 0 and kinds["store_credit"] > 0
    visits = Counter(x.customer_id for x in sales if x.customer_id)
    assert max(visits.values()) >= 3  # regulars come back
    people = [customers[cid] for cid in visits]
    assert 0.25 < sum(c.loyalty_id is not None for c in people) / len(people) < 0.7
    for c in people:
        assert c.loyalty_id is None or (len(c.loyalty_id) == 10 and luhn_ok(c.loyalty_id))
        if c.loyalty_id:
            card = interpret(f"LY-{c.loyalty_id}")
            assert card.kind is CodeKind.LOYALTY and card.reference == c.loyalty_id
        assert re.fullmatch(r"[a-z0-9._-]+@example\.(com|net|org)", c.email)
        assert c.phone == "" or re.fullmatch(r"\+1 \d{3}-555-01\d{2}", c.phone)  # fiction's numbers
        assert len(c.name.split()) >= 2
    locales = Counter(c.locale for c in people)
    assert set(locales) <= {"en", "es", "ar"} and locales["es"] > 0 and locales["en"] > len(people) / 2
    assert len({c.email for c in people}) == len(people)


def test_collected_web_orders_went_through_the_steps_and_became_sales(seeded):
    engine, summary = seeded
    with Session(engine) as s:
        orders = list(s.execute(select(CustomerOrder)).scalars())
        sales = {x.receipt: x for x in s.execute(select(Sale).where(Sale.channel == "web")).scalars()}
        lines, tenders = by_receipt(s, SaleLine), by_receipt(s, SaleTender)
        order_lines: dict[str, list] = defaultdict(list)
        for ln in s.execute(select(OrderLine)).scalars():
            order_lines[ln.order_number].append(ln)
        events: dict[str, list] = defaultdict(list)
        for e in s.execute(select(OrderEvent).order_by(OrderEvent.id)).scalars():
            events[e.order_number].append(e)
        outbox = s.execute(select(Notification)).scalars().all()
        handed = {m.reference for m in s.execute(select(InventoryMovement)).scalars() if m.reason == "order_handover"}
        stores = [st.code for st in s.execute(select(Store).where(Store.kind == "store")).scalars()]
    assert summary.pickups == len(orders) == PICKUPS * len(stores)
    assert Counter(o.store_code for o in orders) == dict.fromkeys(stores, PICKUPS)
    assert not outbox  # their messages went out long ago: nothing to send now
    for o in orders:
        assert o.status == "handed_over" and o.channel == "web"
        trail = events[o.number]
        actions = [e.action for e in trail]
        assert actions[0] == "intake" and actions[-2:] == ["stage_order", "hand_over"]
        assert actions[1:-2] == ["acknowledge_order"] + ["pick_line"] * len(order_lines[o.number])
        assert [e.at for e in trail] == sorted(e.at for e in trail) and trail[-1].at < NOW
        assert all(e.recorded_at == e.at for e in trail)
        assert all(ln.status == "handed_over" and ln.picked == ln.qty for ln in order_lines[o.number])
        assert o.number in handed  # the units left the store's stock
        sale = sales[o.number]  # the collection is a sale: receipt = the order's number
        assert (sale.order_number, sale.store_code, sale.customer_id) == (o.number, o.store_code, o.customer_id)
        assert sale.sold_at == trail[-1].at
        assert sorted((ln.sku, ln.qty) for ln in lines[o.number]) == sorted(
            (ln.sku, ln.qty) for ln in order_lines[o.number]
        )
        (card,) = tenders[o.number]
        assert card.kind == "card" and card.reference == o.number and Decimal(card.amount) == Decimal(sale.total)


def test_the_examples_name_real_receipts_of_the_home_store(seeded):
    engine, summary = seeded
    ex = summary.examples["sales"]
    assert ex["store"] == summary.examples["store"] == "NYC-01"
    with Session(engine) as s:

        def sale(receipt: str) -> tuple[Sale, list[SaleLine], list[SaleTender]]:
            found = s.get(Sale, receipt)
            assert found is not None and found.store_code == "NYC-01", receipt
            lines = s.execute(select(SaleLine).where(SaleLine.receipt == receipt)).scalars().all()
            tenders = s.execute(select(SaleTender).where(SaleTender.receipt == receipt)).scalars().all()
            return found, list(lines), list(tenders)

        recent = NOW - timedelta(days=10)  # recent enough to return
        for key in ("serial", "gift", "loyalty", "final", "split", "gift_card", "store_credit"):
            entry = ex[f"receipt_{key}"]
            assert entry["barcode"] == f"RC-{entry['receipt']}" and sale(entry["receipt"])[0].sold_at > recent
        _, lines, _ = sale(ex["receipt_serial"]["receipt"])
        assert ex["receipt_serial"]["serial"] in {ln.serial for ln in lines if ln.sku == ex["receipt_serial"]["sku"]}
        gift, _, _ = sale(ex["receipt_gift"]["receipt"])
        assert gift.gift_code == ex["receipt_gift"]["gift_code"]
        assert interpret(gift.gift_code).kind is CodeKind.GIFT_RECEIPT
        loyal, _, _ = sale(ex["receipt_loyalty"]["receipt"])
        assert s.get(Customer, loyal.customer_id).loyalty_id == ex["receipt_loyalty"]["loyalty_id"]
        _, lines, _ = sale(ex["receipt_final"]["receipt"])
        assert any(ln.final_sale and ln.sku == ex["receipt_final"]["sku"] for ln in lines)
        _, _, paid = sale(ex["receipt_split"]["receipt"])
        assert [t.kind for t in paid] == ["cash", "card"]
        for key in ("gift_card", "store_credit"):
            _, _, paid = sale(ex[f"receipt_{key}"]["receipt"])
            assert paid[0].kind == key and paid[0].reference == ex[f"receipt_{key}"]["reference"]
        regular = ex["regular_customer"]
        assert regular["receipts"] >= 3 and sale(regular["latest"])[0].customer_id is not None
        web = ex["web_collected"]
        order = s.get(CustomerOrder, web["order"])
        assert order.store_code == "NYC-01" and order.status == web["status"] == "handed_over"
        assert order.pickup_code == web["pickup_code"] and sale(web["receipt"])[0].channel == "web"
        keys = summary.examples["till_keys"]
        assert len(keys) == 25
        for store, key in keys.items():
            row = s.execute(select(ApiKey).where(ApiKey.key_hash == token_hash(key))).scalar_one()
            assert (row.role, row.store_code, row.revoked_at) == ("till", store, None)


def snapshot(url: str) -> dict:
    """The till sales of a database, as they were rung up (not the server's own codes and times)."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            lines, tenders = by_receipt(s, SaleLine), by_receipt(s, SaleTender)
            customers = {
                c.id: (c.name, c.email, c.phone, c.loyalty_id, c.locale) for c in s.execute(select(Customer)).scalars()
            }
            return {
                x.receipt: (
                    x.store_code,
                    x.till,
                    x.sold_at,
                    Decimal(x.total),
                    x.gift_code is not None,
                    customers.get(x.customer_id),
                    sorted((ln.line_no, ln.sku, ln.qty, Decimal(ln.unit_price), ln.serial) for ln in lines[x.receipt]),
                    sorted((t.seq, t.kind, Decimal(t.amount), t.card_last4, t.reference) for t in tenders[x.receipt]),
                )
                for x in till_sales(s)
            }
    finally:
        engine.dispose()


def test_same_seed_same_receipts_even_when_seeded_again(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    upgrade(engine)

    def run(seed_value: int) -> dict:
        seed(engine, seed_value, 4, 120, sales_per_day=PER_DAY, pickups_per_store=1, now=NOW)
        return snapshot(url)

    try:
        first = run(42)
        again = run(42)  # over the first: the old chain's orders and sales go with it
        other = run(7)
    finally:
        engine.dispose()
    assert first == again and len(first) > 3 * DAYS * 2
    assert first != other


def _plan(seed_value: int, per_day: float = 30) -> list[dict]:
    products, _, _ = _products(_Generator(43), 600)
    catalogue = Catalogue(Item(p["sku"], p["name"], p["brand"], p["category"], Decimal(p["price"])) for p in products)
    store = {"code": "NYC-01", "timezone": "America/New_York", "hours": STORE_HOURS[0]}
    return plan_store(seed_value, store, catalogue, NOW, DAYS, per_day, Identities()).sales


def test_planned_sales_are_what_a_till_would_post():
    """The seed builds SaleIn without validating (it is faster): every planned sale validates as a till's POST
    would, to the same model and the same digest (a till sending a seeded receipt again is a retry)."""
    planned = _plan(42)
    assert planned == _plan(42) and planned != _plan(43)
    for body in planned:
        validated = SaleIn.model_validate(body)
        built = sale_in(body)
        assert validated.model_dump() == built.model_dump()
        assert sale_hash(NewSale(validated)) == sale_hash(NewSale(built))
    lines = [ln for body in planned for ln in body["lines"]]
    sizes = Counter(len(body["lines"]) for body in planned)
    assert set(sizes) == {1, 2, 3, 4, 5, 6} and sizes[1] > sizes[6]  # baskets of 1 to 6 lines, mostly small
    assert sum(ln["qty"] == 1 for ln in lines) / len(lines) > 0.7  # mostly one of each


def test_the_examples_work_through_the_api(sqlite_server):
    """What tests and the e2e runs take from the examples: a store's till key posts that store's sales (and no
    other store's), and an example receipt reads back as the API shows it, serial number and all."""
    ex = sqlite_server.examples
    key = {"X-Api-Key": ex["till_keys"]["NYC-01"]}
    price = Decimal("5.00")  # (a till charges what it charges: the server keeps the price paid)
    body = {
        "receipt": f"NYC01-TEST-{uuid.uuid4().hex[:10].upper()}",
        "store": "NYC-01",
        "till": "09",
        "sold_at": datetime.now(UTC).isoformat(),
        "currency": "USD",
        "lines": [{"sku": ex["in_stock_here"]["sku"], "qty": 1, "unit_price": str(price), "tax": "0.00"}],
        "tenders": [{"kind": "cash", "amount": str(price)}],
    }
    r = httpx.post(f"{sqlite_server.url}/api/v1/sales", json=body, headers=key)
    assert r.status_code == 201, r.text
    other = httpx.post(
        f"{sqlite_server.url}/api/v1/sales", json={**body, "store": "BKN-01"}, headers=key
    )  # NYC-01's till cannot post Brooklyn's sales
    assert other.status_code == 403, other.text
    serial = ex["sales"]["receipt_serial"]
    r = httpx.get(f"{sqlite_server.url}/api/v1/sales/{serial['receipt']}", headers=sqlite_server.sign_in("associate"))
    assert r.status_code == 200, r.text
    assert serial["serial"] in {ln["serial"] for ln in r.json()["lines"]}
