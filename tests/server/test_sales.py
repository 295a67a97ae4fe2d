"""In-store sales over real HTTP on SQLite and PostgreSQL: a till posts them (its own key, its own store,
idempotent by receipt number), staff find them to return against, a collected web order becomes one, and the
store's devices pull them (the last 90 days; not other stores, not kiosks)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.permissions import Role
from store_associate.server.access import create_api_key
from store_associate.server.api.schemas.sales import SaleIn
from store_associate.server.db import make_engine
from store_associate.server.models import ApiKey, CustomerOrder, OrderLine, Sale, SaleLine, SaleTender, Store, utcnow
from store_associate.server.repositories.changelog import ChangeLog
from store_associate.server.sales import SaleError, record, record_collection
from store_associate.server.uow import UnitOfWork

HOME, OTHER = "NYC-01", "BOS-01"
PULL_ITEM = {
    "receipt",
    "store",
    "channel",
    "order_number",
    "till",
    "sold_at",
    "currency",
    "subtotal",
    "tax",
    "total",
    "gift_code",
    "customer",
    "lines",
    "tenders",
    "version",
}
LINE_KEYS = {"line_no", "sku", "name", "category", "qty", "unit_price", "tax", "serial", "final_sale", "returned"}
TENDER_KEYS = {"seq", "kind", "amount", "card_last4", "reference", "refunded"}
LOYALTY = "LY-4003600006"  # a card number whose check digit holds


def luhn_card(seed: int) -> str:
    """A loyalty card number of 10 digits whose Luhn check digit holds (one per test run: the id is unique)."""
    from store_associate.domain.codes import luhn_ok

    n = 1_000_000_000 + seed % 8_000_000_000
    while not luhn_ok(f"{n:010d}"):
        n += 1
    return f"{n:010d}"


def engine_of(server):
    return make_engine(server.database_url)


def till_key(server, store: str = HOME) -> str:
    """A till's key of `store`, made as an operator would (access.create_api_key)."""
    engine = engine_of(server)
    with Session(engine) as s:
        key = create_api_key(s, f"till {store}", role=Role.TILL, store=store)
        s.commit()
    engine.dispose()
    return key


@pytest.fixture(scope="module")
def till(server) -> dict[str, str]:
    return {"X-Api-Key": till_key(server, HOME)}


@pytest.fixture(scope="module")
def clerk(server) -> dict[str, str]:
    return server.sign_in("associate")


def receipt() -> str:
    return f"NYC01-{uuid.uuid4().hex[:12].upper()}"


def sale_body(number: str | None = None, **extra) -> dict:
    """A valid sale of the home store: 2 x 12.99 + 2.08 tax, 1 x 5.00 + 0.40 tax = 33.46, card and cash."""
    body = {
        "receipt": number or receipt(),
        "store": HOME,
        "till": "02",
        "sold_at": (datetime.now(UTC) - timedelta(hours=1)).astimezone(UTC).isoformat(),
        "currency": "USD",
        "customer": None,
        "lines": [
            {"sku": "100001", "qty": 2, "unit_price": "12.99", "tax": "2.08"},
            {"sku": "100002", "qty": 1, "unit_price": "5.00", "tax": "0.40", "serial": "", "final_sale": True},
        ],
        "tenders": [
            {"kind": "card", "amount": "20.00", "card_last4": "4242", "reference": "pi_123"},
            {"kind": "cash", "amount": "13.46"},
        ],
        "gift_receipt": False,
    }
    body.update(extra)
    return body


def post(server, body: dict, headers: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/sales", json=body, headers=headers, timeout=30)


def count_sales(server, number: str | None = None) -> tuple[int, int, int]:
    """(sales, lines, tenders) in the database, of one receipt or all."""
    engine = engine_of(server)
    with Session(engine) as s:
        out = []
        for model in (Sale, SaleLine, SaleTender):
            q = select(func.count()).select_from(model)
            if number is not None:
                q = q.where(model.receipt == number)
            out.append(s.execute(q).scalar_one())
    engine.dispose()
    return tuple(out)  # type: ignore[return-value]


# --- posting ---------------------------------------------------------------------------------------------


def test_a_sale_is_recorded_once_and_a_retry_gets_it_back(server, till):
    body = sale_body(customer={"name": "Ava Till", "email": f"ava-{uuid.uuid4().hex[:8]}@example.com"})
    r = post(server, body, till)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert set(sale) == PULL_ITEM | {"receipt_barcode"}
    assert sale["receipt"] == body["receipt"] and sale["receipt_barcode"] == f"RC-{body['receipt']}"
    assert (sale["subtotal"], sale["tax"], sale["total"]) == ("30.98", "2.48", "33.46")
    assert sale["channel"] == "till" and sale["order_number"] == "" and sale["gift_code"] is None
    assert [set(ln) for ln in sale["lines"]] == [LINE_KEYS, LINE_KEYS]
    assert [ln["returned"] for ln in sale["lines"]] == [0, 0] and sale["lines"][1]["final_sale"] is True
    assert sale["lines"][0]["name"] and sale["lines"][0]["category"]
    assert [set(t) for t in sale["tenders"]] == [TENDER_KEYS, TENDER_KEYS]
    assert [(t["seq"], t["kind"], t["amount"], t["refunded"]) for t in sale["tenders"]] == [
        (1, "card", "20.00", "0.00"),
        (2, "cash", "13.46", "0.00"),
    ]
    assert sale["customer"]["email"] == body["customer"]["email"]
    assert datetime.fromisoformat(sale["sold_at"]) == datetime.fromisoformat(body["sold_at"])

    again = post(server, body, till)
    assert again.status_code == 200, again.text
    assert again.json() == sale
    assert count_sales(server, body["receipt"]) == (1, 2, 2)


def test_a_used_receipt_with_another_body_is_a_conflict(server, till):
    body = sale_body()
    assert post(server, body, till).status_code == 201
    before = count_sales(server)
    other = {**body, "till": "03"}
    r = post(server, other, till)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "sales.receipt_used"
    assert "already used by another sale" in detail["message"] and body["receipt"] in detail["message"]
    assert count_sales(server) == before


def test_a_gift_receipt_gets_its_own_code(server, till):
    body = sale_body(gift_receipt=True)
    r = post(server, body, till)
    assert r.status_code == 201, r.text
    code = r.json()["gift_code"]
    assert re.fullmatch(r"GR-[0-9A-HJKMNP-TV-Z]{10}", code)
    assert post(server, body, till).json()["gift_code"] == code  # a retry: the same code
    other = post(server, sale_body(gift_receipt=True), till).json()["gift_code"]
    assert other != code


def _with(body: dict, path: tuple, value) -> dict:  # noqa: ANN001
    """A copy of the body with one value changed (path into dicts and lists; value None at a dict key: removed)."""
    import copy

    out = copy.deepcopy(body)
    at = out
    for step in path[:-1]:
        at = at[step]
    at[path[-1]] = value
    return out


BAD = [
    ("tenders short", ("tenders", 1, "amount"), "13.45", "sales.tenders_mismatch"),
    ("tenders over", ("tenders", 0, "amount"), "20.01", "sales.tenders_mismatch"),
    ("no tenders", ("tenders",), [], "sales.tenders_mismatch"),
    ("unknown sku", ("lines", 0, "sku"), "NO-SUCH-SKU", "sales.unknown_sku"),
    ("wrong currency", ("currency",), "EUR", "sales.wrong_currency"),
    ("duplicate line numbers", ("lines",), "DUPLICATE", "sales.duplicate_line"),
    ("empty lines", ("lines",), [], "request.invalid"),
    ("three decimals", ("lines", 1, "unit_price"), "5.001", "request.invalid"),
    ("negative price", ("lines", 1, "unit_price"), "-5.00", "request.invalid"),
    ("negative tax", ("lines", 0, "tax"), "-2.08", "request.invalid"),
    ("negative tender", ("tenders", 1, "amount"), "-13.46", "request.invalid"),
    ("float amount", ("tenders", 1, "amount"), 13.46, "request.invalid"),
    ("not a number", ("lines", 0, "unit_price"), "12,99", "request.invalid"),
    ("qty zero", ("lines", 0, "qty"), 0, "request.invalid"),
    ("qty text", ("lines", 0, "qty"), "2", "request.invalid"),
    ("line number zero", ("lines", 0, "line_no"), 0, "request.invalid"),
    ("line number too high", ("lines", 0, "line_no"), 1000, "request.invalid"),
    ("serial with two units", ("lines", 0, "serial"), "SN-1", "sales.serial_qty"),
    ("control character", ("lines", 1, "serial"), "SN\x00-1", "request.invalid"),
    ("receipt too long", ("receipt",), "NYC01-" + "9" * 40, "request.invalid"),
    ("receipt lower case", ("receipt",), "nyc01-1", "request.invalid"),
    ("no offset", ("sold_at",), "2026-12-01T10:00:00", "request.invalid"),
    ("time as a number", ("sold_at",), 1_764_000_000, "request.invalid"),
    ("in the future", ("sold_at",), "2099-01-01T00:00:00Z", "sales.in_future"),
    ("unknown tender", ("tenders", 1, "kind"), "cheque", "request.invalid"),
    ("gift card without its code", ("tenders", 1, "kind"), "gift_card", "request.invalid"),
    ("last4 on cash", ("tenders", 1, "card_last4"), "1234", "request.invalid"),
    ("extra field", ("discount",), "5%", "request.invalid"),
    ("customer nobody", ("customer",), {"name": "No One"}, "request.invalid"),
    ("bad loyalty check digit", ("customer",), {"loyalty_id": "LY-4003600000"}, "request.invalid"),
    ("unknown store", ("store",), "XXX-99", "sales.other_store"),
]


@pytest.mark.parametrize(("case", "path", "value", "error"), BAD, ids=[b[0] for b in BAD])
def test_bad_sales_change_nothing(server, till, case, path, value, error):
    body = sale_body()
    if value == "DUPLICATE":
        bad = _with(_with(body, ("lines", 0, "line_no"), 1), ("lines", 1, "line_no"), 1)
    else:
        bad = _with(body, path, value)
    before = count_sales(server)
    r = post(server, bad, till)
    status = 403 if error == "sales.other_store" else 422
    assert r.status_code == status, (case, r.text)
    detail = r.json()["detail"]
    assert detail["error"] == error, (case, detail)
    assert detail["message"] and len(detail["message"]) > 20
    assert count_sales(server) == before


def test_the_messages_say_what_is_wrong(server, till):
    body = sale_body()
    r = post(server, _with(body, ("tenders", 1, "amount"), "13.00"), till)
    assert "33.00" in r.json()["detail"]["message"] and "33.46" in r.json()["detail"]["message"]
    r = post(server, _with(body, ("currency",), "EUR"), till)
    assert "USD" in r.json()["detail"]["message"]
    r = post(server, _with(body, ("lines", 0, "sku"), "NO-SUCH-SKU"), till)
    assert "NO-SUCH-SKU" in r.json()["detail"]["message"]
    r = post(server, _with(body, ("lines", 1, "unit_price"), "-5.00"), till)
    assert "negative" in r.json()["detail"]["message"]


def test_only_a_till_of_the_store_posts_its_sales(server, till, clerk):
    body = sale_body()
    before = count_sales(server)
    boston = post(server, body, {"X-Api-Key": till_key(server, OTHER)})
    assert boston.status_code == 403, boston.text
    assert boston.json()["detail"]["error"] == "sales.other_store"
    assert OTHER in boston.json()["detail"]["message"] and HOME in boston.json()["detail"]["message"]
    for headers, status in (
        ({"X-Api-Key": server.examples["web_shop_key"]}, 403),
        (clerk, 403),
        (server.enrol(HOME, "kiosk"), 403),
        ({}, 401),
        ({"X-Api-Key": "not-a-key"}, 401),
    ):
        assert post(server, body, headers).status_code == status
    assert count_sales(server) == before


def test_a_revoked_till_key_posts_nothing(server):
    key = till_key(server, HOME)
    engine = engine_of(server)
    with Session(engine) as s:
        row = s.execute(select(ApiKey).order_by(ApiKey.id.desc()).limit(1)).scalar_one()
        row.revoked_at = utcnow()
        s.commit()
    engine.dispose()
    body = sale_body()
    r = post(server, body, {"X-Api-Key": key})
    assert r.status_code == 401, r.text
    assert count_sales(server, body["receipt"]) == (0, 0, 0)


def test_a_till_key_needs_a_store():
    with pytest.raises(ValueError, match="store"):
        create_api_key(None, "till", role=Role.TILL)  # type: ignore[arg-type]


def test_decimals_are_the_currency_s(server):
    """Yen have no decimals: 100.50 JPY is refused for a store in Japan, 100 JPY taken (in a transaction that
    is rolled back: the shared server keeps no store in Japan)."""
    engine = engine_of(server)
    try:
        with UnitOfWork(engine, Settings(database_url=server.database_url)) as uow:
            uow.session.add(
                Store(code="TYO-99", name="Tokyo", country="JP", latitude=35.7, longitude=139.7, timezone="Asia/Tokyo")
            )
            uow.session.flush()
            body = sale_body(
                store="TYO-99",
                currency="JPY",
                lines=[{"sku": "100001", "qty": 1, "unit_price": "100.50"}],
                tenders=[{"kind": "cash", "amount": "100.50"}],
            )
            with pytest.raises(SaleError) as refused:
                record(uow, SaleIn(**body), None)
            assert refused.value.error == "sales.bad_amount" and "JPY" in refused.value.message
            body.update(
                lines=[{"sku": "100001", "qty": 1, "unit_price": "100"}], tenders=[{"kind": "cash", "amount": "100"}]
            )
            sale, created = record(uow, SaleIn(**body), None)
            assert created and sale.total == Decimal("100")
            uow.rollback()
    finally:
        engine.dispose()


# --- finding ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shopper(server, till) -> dict:
    """A customer with a loyalty card and three sales: now (a serial number, a gift receipt), 100 days ago, and
    400 days ago (out of a search's reach)."""
    tag = uuid.uuid4().hex[:8]
    customer = {
        "name": f"Lookup Person {tag}",
        "email": f"Lookup.{tag}@Example.com",
        "phone": f"+1 555 {int(tag, 16) % 10_000:04d} 11",
        "loyalty_id": f"LY-{luhn_card(int(tag, 16))}",
        "locale": "es",
    }
    now = datetime.now(UTC)
    serial = f"SN{tag.upper()}"
    made = {}
    for name, age, extra in (
        ("now", timedelta(minutes=5), {"gift_receipt": True}),
        ("old", timedelta(days=100), {}),
        ("ancient", timedelta(days=400), {}),
    ):
        body = sale_body(sold_at=(now - age).isoformat(), customer=customer, **extra)
        if name == "now":
            body["lines"].append({"sku": "100003", "qty": 1, "unit_price": "99.00", "serial": serial})
            body["tenders"].append({"kind": "card", "amount": "99.00", "card_last4": "1111", "reference": "pi_9"})
        r = post(server, body, till)
        assert r.status_code == 201, r.text
        made[name] = r.json()
    # The same person at the till again, by card only: the same customer.
    by_card = post(server, sale_body(customer={"loyalty_id": customer["loyalty_id"]}), till)
    made["by_card"] = by_card.json()
    return {"customer": customer, "serial": serial, **made}


def find(server, headers, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/sales", params=params, headers=headers, timeout=30)


def test_a_sale_is_found_by_its_receipt_in_any_store(server, shopper, clerk):
    number = shopper["now"]["receipt"]
    for typed in (number, number.lower(), f"RC-{number}", f"  {number} "):
        r = httpx.get(f"{server.url}/api/v1/sales/{typed}", headers=clerk)
        assert r.status_code == 200, (typed, r.text)
        assert r.json() == shopper["now"]
    boston_clerk = server.sign_in("associate", OTHER)  # a customer may return in any store
    assert httpx.get(f"{server.url}/api/v1/sales/{number}", headers=boston_clerk).status_code == 200
    ancient = shopper["ancient"]["receipt"]  # a receipt number finds its sale at any age
    assert httpx.get(f"{server.url}/api/v1/sales/{ancient}", headers=clerk).status_code == 200
    assert shopper["by_card"]["customer"]["email"] == shopper["customer"]["email"].lower()


def test_an_unknown_receipt_says_what_to_do(server, clerk):
    r = httpx.get(f"{server.url}/api/v1/sales/NYC01-000000-00-0000", headers=clerk)
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail["error"] == "sales.not_found"
    assert "Check the number" in detail["message"] and "without a receipt" in detail["message"]


@pytest.mark.parametrize(
    "path",
    ["NYC01%00-1", "%01%02%03%04", "X" * 300, "NYC01%0A-1", "ab", "%E2%80%AE%E2%80%AE"],
    ids=["nul", "controls", "too long", "newline", "too short", "bidi"],
)
def test_a_bad_receipt_is_refused_not_failed(server, clerk, path):
    r = httpx.get(f"{server.url}/api/v1/sales/{path}", headers=clerk)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["error"] in {"sales.bad_receipt", "request.invalid"}  # the path's pattern, or the route


def test_searches_find_the_customer_s_sales_newest_first(server, shopper, clerk):
    c = shopper["customer"]
    recent = [shopper["now"]["receipt"], shopper["by_card"]["receipt"], shopper["old"]["receipt"]]  # 5 min, 1 h
    for params in (
        {"email": c["email"]},
        {"email": c["email"].lower()},
        {"phone": c["phone"]},
        {"name": c["name"].split()[-1].upper()},
        {"loyalty": c["loyalty_id"]},
        {"loyalty": c["loyalty_id"][3:]},
    ):
        r = find(server, clerk, **params)
        assert r.status_code == 200, (params, r.text)
        assert [s["receipt"] for s in r.json()] == recent, params  # not the one of 400 days ago
    (hit,) = find(server, clerk, serial=shopper["serial"]).json()
    assert hit["receipt"] == shopper["now"]["receipt"]
    assert hit["units"] == 4 and hit["returned"] == 0 and hit["customer"]["loyalty_id"] == c["loyalty_id"][3:]
    (hit,) = find(server, clerk, gift_code=shopper["now"]["gift_code"].lower()).json()
    assert hit["receipt"] == shopper["now"]["receipt"]
    both = find(server, clerk, email=c["email"], sku="100003").json()
    assert [s["receipt"] for s in both] == [shopper["now"]["receipt"]]
    assert find(server, clerk, email=c["email"], limit=1).json()[0]["receipt"] == recent[0]
    assert find(server, clerk, email="nobody-at-all@example.com").json() == []
    assert find(server, clerk).json() == []  # nothing asked for, nothing found


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"email": "a\x00b@example.com"}, "request.invalid"),
        ({"name": "x\x01y"}, "request.invalid"),
        ({"name": "y" * 500}, "request.invalid"),
        ({"phone": "call me"}, "request.invalid"),
        ({"limit": "many", "sku": "100001"}, "request.invalid"),
        ({"limit": 10_000, "sku": "100001"}, "request.invalid"),
        ({"loyalty": "LY-12"}, "request.invalid"),
        ({"sku": "1' OR '1'='1"}, "request.invalid"),
        ({"serial": "S" * 41}, "request.invalid"),
    ],
)
def test_bad_searches_are_refused_not_failed(server, clerk, params, error):
    r = find(server, clerk, **params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["error"] == error


def test_who_may_find_sales(server, shopper, till):
    number = shopper["now"]["receipt"]
    for headers, status in (
        (server.sign_in("manager"), 200),
        (server.enrol(HOME), 200),  # a device of the store (it pulls them too)
        (server.enrol(HOME, "kiosk"), 403),
        ({"X-Api-Key": server.examples["web_shop_key"]}, 403),
        (till, 403),
        ({}, 401),
    ):
        assert httpx.get(f"{server.url}/api/v1/sales/{number}", headers=headers).status_code == status
        assert find(server, headers, order=number).status_code == status


# --- a collected web order ---------------------------------------------------------------------------------


class Tablet:
    """A tablet of the store pushing numbered steps, as its outbox would."""

    def __init__(self, server, store: str = HOME) -> None:
        self.server, self.headers, self.next_id = server, server.enrol(store), 1
        self.staff = server.sign_in_on(self.headers, "associate", store)

    def mutation(self, name: str, **args) -> dict:
        m = {
            "id": self.next_id,
            "name": name,
            "version": 1,
            "args": args,
            "staff_number": self.staff,
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.next_id += 1
        return m

    def push(self, *mutations: dict) -> list[dict]:
        r = httpx.post(
            f"{self.server.url}/api/v1/sync/push", headers=self.headers, json={"mutations": list(mutations)}, timeout=30
        )
        r.raise_for_status()
        return r.json()["results"]

    def do(self, name: str, **args) -> dict:
        return self.push(self.mutation(name, **args))[0]


def _ready_order(server, tablet: Tablet, lines: list[dict]) -> dict:
    order = server.place_order(lines)
    n = order["number"]
    assert tablet.do("acknowledge_order", order=n)["status"] == "applied"
    for ln in order["lines"]:
        for k in range(ln["qty"]):
            scanned = server.gtin(ln["sku"]) if k == 0 else ""
            result = tablet.do("pick_line", order=n, line_no=ln["line_no"], qty=1, scanned=scanned)
            assert result["status"] == "applied", result
    assert tablet.do("stage_order", order=n, bin="B-01")["status"] == "applied"
    return order


def test_a_collected_web_order_becomes_a_sale_once(server, clerk):
    tablet = Tablet(server)
    order = _ready_order(server, tablet, [{"sku": "100020", "qty": 2}, {"sku": "100021", "qty": 1}])
    n = order["number"]
    hand_over = tablet.mutation("hand_over", order=n, lines=[1, 2], id_checked=True)
    assert tablet.push(hand_over)[0]["status"] == "applied"
    assert tablet.push(hand_over)[0]["status"] == "duplicate"  # the same step again (a lost answer): skipped
    again = tablet.do("hand_over", order=n, lines=[1, 2], id_checked=True)  # a second tap: refused
    assert again["status"] == "rejected"
    r = httpx.get(f"{server.url}/api/v1/sales/{n}", headers=clerk)
    assert r.status_code == 200, r.text
    sale = r.json()
    prices = {ln["line_no"]: Decimal(ln["unit_price"]) for ln in order["lines"]}
    total = prices[1] * 2 + prices[2]
    assert (sale["channel"], sale["order_number"], sale["store"], sale["currency"]) == ("web", n, HOME, "USD")
    assert [(ln["line_no"], ln["sku"], ln["qty"], Decimal(ln["unit_price"])) for ln in sale["lines"]] == [
        (1, "100020", 2, prices[1]),
        (2, "100021", 1, prices[2]),
    ]
    assert Decimal(sale["total"]) == total and sale["tax"] == "0.00"
    assert [(t["kind"], Decimal(t["amount"]), t["reference"]) for t in sale["tenders"]] == [("card", total, n)]
    assert sale["customer"]["email"] == "shopper@example.com"
    assert count_sales(server, n) == (1, 2, 1)
    assert [s["receipt"] for s in find(server, clerk, order=n).json()] == [n]
    # Run again on the collected order (as a replayed step would): nothing new.
    engine = engine_of(server)
    try:
        with UnitOfWork(engine, Settings(database_url=server.database_url)) as uow:
            row = uow.session.get(CustomerOrder, n)
            lines = list(uow.session.execute(select(OrderLine).where(OrderLine.order_number == n)).scalars())
            assert record_collection(uow, row, lines, [1, 2], utcnow()) is None
            uow.commit()
    finally:
        engine.dispose()
    assert count_sales(server, n) == (1, 2, 1)


def test_a_partial_handover_then_the_rest_are_two_sales(server, clerk):
    tablet = Tablet(server)
    order = _ready_order(server, tablet, [{"sku": "100020", "qty": 1}, {"sku": "100021", "qty": 1}])
    n = order["number"]
    assert tablet.do("hand_over", order=n, lines=[2], keep_rest=True)["status"] == "applied"
    assert tablet.do("hand_over", order=n, lines=[1])["status"] == "applied"
    first = httpx.get(f"{server.url}/api/v1/sales/{n}", headers=clerk).json()
    second = httpx.get(f"{server.url}/api/v1/sales/{n}-2", headers=clerk).json()
    assert [ln["line_no"] for ln in first["lines"]] == [2] and [ln["line_no"] for ln in second["lines"]] == [1]
    assert first["order_number"] == second["order_number"] == n
    assert second["tenders"][0]["reference"] == n
    found = find(server, clerk, order=n).json()
    assert {s["receipt"] for s in found} == {n, f"{n}-2"}


# --- pull ------------------------------------------------------------------------------------------------


def _cursor(server) -> int:
    engine = engine_of(server)
    with Session(engine) as s:
        value = ChangeLog(s).current()
    engine.dispose()
    return value


def _pulled_sales(server, headers, store: str, cursor: int, fmt: str) -> list[dict]:
    out = []
    while True:
        r = httpx.get(
            f"{server.url}/api/v1/sync/pull",
            headers=headers,
            params={"store": store, "cursor": cursor, "format": fmt, "limit": 2_000},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["sales"]
        cursor = page["cursor"]
        if not page["more"]:
            return out


@pytest.mark.parametrize("fmt", ["objects", "columns"])
def test_the_store_s_devices_pull_its_recent_sales_and_nobody_else(server, till, fmt):
    cursor = _cursor(server)
    now = datetime.now(UTC)
    made = {}
    for name, age in (("today", timedelta(hours=2)), ("89 days", timedelta(days=89)), ("91 days", timedelta(days=91))):
        body = sale_body(
            sold_at=(now - age).isoformat(), customer={"email": f"pull-{uuid.uuid4().hex[:6]}@example.com"}
        )
        r = post(server, body, till)
        assert r.status_code == 201, r.text
        made[name] = r.json()
    boston = post(
        server,
        sale_body(receipt="BOS01-" + uuid.uuid4().hex[:10].upper(), store=OTHER),
        {"X-Api-Key": till_key(server, OTHER)},
    )
    assert boston.status_code == 201, boston.text

    device = _pulled_sales(server, server.enrol(HOME), HOME, cursor, fmt)
    got = {s["receipt"]: s for s in device}
    assert set(got) >= {made["today"]["receipt"], made["89 days"]["receipt"]}
    assert made["91 days"]["receipt"] not in got and boston.json()["receipt"] not in got
    assert all(s["store"] == HOME for s in device)
    item = got[made["today"]["receipt"]]
    assert set(item) == PULL_ITEM
    assert item == {k: v for k, v in made["today"].items() if k != "receipt_barcode"}
    assert item["customer"]["email"] == made["today"]["customer"]["email"]

    assert _pulled_sales(server, server.enrol(HOME, "kiosk"), HOME, cursor, fmt) == []
    bos = {s["receipt"] for s in _pulled_sales(server, server.enrol(OTHER), OTHER, cursor, fmt)}
    assert boston.json()["receipt"] in bos and made["today"]["receipt"] not in bos
