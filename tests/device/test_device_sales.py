"""Sales on the device (issue 14): stored as pulled, found by what the counter scans or types, on a real SQLite
file. Payloads are in the pull contract's shape (notes/returns-plan.md), fed directly."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from store_associate.device.sales import Found, find_sale, purchases_of_item
from store_associate.device.store import LocalStore
from store_associate.device.store.pull import _BARCODE, _LEVEL, _LOCATION, _PRODUCT
from store_associate.device.store.sales import SALES_WINDOW, SaleCustomer

ROOT = Path(__file__).resolve().parents[2]
HERE = "NYC-01"
NOW = datetime.now(UTC)  # a pull drops sales by the real clock: the sales below are dated from it
MARIA = {
    "name": "María García Ruiz",
    "email": "Maria.Garcia@Example.com",
    "phone": "+1 (212) 555-0100",
    "loyalty_id": "1234567897",
    "locale": "es",
}
JOE = {"name": "Joe Bloggs", "email": "joe@example.org", "phone": "", "loyalty_id": "", "locale": "en"}
GTIN = "04006381333931"


def receipt_for(days_ago: float, seq: int, store: str = "NYC01") -> str:
    return f"{store}-{(NOW - timedelta(days=days_ago)).strftime('%y%m%d')}-02-{seq:04d}"


def line(line_no: int, sku: str, qty: int = 1, price: str = "10.00", tax: str = "0.80", **extra) -> dict:
    return {
        "line_no": line_no,
        "sku": sku,
        "name": f"Item {sku}",
        "category": "Shoes",
        "qty": qty,
        "unit_price": price,
        "tax": tax,
        "serial": "",
        "final_sale": False,
        "returned": 0,
        **extra,
    }


def sale(
    receipt: str,
    days_ago: float = 1,
    customer: dict | None = None,
    lines: list[dict] | None = None,
    gift_code: str | None = None,
    order_number: str = "",
    version: int = 1,
    store: str = HERE,
) -> dict:
    lines = lines if lines is not None else [line(1, "100001")]
    subtotal = sum(Decimal(ln["unit_price"]) * ln["qty"] for ln in lines)
    tax = sum(Decimal(ln["tax"]) for ln in lines)
    return {
        "receipt": receipt,
        "store": store,
        "channel": "web" if order_number else "till",
        "order_number": order_number,
        "till": "" if order_number else "02",
        "sold_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "currency": "USD",
        "subtotal": str(subtotal),
        "tax": str(tax),
        "total": str(subtotal + tax),
        "gift_code": gift_code,
        "customer": customer,
        "lines": lines,
        "tenders": [
            {
                "seq": 1,
                "kind": "card",
                "amount": str(subtotal + tax),
                "card_last4": "4242",
                "reference": "pi_1",
                "refunded": "0",
            }
        ],
        "version": version,
    }


def page(cursor: int, **tables) -> dict:
    return {"cursor": cursor, "more": False, **tables}


@pytest.fixture()
def store(tmp_path):
    s = LocalStore(tmp_path / "device.db")
    s.set_meta("store_code", HERE)
    yield s
    s.close()


def snapshot(store: LocalStore) -> dict:
    conn = sqlite3.connect(store.path)
    out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ("sale", "sale_line", "sale_name_word")}
    conn.close()
    return out


# --- storing -------------------------------------------------------------------------------------------


def test_a_pulled_sale_is_read_back_typed(store):
    item = sale(
        receipt_for(2, 42),
        customer=MARIA,
        lines=[line(1, "100001", qty=2, price="12.99", tax="2.08", returned=1), line(2, "100002", serial="sn-9")],
        gift_code="GR-7K3M9QXA2B",
    )
    store.apply_pull(page(10, sales=[item]), HERE)
    got = store.sales.get(item["receipt"])
    assert got is not None
    assert got.sold_at == datetime.fromisoformat(item["sold_at"]) and got.sold_at.tzinfo is not None
    assert (got.subtotal, got.tax, got.total) == (Decimal("35.98"), Decimal("2.88"), Decimal("38.86"))
    assert got.customer == SaleCustomer(**MARIA)
    assert got.receipt_barcode == "RC-" + item["receipt"] and got.gift_code == "GR-7K3M9QXA2B"
    first, second = got.lines
    assert (first.qty, first.returned, first.left, first.unit_price) == (2, 1, 1, Decimal("12.99"))
    assert first.paid == Decimal("28.06")
    assert (second.serial, second.left) == ("sn-9", 1)
    (tender,) = got.tenders
    assert (tender.kind, tender.amount, tender.left, tender.card_last4) == (
        "card",
        Decimal("38.86"),
        tender.amount,
        "4242",
    )
    assert got.units_left == 2
    assert store.cursor == 10


def test_put_is_an_idempotent_upsert_that_never_goes_back_a_version(store):
    receipt = receipt_for(1, 1)
    assert store.sales.put([sale(receipt, customer=MARIA, version=5)]) == 1
    before = snapshot(store)
    assert store.sales.put([sale(receipt, customer=MARIA, version=5)]) == 1  # the same page again
    assert snapshot(store) == before and store.sales.count() == 1
    # A newer version (a return was made, the customer corrected) replaces the sale, its lines and its words.
    newer = sale(receipt, customer=JOE, lines=[line(1, "100009", qty=3, returned=2)], version=7)
    store.sales.put([newer])
    got = store.sales.get(receipt)
    assert got is not None and got.version == 7 and got.lines[0].left == 1
    assert store.sales.search("garcia") == [] and [s.receipt for s in store.sales.search("bloggs")] == [receipt]
    assert store.sales.purchases_of("100001") == [] and len(store.sales.purchases_of("100009")) == 1
    # An older version, late or sent again, changes nothing.
    after = snapshot(store)
    assert store.sales.put([sale(receipt, customer=MARIA, version=6)]) == 0
    assert snapshot(store) == after
    # Within one batch the newest version of a receipt wins, whatever the order.
    store.sales.put([sale(receipt, version=9, customer=MARIA), sale(receipt, version=8, customer=JOE)])
    assert store.sales.get(receipt).customer.name == MARIA["name"]


def test_a_bad_item_in_a_batch_changes_nothing(store):
    good = sale(receipt_for(1, 1))
    broken = sale(receipt_for(1, 2))
    del broken["lines"]
    with pytest.raises(KeyError):
        store.sales.put([good, broken])
    assert store.sales.count() == 0
    with pytest.raises(KeyError):
        store.apply_pull(page(5, sales=[good, broken]), HERE)
    assert store.sales.count() == 0 and store.cursor == 0  # the page is not applied, nor its cursor


@pytest.mark.parametrize(
    "spoil",
    [
        lambda item: item.update(total="twelve"),
        lambda item: item["lines"][0].update(unit_price="1,99"),
        lambda item: item["tenders"][0].update(amount=None, refunded="x"),
        lambda item: item["lines"][0].update(qty="two"),
        lambda item: item.update(sold_at="yesterday"),
        lambda item: item.update(receipt="  "),
    ],
)
def test_a_sale_the_device_could_not_show_is_refused_whole(store, spoil):
    item = sale(receipt_for(1, 1), customer=MARIA)
    spoil(item)
    with pytest.raises((ValueError, ArithmeticError)):
        store.apply_pull(page(5, sales=[sale(receipt_for(1, 2)), item]), HERE)
    assert store.sales.count() == 0 and store.cursor == 0


def test_python_values_and_a_time_without_offset_are_taken(store):
    item = sale(receipt_for(1, 1))
    item.update(total=Decimal("10.80"), sold_at=(NOW - timedelta(days=1)).replace(tzinfo=None))
    store.sales.put([item])
    got = store.sales.get(item["receipt"])
    assert got.total == Decimal("10.80") and got.sold_at == NOW - timedelta(days=1)
    naive_now = NOW.replace(tzinfo=None)
    assert find_sale(store, "RC-" + item["receipt"], naive_now).sale == got
    assert purchases_of_item(store, "100001", None, naive_now).purchases[0].sale == got


def test_a_receipt_number_in_a_plain_code_128_is_found(filled):
    match = find_sale(filled, "]C0" + receipt_for(5, 2), NOW)
    assert match.kind is Found.RECEIPT and match.sale.receipt == receipt_for(5, 2)


def test_a_pull_keeps_only_this_stores_sales_of_the_last_90_days(store):
    mine, theirs = sale(receipt_for(1, 1)), sale(receipt_for(1, 1, "BOS01"), store="BOS-01")
    old = sale(receipt_for(91, 2), days_ago=91)
    store.apply_pull(page(3, sales=[mine, theirs, old]), HERE)
    assert store.sales.get(mine["receipt"]) is not None
    assert store.sales.get(theirs["receipt"]) is None
    assert store.sales.get(old["receipt"]) is None  # already outside the window: dropped on arrival
    assert store.sales.count() == 1


def test_a_pull_drops_sales_that_aged_out_with_their_lines_and_words(store):
    ageing = sale(receipt_for(89, 1), days_ago=SALES_WINDOW.days - 0.5, customer=MARIA)
    store.apply_pull(page(1, sales=[ageing]), HERE)
    assert store.sales.count() == 1
    # Days later (the clock is not moved: the sale is made older, as if time had passed), any page prunes.
    conn = sqlite3.connect(store.path)
    aged = NOW - SALES_WINDOW - timedelta(hours=1)
    conn.execute("UPDATE sale SET sold_at = ?", (aged.isoformat(timespec="microseconds"),))
    conn.commit()
    conn.close()
    store.apply_pull(page(2, products=[]), HERE)
    assert snapshot(store) == {"sale": [], "sale_line": [], "sale_name_word": []}


def test_prune_drops_what_was_sold_before_the_time_given(store):
    store.sales.put([sale(receipt_for(d, i), days_ago=d) for i, d in enumerate((1, 10, 30, 60), 1)])
    assert store.sales.prune(NOW - timedelta(days=20)) == 2
    assert store.sales.count() == 2 and store.sales.prune(NOW - timedelta(days=20)) == 0
    assert {r[0] for r in snapshot(store)["sale_line"]} == {receipt_for(1, 1), receipt_for(10, 2)}


def test_sales_pulled_as_columns_are_read_too(store):
    item = sale(receipt_for(1, 7), customer=MARIA)
    row = [json.dumps(v) if k in ("customer", "lines", "tenders") else v for k, v in item.items()]
    empty = {
        name: {"columns": [*columns, "deleted", "store_code"], "rows": []}
        for name, columns in (("stores", _LOCATION), ("products", _PRODUCT), ("barcodes", _BARCODE), ("stock", _LEVEL))
    }
    sales = {"columns": list(item), "rows": [row]}
    store.apply_pull({"format": "columns", "cursor": 4, "more": False, **empty, "sales": sales}, HERE)
    assert store.sales.get(item["receipt"]).customer.email == MARIA["email"]


def test_forget_all_leaves_no_sale(store):
    store.sales.put([sale(receipt_for(1, 1), customer=MARIA)])
    assert store.sales.forget_all() == 1
    assert snapshot(store) == {"sale": [], "sale_line": [], "sale_name_word": []}


# --- finding: receipts, gift receipts, orders ------------------------------------------------------------


@pytest.fixture()
def filled(store):
    """A store with Maria's three sales (one web order, collected), Joe's one, and a customer-less one."""
    web = "SA-12345678"
    store.apply_pull(
        page(
            20,
            products=[
                {"sku": "100001", "name": "Trail shoe", "price": "10.00"},
                {"sku": "100002", "name": "Headphones", "price": "99.00"},
            ],
            barcodes=[{"code": GTIN, "sku": "100001"}],
            orders=[
                {"number": web, "status": "handed_over", "store": HERE, "pickup_code": "7K3M9QXA", "lines": []},
                {"number": "SA-22222222", "status": "ready_for_pickup", "store": HERE, "pickup_code": "ABCDEFGH"},
                {"number": "SA-33333333", "status": "handed_over", "store": HERE, "pickup_code": "HJKMNPQR"},
            ],
            sales=[
                sale(receipt_for(30, 1), days_ago=30, customer=MARIA, lines=[line(1, "100001", qty=2, returned=1)]),
                sale(
                    receipt_for(5, 2),
                    days_ago=5,
                    customer=MARIA,
                    gift_code="GR-7K3M9QXA2B",
                    lines=[line(1, "100001"), line(2, "100002", serial="SN-ABC-1")],
                ),
                sale(web, days_ago=2, customer=MARIA, order_number=web, lines=[line(1, "100001", qty=3)]),
                sale(receipt_for(3, 3), days_ago=3, customer=JOE, lines=[line(1, "100001")]),
                sale(receipt_for(1, 4), days_ago=1),
            ],
        ),
        HERE,
    )
    return store


@pytest.mark.parametrize(
    "text",
    [
        "RC-{r}",
        "rc-{r}",
        "]C0RC-{r}",  # a Code 128 read with its AIM prefix
        " RC-{r}\r\n",  # a wedge scanner's Enter
        "{r}",  # the number typed
        " {r_lower} ",
    ],
)
def test_a_receipt_scanned_or_typed_finds_its_sale(filled, text):
    r = receipt_for(5, 2)
    match = find_sale(filled, text.format(r=r, r_lower=r.lower()), NOW)
    assert match.kind is Found.RECEIPT and match.found and match.message is None
    assert match.sale is not None and match.sale.receipt == r and not match.hide_prices
    assert [(ln.sku, ln.left) for ln in match.sale.lines] == [("100001", 1), ("100002", 1)]


def test_a_gift_receipt_finds_its_sale_and_hides_the_prices(filled):
    for text in ("GR-7K3M9QXA2B", "gr7k3m9qxa2b", "]Q1GR-7K3M9QXA2B", "7K3M9QXA2B"):
        match = find_sale(filled, text, NOW)
        assert match.kind is Found.GIFT_RECEIPT and match.hide_prices, text
        assert match.sale is not None and match.sale.receipt == receipt_for(5, 2)
    unknown = find_sale(filled, "GR-0000000000", NOW)
    assert (unknown.kind, unknown.message, unknown.sales) == (Found.NOT_FOUND, "sales.find.gift_not_found", ())


def test_a_collected_web_orders_pickup_code_finds_the_sale_it_became(filled):
    for text in ("PU-7K3M9QXA", "pu7k3m9qxa", "7K3M9QXA"):
        match = find_sale(filled, text, NOW)
        assert match.kind is Found.PICKUP, text
        assert match.sale is not None and match.sale.receipt == "SA-12345678" and match.sale.channel == "web"
    not_yet = find_sale(filled, "PU-ABCDEFGH", NOW)
    assert (not_yet.kind, not_yet.message) == (Found.NOT_FOUND, "sales.find.order_not_collected")
    missing = find_sale(filled, "PU-HJKMNPQR", NOW)  # handed over; its sale not pulled yet
    assert (missing.kind, missing.message) == (Found.NOT_FOUND, "sales.find.order_sale_missing")
    unknown = find_sale(filled, "PU-00000000", NOW)
    assert (unknown.kind, unknown.message) == (Found.NOT_FOUND, "sales.find.pickup_not_found")


def test_an_order_number_typed_finds_the_sales_made_from_it(filled):
    # A second hand-over of the same order (a partial pickup collected in two visits) has its own receipt.
    filled.sales.put([sale("SA-12345678-2", days_ago=1, customer=MARIA, order_number="SA-12345678")])
    by_receipt = find_sale(filled, "sa-12345678", NOW)
    assert by_receipt.kind is Found.RECEIPT and by_receipt.sale.receipt == "SA-12345678"
    assert [s.receipt for s in filled.sales.by_order("SA-12345678")] == ["SA-12345678-2", "SA-12345678"]
    filled.sales.put([sale("SA-77777777-1", days_ago=1, order_number="SA-77777777")])
    by_order = find_sale(filled, "SA-77777777", NOW)
    assert by_order.kind is Found.ORDER and [s.receipt for s in by_order.sales] == ["SA-77777777-1"]


# --- finding: customers ----------------------------------------------------------------------------------


MARIAS = [receipt_for(1, 0), "SA-12345678", receipt_for(5, 2), receipt_for(30, 1)]


@pytest.mark.parametrize(
    "text",
    [
        "maria.garcia@example.com",
        " MARIA.GARCIA@EXAMPLE.COM ",
        "+1 212 555 0100",
        "212-555-0100",
        "(212) 555.0100",
        "2125550100",
        "12125550100",
        "garcia",
        "GARCÍA",
        "gar mar",
        "ruiz maría",
        "1234567897",
        "LY-1234567897",
    ],
)
def test_a_customer_is_found_by_email_phone_name_or_loyalty_newest_first(filled, text):
    filled.sales.put([sale(receipt_for(1, 0), days_ago=0.5, customer=MARIA)])
    match = find_sale(filled, text, NOW)
    assert match.kind in (Found.SEARCH, Found.LOYALTY), (text, match)
    assert [s.receipt for s in match.sales] == MARIAS
    assert match.sale is None  # several: the person chooses


def test_a_loyalty_card_finds_the_customers_sales(filled):
    match = find_sale(filled, "]Q1LY-1234567897", NOW)
    assert match.kind is Found.LOYALTY and [s.receipt for s in match.sales] == MARIAS[1:]
    none = find_sale(filled, "LY-0000000000", NOW)
    assert (none.kind, none.message) == (Found.NOT_FOUND, "sales.find.no_loyalty_sales")


def test_search_finds_nothing_for_too_little_or_for_someone_else(filled):
    assert filled.sales.search("g") == []  # one letter: not a search of every customer
    assert filled.sales.search("555 01") == []  # too few digits for a phone
    assert filled.sales.search("%") == [] and filled.sales.search("_a") == []  # no wildcard
    assert filled.sales.search("maria.garcia@example") == []  # an e-mail is matched whole
    for text in ("nobody@example.com", "Jane Doe", "0207 946 0958"):
        match = find_sale(filled, text, NOW)
        assert (match.kind, match.message, match.sales) == (Found.NOT_FOUND, "sales.find.no_customer_sales", ())


def test_search_is_limited(filled):
    filled.sales.put([sale(receipt_for(2, 100 + i), days_ago=2, customer=JOE) for i in range(30)])
    assert len(filled.sales.search("joe@example.org")) == 20
    assert len(filled.sales.search("bloggs", limit=5)) == 5
    assert len(find_sale(filled, "Joe", NOW, limit=7).sales) == 7


# --- an item's purchases -------------------------------------------------------------------------------


def test_a_customers_purchases_of_an_item(filled):
    maria = filled.sales.get(receipt_for(5, 2)).customer
    got = filled.sales.purchases_of("100001", maria)
    assert [(p.sale.receipt, p.line.line_no, p.line.qty, p.line.left) for p in got] == [
        ("SA-12345678", 1, 3, 3),
        (receipt_for(5, 2), 1, 1, 1),
        (receipt_for(30, 1), 1, 2, 1),
    ]
    assert [p.sale.receipt for p in filled.sales.purchases_of("100001", "joe@example.org")] == [receipt_for(3, 3)]
    assert len(filled.sales.purchases_of("100001")) == 5  # everyone's
    assert filled.sales.purchases_of("100001", SaleCustomer("Anon", "", "", "", "")) == []


@pytest.mark.parametrize(
    "item,customer",
    [
        (GTIN, None),
        ("]E0" + GTIN[1:], None),
        ("100001", None),
        (GTIN, "Maria.Garcia@example.com"),
        (GTIN, "LY-1234567897"),
        (GTIN, "212 555 0100"),
    ],
)
def test_an_item_scanned_or_typed_finds_the_customers_purchases_of_it(filled, item, customer):
    found = purchases_of_item(filled, item, customer, NOW)
    assert found.sku == "100001" and found.message is None and not found.by_serial
    everyone = [receipt_for(1, 4), "SA-12345678", receipt_for(3, 3), receipt_for(5, 2), receipt_for(30, 1)]
    marias = ["SA-12345678", receipt_for(5, 2), receipt_for(30, 1)]
    assert [p.sale.receipt for p in found.purchases] == (everyone if customer is None else marias)


def test_a_serial_number_in_the_scan_finds_that_units_sale(filled):
    found = purchases_of_item(filled, f"]d201{GTIN}21SN-ABC-1", "joe@example.org", NOW)
    assert found.sku == "100001" and found.by_serial is False  # the serial is of another SKU's unit
    filled.catalogue.put_barcodes([("09780201379624", "100002", "gtin", 1)])
    unit = purchases_of_item(filled, "]d20109780201379624" + "21sn-abc-1", "joe@example.org", NOW)
    assert unit.by_serial and [(p.sale.receipt, p.line.serial) for p in unit.purchases] == [
        (receipt_for(5, 2), "SN-ABC-1")
    ]
    assert [p.line.line_no for p in filled.sales.by_serial("sn-abc-1")] == [2]


@pytest.mark.parametrize(
    "item,customer,message",
    [
        ("", None, "sales.find.item_empty"),
        ("4006381333932", None, "sales.find.unreadable"),  # a bad check digit
        ("RC-NYC01-261203-02-0042", None, "sales.find.item_not_a_product"),
        ("PU-7K3M9QXA", None, "sales.find.item_not_a_product"),
        ("9780201379624", None, "sales.find.item_unknown"),  # a real GTIN this store does not list
        ("999999", None, "sales.find.item_unknown"),
        ("100002", "joe@example.org", "sales.find.item_not_bought"),
        ("100002", SaleCustomer("Anon", "", "", "", ""), "sales.find.item_no_customer"),
        ("100002", "", "sales.find.item_no_customer"),
    ],
)
def test_an_item_without_purchases_says_why(filled, item, customer, message):
    found = purchases_of_item(filled, item, customer, NOW)
    assert (found.purchases, found.message) == ((), message)


def test_an_item_nobody_bought_lately(filled):
    filled.apply_pull(page(21, products=[{"sku": "100003", "name": "Socks", "price": "3.00"}]), HERE)
    assert purchases_of_item(filled, "100003", None, NOW).message == "sales.find.item_no_sales"


def test_a_barcode_of_two_products_asks_for_the_sku(filled):
    filled.catalogue.put_barcodes([("00000012345670", "100001", "gtin", 1), ("00123456000070", "100002", "gtin", 1)])
    found = purchases_of_item(filled, "12345670", None, NOW)  # EAN-8 or UPC-E: one product each
    assert (found.purchases, found.message) == ((), "sales.find.item_ambiguous")


# --- the 90 days, other stores, codes of other things ------------------------------------------------------


def test_a_sale_older_than_90_days_is_not_offered_even_before_it_is_dropped(filled):
    old = receipt_for(95, 9)
    filled.sales.put([sale(old, days_ago=95, customer=MARIA, gift_code="GR-ABCDEFGHJK")])  # put: no prune
    for text in (f"RC-{old}", old, "GR-ABCDEFGHJK"):
        match = find_sale(filled, text, NOW)
        assert (match.kind, match.message, match.sales) == (Found.NOT_FOUND, "sales.find.too_old", ()), text
    assert old not in [s.receipt for s in find_sale(filled, "garcia", NOW).sales]
    assert old not in [p.sale.receipt for p in purchases_of_item(filled, "100001", None, NOW).purchases]


def test_a_missing_receipt_says_why_when_its_number_tells(filled):
    old = find_sale(filled, f"RC-{receipt_for(120, 1)}", NOW)
    assert (old.kind, old.message) == (Found.NOT_FOUND, "sales.find.too_old")
    other = find_sale(filled, f"RC-{receipt_for(3, 1, 'BOS01')}", NOW)
    assert (other.kind, other.message, other.params) == (Found.NOT_FOUND, "sales.find.other_store", {"store": "BOS01"})
    typed = find_sale(filled, receipt_for(3, 1, "BOS01"), NOW)
    assert typed.message == "sales.find.other_store"
    for text in (
        f"RC-{receipt_for(3, 999)}",
        receipt_for(3, 999),
        "RC-SA-99999999",
        "SA-99999999",
        "RC-NYC01-991340-01-0001",
    ):
        match = find_sale(filled, text, NOW)
        assert (match.kind, match.message) == (Found.NOT_FOUND, "sales.find.not_found"), text
    # The store code may come from the caller rather than the enrolment.
    assert find_sale(filled, f"RC-{receipt_for(3, 1, 'BOS01')}", NOW, here="BOS-01").message == "sales.find.not_found"


@pytest.mark.parametrize(
    "text,kind,message",
    [
        ("]E0" + GTIN[1:], Found.WRONG_KIND, "sales.find.product_code"),
        ("]C10104006381333931", Found.WRONG_KIND, "sales.find.product_code"),
        ("https://id.gs1.org/01/04006381333931", Found.WRONG_KIND, "sales.find.product_code"),
        ("SKU-100001", Found.WRONG_KIND, "sales.find.product_code"),
        ("4006381333931", Found.WRONG_KIND, "sales.find.product_code"),  # typed, and no phone or receipt
        ("SC-7K3M9QXA2B4C", Found.WRONG_KIND, "sales.find.balance_code"),
        ("GC-7K3M9QXA2B4C", Found.WRONG_KIND, "sales.find.balance_code"),
        ("RT-ABCDEFGH", Found.WRONG_KIND, "sales.find.return_label"),
        ("RC-AB", Found.NOT_FOUND, "sales.find.malformed_code"),
        ("GR-7K3M9QX", Found.NOT_FOUND, "sales.find.malformed_code"),
        ("", Found.INVALID, "sales.find.empty"),
        ("   \r\n", Found.INVALID, "sales.find.empty"),
        ("]C0", Found.INVALID, "sales.find.empty"),
        ("RC-NYC01\x00-261203", Found.INVALID, "sales.find.unreadable"),
        ("\x1b[2J", Found.INVALID, "sales.find.unreadable"),
        ("x" * 10_000, Found.INVALID, "sales.find.unreadable"),
        ("RC-" + "1" * 10_000, Found.INVALID, "sales.find.unreadable"),
        ("]E04006381333932", Found.INVALID, "sales.find.unreadable"),  # a scanned GTIN with a bad check digit
    ],
)
def test_codes_of_other_things_and_bad_input_say_what_to_do_and_change_nothing(filled, text, kind, message):
    before = snapshot(filled)
    match = find_sale(filled, text, NOW)
    assert (match.kind, match.message, match.sales) == (kind, message, ())
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    "text",
    ["' OR 1=1 --", "garcia'; DROP TABLE sale; --", "😀🛒", "بار كود", "a" * 254, "a" * 255, "@", "@@@", "+", "---"],
)
def test_odd_text_finds_nothing_and_changes_nothing(filled, text):
    before = snapshot(filled)
    match = find_sale(filled, text, NOW)
    assert match.kind is Found.NOT_FOUND and match.message and match.sales == ()
    assert purchases_of_item(filled, text, text, NOW).purchases == ()
    assert snapshot(filled) == before


def test_not_text_is_unreadable(filled):
    assert find_sale(filled, None, NOW).message == "sales.find.unreadable"  # type: ignore[arg-type]
    assert purchases_of_item(filled, 42, None, NOW).message == "sales.find.unreadable"  # type: ignore[arg-type]


def test_a_phone_number_that_looks_like_a_bad_gtin_is_searched_as_a_phone(filled):
    # Thirteen digits that fail a GTIN's check digit: typed, they are a phone number with its country code.
    customer = dict(MARIA, name="Pilar", phone="+34 612 345 678", email="", loyalty_id="")
    filled.sales.put([sale(receipt_for(1, 50), customer=customer)])
    for text in ("0034612345678", "+34 612 345 678", "612 345 678", "612345678"):
        match = find_sale(filled, text, NOW)
        assert match.kind is Found.SEARCH and [s.receipt for s in match.sales] == [receipt_for(1, 50)], text
    assert find_sale(filled, "]E00034612345678", NOW).message == "sales.find.unreadable"  # scanned: a misread


# --- the messages ------------------------------------------------------------------------------------


def test_every_message_has_a_text_in_every_language():
    source = (ROOT / "app/store_associate/device/sales.py").read_text()
    keys = set(re.findall(r'"(sales\.find\.[a-z_.]+)"', source))
    assert len(keys) >= 20
    catalogues = {
        lang: json.loads((ROOT / f"app/assets/i18n/{lang}.json").read_text(encoding="utf-8"))
        for lang in ("en", "es", "ar")
    }
    for lang, texts in catalogues.items():
        assert keys <= set(texts), (lang, keys - set(texts))
    assert catalogues["en"]["sales.find.not_found"] == (
        "No sale with this receipt on this device. Check the number, sync, or return without a receipt."
    )
    for key in keys:
        wanted = sorted(re.findall(r"{(\w+)}", catalogues["en"][key]))
        assert all(sorted(re.findall(r"{(\w+)}", t[key])) == wanted for t in catalogues.values()), key


def test_a_day_of_the_receipt_number_is_read_as_a_date():
    from store_associate.device.sales import _day

    assert _day("261203") == date(2026, 12, 3) and _day("261340") is None
