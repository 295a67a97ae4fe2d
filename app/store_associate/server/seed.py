"""A believable chain, the same every time for the same seed.

Default: 25 stores and 2 distribution centres in real US cities (four time zones), 2,000 products in
twelve categories with valid GTIN-13 / UPC-A (some UPC-E-compressible, some EAN-8, some with a case
GTIN-14 or a second code, produce with PLUs, bakery with in-store codes), prices, and stock with
realistic zeros and low counts. Scale flags make the benchmark chain (1,000 locations, 100,000 SKUs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Engine, delete, insert
from sqlmodel import Session

from ..domain.gtin import upca_to_upce
from ..domain.permissions import Role
from .access import create_api_key, create_staff
from .models import (
    ApiKey,
    AuditLog,
    Barcode,
    Customer,
    CustomerOrder,
    Device,
    DeviceSyncState,
    EnrolmentCode,
    InventoryLevel,
    InventoryMovement,
    Notification,
    OrderEvent,
    OrderLine,
    Product,
    Sale,
    SaleLine,
    SaleTender,
    Staff,
    StaffSession,
    Store,
    Transfer,
)
from .money_models import BalanceAccount, BalanceEntry, PaymentRequest
from .repositories.changelog import ChangeLog
from .returns.models import ReturnEvent, ReturnLine, ReturnProblem, ReturnRecord
from .seed_data import (
    BAKERY,
    CATEGORIES,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    PICKUP_WINDOW_HOURS,
    PRODUCE,
    STORE_HOURS,
    WAREHOUSE_HOURS,
    WAREHOUSES,
)
from .seed_sales import DAYS, PICKUPS, SALES_PER_DAY, seed_sales


@dataclass
class SeedSummary:
    stores: int = 0
    warehouses: int = 0
    products: int = 0
    barcodes: int = 0
    stock_rows: int = 0
    sales: int = 0  # till sales over the last `sales_days` (seed_sales.py)
    sale_lines: int = 0
    pickups: int = 0  # web orders collected (each a sale too)
    # Codes worth trying in the demo and in tests, by what they show.
    examples: dict[str, Any] = field(default_factory=dict)


def _gtin(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def unique(self, make) -> str:  # noqa: ANN001
        while True:
            code = make()
            if code not in self.used:
                self.used.add(code)
                return code

    def ean13(self) -> str:
        prefix = self.rng.choice(["400", "401", "402", "500", "501", "300", "301", "760", "871", "890", "690"])
        return self.unique(lambda: _gtin(prefix + "".join(self.rng.choices("0123456789", k=9))))

    def upca(self) -> str:
        return self.unique(lambda: _gtin(self.rng.choice("0136789") + "".join(self.rng.choices("0123456789", k=10))))

    def upca_compressible(self) -> str:
        """A UPC-A that also prints as UPC-E (manufacturer xxx00, product 00xyz)."""

        def make() -> str:
            d = "".join(self.rng.choices("0123456789", k=5))
            body = "0" + d[0] + d[1] + self.rng.choice("012") + "00" + "00" + d[2:5]
            return _gtin(body)

        return self.unique(make)

    def ean8(self) -> str:
        return self.unique(
            lambda: _gtin(self.rng.choice(["40", "50", "96", "87"]) + "".join(self.rng.choices("0123456789", k=5)))
        )

    def in_store(self) -> str:
        # Prefix 20: restricted circulation, used as the chain's own EAN-13 for bakery counters.
        return self.unique(lambda: _gtin("20" + "".join(self.rng.choices("0123456789", k=10))))


def _price(rng: random.Random, lo: int, hi: int) -> Decimal:
    dollars = rng.randint(lo, hi)
    cents = rng.choice(["99", "49", "29", "00", "79"])
    return Decimal(f"{max(dollars - (1 if cents != '00' else 0), 0)}.{cents}") or Decimal("0.99")


def _locations(rng: random.Random, n_locations: int) -> list[dict]:
    rows: list[dict] = []
    for i, (code, city, addr, lat, lon, tz) in enumerate(CITIES):
        rows.append(
            dict(
                code=f"{code}-01",
                name=f"{city} {addr.split(' ', 1)[1]}",
                kind="store",
                city=city,
                address=f"{addr}, {city}",
                country="US",
                latitude=lat,
                longitude=lon,
                timezone=tz,
                hours=STORE_HOURS[i % len(STORE_HOURS)],
                phone=f"+1 555 01{i:02d} {1000 + i}",
                pickup_window_hours=PICKUP_WINDOW_HOURS.get(f"{code}-01"),
            )
        )
    for code, city, addr, lat, lon, tz in WAREHOUSES:
        rows.append(
            dict(
                code=f"{code}-WH",
                name=f"{city} Distribution Center",
                kind="warehouse",
                city=city,
                address=f"{addr}, {city}",
                country="US",
                latitude=lat,
                longitude=lon,
                timezone=tz,
                hours=WAREHOUSE_HOURS,
                phone="+1 555 0100 9000",
                pickup_window_hours=None,
            )
        )
    # Scale runs: more stores around the same cities (suburbs within ~60 km).
    extra = max(0, n_locations - len(rows))
    for j in range(extra):
        code, city, _addr, lat, lon, tz = CITIES[j % len(CITIES)]
        rows.append(
            dict(
                code=f"{code}-{j // len(CITIES) + 2:03d}"[:16],
                name=f"{city} Suburb {j + 2}",
                kind="store",
                city=city,
                address=f"{100 + j} Commerce Way, {city}",
                country="US",
                latitude=lat + rng.uniform(-0.5, 0.5),
                longitude=lon + rng.uniform(-0.5, 0.5),
                timezone=tz,
                hours=STORE_HOURS[j % len(STORE_HOURS)],
                phone="",
                pickup_window_hours=None,
            )
        )
    return rows[:n_locations] if n_locations < len(rows) else rows


def _products(gen: _Generator, n_skus: int) -> tuple[list[dict], list[dict], dict[str, Any]]:
    rng = gen.rng
    products: list[dict] = []
    codes: list[dict] = []
    examples: dict[str, Any] = {"upce": [], "ean8": [], "case_gtin14": [], "multi_code": [], "plu": [], "in_store": []}
    names = list(CATEGORIES)
    for i, (plu, pname, unit, price) in enumerate(PRODUCE[: max(0, min(len(PRODUCE), n_skus // 50))]):
        sku = f"{900001 + i}"
        products.append(
            dict(
                sku=sku,
                name=pname,
                brand="Fresh Market",
                description=f"Sold {unit}.",
                category="Produce",
                price=Decimal(price),
                currency="USD",
                image="/images/products/produce.png",
                attributes={"unit": unit},
            )
        )
        codes.append(dict(code=plu, sku=sku, kind="plu", pack_qty=1))
        examples["plu"].append(plu)
    for i in range(n_skus - len(products)):
        category = names[i % len(names)]
        slug, (lo, hi), brands, nouns, adjectives, sizes = CATEGORIES[category]
        brand = rng.choice(brands)
        size = rng.choice(sizes)
        name = f"{rng.choice(adjectives)} {rng.choice(nouns)}, {size}"
        sku = f"{100001 + i}"
        if category == "Grocery" and i % 97 == 0 and BAKERY:
            name, brand = f"{BAKERY[(i // 97) % len(BAKERY)]}", "In-Store Bakery"
        products.append(
            dict(
                sku=sku,
                name=name,
                brand=brand,
                description=f"{brand} {name}. {category} item, ask a colleague if you need help finding it.",
                category=category,
                price=_price(rng, lo, hi),
                currency="USD",
                image=f"/images/products/{slug}.png",
                attributes={"size": size},
            )
        )
        roll = rng.random()
        if brand == "In-Store Bakery":
            main, kind = gen.in_store(), "internal"
            examples["in_store"].append(main)
        elif roll < 0.08:
            main, kind = gen.upca_compressible(), "gtin"
            examples["upce"].append(upca_to_upce(main))
        elif roll < 0.14:
            main, kind = gen.ean8(), "gtin"
            examples["ean8"].append(main)
        elif roll < 0.55:
            main, kind = gen.upca(), "gtin"
        else:
            main, kind = gen.ean13(), "gtin"
        codes.append(dict(code=main.zfill(14), sku=sku, kind=kind, pack_qty=1))
        if kind == "gtin" and rng.random() < 0.12:
            # The case of 6 or 12: indicator digit 1 in front of the item's GTIN-13 body.
            body = "1" + main.zfill(13)[:12]
            case = _gtin(body)
            gen.used.add(case)
            qty = rng.choice([6, 12])
            codes.append(dict(code=case, sku=sku, kind="gtin", pack_qty=qty))
            examples["case_gtin14"].append({"code": case, "sku": sku, "pack_qty": qty})
        if kind == "gtin" and rng.random() < 0.06:
            second = gen.ean13()
            codes.append(dict(code=second.zfill(14), sku=sku, kind="gtin", pack_qty=1))
            examples["multi_code"].append({"sku": sku, "codes": [main, second]})
    for key in ("upce", "ean8", "case_gtin14", "multi_code", "in_store"):
        examples[key] = examples[key][:5]
    return products, codes, examples


def _stock(
    rng: random.Random, locations: list[dict], skus: list[str], stocked_per_location: int | None, now: datetime
) -> list[dict]:
    rows: list[dict] = []
    for loc in locations:
        warehouse = loc["kind"] == "warehouse"
        carried = skus if stocked_per_location is None else skus[:stocked_per_location]
        for sku in carried:
            r = rng.random()
            if warehouse:
                on_hand = 0 if r < 0.05 else rng.randint(20, 900)
            elif r < 0.15:
                on_hand = 0  # realistic gaps on the shelf
            elif r < 0.30:
                on_hand = rng.randint(1, 3)
            else:
                on_hand = rng.randint(4, 60)
            reserved = min(on_hand, rng.choice([0, 0, 0, 0, 1, 2])) if on_hand else 0
            rows.append(
                dict(
                    store_code=loc["code"],
                    sku=sku,
                    on_hand=on_hand,
                    reserved=reserved,
                    safety_stock=0 if warehouse else rng.choice([0, 0, 1, 2]),
                    incoming=rng.choice([0, 0, 0, 0, 6, 12, 24]) if not warehouse else 0,
                    damaged=rng.choice([0] * 19 + [1]),
                    updated_at=now,
                    location=floor_location(sku),
                )
            )
    return rows


def floor_location(sku: str) -> str:
    """Aisle and bay on the chain's planogram (one layout for every store, as in most chains). Made from
    the SKU, not the random generator, so adding it changed no other seeded figure."""
    n = int(sku) if sku.isdigit() else sum(map(ord, sku))
    return f"A{n % 24 + 1:02d}-{n // 24 % 12 + 1:02d}"


def _people(session: Session, rng: random.Random, stores: list[str], limit: int) -> list[dict]:
    """A manager and an associate per store (the first `limit` stores), and one admin. The PINs come
    from the seed, so the demo can print them; real staff set their own."""
    out: list[dict] = []

    def person(number: str, role: Role, store: str | None) -> None:
        pin = "".join(rng.choices("0123456789", k=4))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        create_staff(session, number, name, role, store, pin)
        out.append({"staff_number": number, "pin": pin, "role": role.value, "store": store, "name": name})

    person("9000", Role.ADMIN, None)
    for i, store in enumerate(stores[:limit]):
        person(f"{1000 + i * 10 + 1}", Role.MANAGER, store)
        person(f"{1000 + i * 10 + 2}", Role.ASSOCIATE, store)
    return out


def seed(
    engine: Engine,
    seed_value: int = 42,
    locations: int = 27,
    skus: int = 2000,
    stocked_per_location: int | None = None,
    chunk: int = 5000,
    staff_for_stores: int = 30,
    sales_days: int = DAYS,
    sales_per_day: float = SALES_PER_DAY,
    pickups_per_store: int = PICKUPS,
    now: datetime | None = None,
) -> SeedSummary:
    """Replace the catalogue, stores and stock with a generated chain, and (sales_days > 0) its trade: till
    sales (about `sales_per_day` a store a day) and collected web orders over the last `sales_days`, for the
    stores that have staff (the first `staff_for_stores`), each with a till key (examples["till_keys"])."""
    rng = random.Random(seed_value)
    gen = _Generator(seed_value + 1)
    now = now or datetime.now(UTC)
    locs = _locations(rng, locations)
    products, codes, examples = _products(gen, skus)
    sku_list = [p["sku"] for p in products]
    stock = _stock(rng, locs, sku_list, stocked_per_location, now)

    with Session(engine) as session:
        for model in (
            ReturnProblem,  # (returns, balances and refunds name sales, customers and stores: they go first)
            ReturnEvent,
            ReturnLine,
            ReturnRecord,
            BalanceEntry,
            BalanceAccount,
            PaymentRequest,
            SaleTender,
            SaleLine,
            Sale,
            Notification,
            OrderEvent,
            Transfer,
            OrderLine,
            CustomerOrder,
            Customer,
            DeviceSyncState,
            AuditLog,
            StaffSession,
            EnrolmentCode,
            Device,
            Staff,
            ApiKey,
            InventoryMovement,
            InventoryLevel,
            Barcode,
            Product,
            Store,
        ):
            session.execute(delete(model))
        total = len(locs) + len(products) + len(codes) + len(stock)
        version = ChangeLog(session).take(total)
        for table, rows in ((Store, locs), (Product, products), (Barcode, codes), (InventoryLevel, stock)):
            for row in rows:
                row["version"] = version
                version += 1
            for start in range(0, len(rows), chunk):
                session.execute(insert(table), rows[start : start + chunk])
        # The opening balance goes into the ledger too: every unit on hand has a movement behind it.
        ledger = [
            dict(
                store_code=s["store_code"],
                sku=s["sku"],
                field_name="on_hand",
                delta=s["on_hand"],
                reason="seed",
                reference=f"seed:{seed_value}",
                created_at=now,
            )
            for s in stock
            if s["on_hand"]
        ]
        for start in range(0, len(ledger), chunk):
            session.execute(insert(InventoryMovement), ledger[start : start + chunk])
        session.flush()
        store_codes = [loc["code"] for loc in locs if loc["kind"] == "store"]
        sign_ins = _people(session, random.Random(seed_value + 2), store_codes, staff_for_stores)
        web_shop_key = create_api_key(session, "web shop")
        selling = store_codes[:staff_for_stores] if sales_days > 0 else []
        till_keys = {code: create_api_key(session, f"till {code}", Role.TILL, store=code) for code in selling}
        session.commit()

    home = locs[0]["code"]
    by_sku = {(s["store_code"], s["sku"]): s for s in stock}
    gtin_of = {c["sku"]: c["code"] for c in codes if c["kind"] == "gtin" and c["pack_qty"] == 1}

    def pick(pred) -> dict | None:  # noqa: ANN001
        # Prefer a plain EAN-13: the code most people will type in the demo.
        def not_ean13(p: dict) -> bool:
            g = gtin_of.get(p["sku"], "00")
            return not (g[0] == "0" and g[1] != "0")

        ordered = sorted(products, key=not_ean13)
        for p in ordered:
            s = by_sku.get((home, p["sku"]))
            if p["sku"] in gtin_of and s and pred(s):
                g = gtin_of[p["sku"]].lstrip("0")
                return {"sku": p["sku"], "name": p["name"], "gtin": g.zfill(13) if len(g) > 8 else g.zfill(8)}
        return None

    examples["store"] = home
    examples["sign_ins"] = sign_ins
    examples["web_shop_key"] = web_shop_key
    examples["in_stock_here"] = pick(lambda s: s["on_hand"] - s["reserved"] - s["safety_stock"] > 5)
    examples["out_of_stock_here"] = pick(lambda s: s["on_hand"] == 0)
    summary = SeedSummary(
        stores=sum(1 for loc in locs if loc["kind"] == "store"),
        warehouses=sum(1 for loc in locs if loc["kind"] == "warehouse"),
        products=len(products),
        barcodes=len(codes),
        stock_rows=len(stock),
        examples=examples,
    )
    if selling:
        trade = seed_sales(
            engine,
            seed_value,
            now,
            days=sales_days,
            per_day=sales_per_day,
            pickups=pickups_per_store,
            stores=selling,
            staff={p["store"]: p["staff_number"] for p in sign_ins if p["role"] == Role.ASSOCIATE.value},
            avoid={e["sku"] for e in (examples["in_stock_here"], examples["out_of_stock_here"]) if e},
            home=home,
        )
        summary.sales, summary.sale_lines, summary.pickups = trade.sales, trade.lines, trade.pickups
        examples["sales"] = trade.examples
        examples["till_keys"] = till_keys
    return summary
