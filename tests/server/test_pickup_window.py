"""A store's own pickup window: set through the API by its manager or an admin (validated, store-scoped),
used when an order becomes ready, by the order clock (expiry and reminder) and in the customer's e-mail.
Real HTTP, SQLite and PostgreSQL; the order clock driven directly with a chosen "now"."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server.db import make_engine
from store_associate.server.models import AuditLog, CustomerOrder, Notification, Store
from store_associate.server.notify import build, collect_by
from store_associate.server.order_clock import reminder_lead, sweep
from store_associate.server.uow import UnitOfWork
from tests.server.test_orders import Device, db, key_headers, order_body
from tests.server.test_pickup_routes import get_order, level, notes, stocked

SHORT, LONG = "PHL-01", "BAL-01"  # stores no other test relies on for its expiry
DAY = timedelta(hours=24)


def window_url(server, store: str) -> str:
    return f"{server.url}/api/v1/stores/{store}/pickup-window"


def admin(server) -> dict[str, str]:
    device = server.enrol(server.examples["store"])
    person = server.person("admin")
    r = httpx.post(
        f"{server.url}/api/v1/auth/sign-in",
        headers=device,
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    r.raise_for_status()
    return {**device, "Authorization": f"Bearer {r.json()['session_token']}"}


def stored(server, store: str) -> tuple[int | None, int]:
    with db(server) as s:
        row = s.get(Store, store)
        return row.pickup_window_hours, row.version


@contextmanager
def windows(server, hours: dict[str, int | None]):
    """Stores' windows set through the API for a test, and put back to the chain's afterwards (the server is
    shared by the whole session)."""
    headers = admin(server)
    try:
        for store, h in hours.items():
            r = httpx.post(window_url(server, store), headers=headers, json={"hours": h})
            assert r.status_code == 200, r.text
        yield headers
    finally:
        for store in hours:
            httpx.post(window_url(server, store), headers=headers, json={"hours": None})


def ready_order(server, store: str, locale: str = "en") -> tuple[str, str]:
    """A web-shop order at `store`, picked and staged by the store's tablet: ready for pickup. (number, sku)"""
    (sku,) = stocked(server, store, 1)
    body = order_body(store=store, lines=[{"sku": sku, "qty": 1}])
    body["customer"]["locale"] = locale
    r = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=body)
    assert r.status_code == 201, r.text
    n = r.json()["number"]
    device = Device(server, store)
    assert device.do("pick_line", order=n, line_no=1, scanned=server.gtin(sku))["status"] == "applied"
    assert device.do("stage_order", order=n, bin="W-1")["status"] == "applied"
    return n, sku


def expiry(server, number: str) -> datetime:
    with db(server) as s:
        return s.get(CustomerOrder, number).expires_at


def status(server, number: str) -> str:
    with db(server) as s:
        return s.get(CustomerOrder, number).status


def ready_mail_text(server, number: str) -> str:
    with db(server) as s:
        note = (
            s.execute(select(Notification).where(Notification.order_number == number, Notification.kind == "ready"))
            .scalars()
            .first()
        )
        return (
            build(s, note, Settings(mail_from="test <t@example.com>")).get_body(preferencelist=("plain",)).get_content()
        )


def test_two_stores_with_different_windows_expire_orders_at_different_times(server):
    with windows(server, {SHORT: 2, LONG: 48}) as headers:
        before = datetime.now(UTC)
        short, short_sku = ready_order(server, SHORT, locale="es")
        long_, _ = ready_order(server, LONG)
        after = datetime.now(UTC)
        short_at, long_at = expiry(server, short), expiry(server, long_)
        assert before + timedelta(hours=2) - timedelta(seconds=1) <= short_at <= after + timedelta(hours=2)
        assert before + timedelta(hours=48) - timedelta(seconds=1) <= long_at <= after + timedelta(hours=48)

        # The ready e-mail gives each customer their store's date and hour, in the store's time and their language.
        with db(server) as s:
            tz = {code: s.get(Store, code).timezone for code in (SHORT, LONG)}
        assert collect_by(short_at, tz[SHORT], "es") in ready_mail_text(server, short)
        assert "domingo" in collect_by(datetime(2026, 5, 3, 18, tzinfo=UTC), "UTC", "es")
        assert collect_by(long_at, tz[LONG], "en") in ready_mail_text(server, long_)

        # A window changed later keeps the date the customer was given.
        r = httpx.post(window_url(server, SHORT), headers=headers, json={"hours": 1440})
        assert r.status_code == 200 and r.json()["effective_hours"] == 1440
        assert expiry(server, short) == short_at
        httpx.post(window_url(server, SHORT), headers=headers, json={"hours": 2}).raise_for_status()

        engine = make_engine(server.database_url)
        clock = UnitOfWork(engine, Settings())
        try:
            # A 24-hour reminder would be due at once in the 2-hour store: there it waits for half the window
            # (1 hour before expiry); in the 48-hour store it goes 24 hours before expiry.
            sweep(clock, short_at - timedelta(minutes=90), DAY)
            assert "reminder" not in notes(server, short) and "reminder" not in notes(server, long_)
            sweep(clock, short_at - timedelta(minutes=30), DAY)
            assert notes(server, short)[-1] == "reminder" and "reminder" not in notes(server, long_)

            held = level(server, SHORT, short_sku)[1]
            sweep(clock, short_at + timedelta(seconds=1), DAY)
            assert status(server, short) == "expired" and status(server, long_) == "ready_for_pickup"
            assert level(server, SHORT, short_sku)[1] == held - 1  # its stock released
            assert notes(server, short)[-1] == "expired"
            manager = server.sign_in("manager", SHORT)
            assert get_order(server, short, manager)["lines"][0]["status"] == "refunded"
            listed = httpx.get(
                f"{server.url}/api/v1/orders", params={"store": SHORT, "status": "expired"}, headers=manager
            ).json()
            assert short in [o["number"] for o in listed]

            sweep(clock, long_at - DAY - timedelta(minutes=1), DAY)
            assert "reminder" not in notes(server, long_)
            sweep(clock, long_at - timedelta(hours=2), DAY)
            assert notes(server, long_)[-1] == "reminder" and status(server, long_) == "ready_for_pickup"
            sweep(clock, long_at + timedelta(seconds=1), DAY)
            assert status(server, long_) == "expired" and notes(server, long_)[-1] == "expired"
            assert notes(server, short).count("expired") == 1  # not expired twice
        finally:
            engine.dispose()


def test_a_store_without_its_own_window_follows_the_chain(server):
    r = httpx.get(window_url(server, "NYC-01"), headers=server.sign_in("associate"))
    assert r.status_code == 200, r.text
    chain = r.json()["chain_hours"]
    assert r.json() == {"store": "NYC-01", "hours": None, "effective_hours": chain, "chain_hours": chain}
    seeded = httpx.get(window_url(server, "BKN-01"), headers=server.sign_in("associate")).json()
    assert seeded["hours"] == 72 and seeded["effective_hours"] == 72  # the seed's three-day store


def test_reminder_lead_is_half_a_short_window():
    assert reminder_lead(DAY, 2) == timedelta(hours=1)
    assert reminder_lead(DAY, 7 * 24) == DAY
    assert reminder_lead(DAY, 48) == DAY


BAD_BODIES = [
    {"hours": 0},
    {"hours": -5},
    {"hours": 1441},
    {"hours": 10**12},
    {"hours": "72"},
    {"hours": 2.5},
    {"hours": 1440.5},
    {"hours": True},
    {"hours": [72]},
    {},
    {"hours": 5, "days": 3},
    [],
    "72",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=[repr(b) for b in BAD_BODIES])
def test_bad_windows_are_refused_with_what_fits_and_change_nothing(server, body):
    store = "PIT-01"
    headers = server.sign_in("manager", store)
    was = stored(server, store)
    r = httpx.post(window_url(server, store), headers=headers, json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "request.invalid"
    if isinstance(body, dict) and set(body) == {"hours"}:
        assert "whole number of hours from 1 to 1440" in detail["message"], detail
    assert stored(server, store) == was


def test_manager_sets_own_store_admin_any_others_are_refused(server):
    store = "PIT-01"
    url = window_url(server, store)
    with db(server) as s:
        audits = s.execute(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "store.pickup_window", AuditLog.store_code == store)
        ).scalar_one()
    manager = server.sign_in("manager", store)
    try:
        r = httpx.post(url, headers=manager, json={"hours": 36})
        assert r.status_code == 200, r.text
        assert r.json() == {"store": store, "hours": 36, "effective_hours": 36, "chain_hours": r.json()["chain_hours"]}
        hours, version = stored(server, store)
        assert hours == 36
        # Safe to send twice: the same value changes nothing (no new version for devices to pull, no audit row).
        assert httpx.post(url, headers=manager, json={"hours": 36}).status_code == 200
        assert stored(server, store) == (36, version)
        with db(server) as s:
            rows = (
                s.execute(
                    select(AuditLog)
                    .where(AuditLog.action == "store.pickup_window", AuditLog.store_code == store)
                    .order_by(AuditLog.id)
                )
                .scalars()
                .all()
            )
        assert len(rows) == audits + 1 and rows[-1].detail == {"from_hours": None, "to_hours": 36}
        assert rows[-1].staff_number == server.person("manager", store)["staff_number"]

        # Refused, and nothing changed: another store's manager, an associate, a kiosk, nobody signed in.
        for headers, status_code, error in (
            (server.sign_in("manager", "BOS-01"), 403, "auth.other_store"),
            (server.sign_in("associate", store), 403, "auth.forbidden"),
            (server.enrol(store, "kiosk"), 403, "auth.forbidden"),
            (server.enrol(store), 403, "auth.forbidden"),
            ({}, 401, "auth.required"),
        ):
            r = httpx.post(url, headers=headers, json={"hours": 5})
            assert (r.status_code, r.json()["detail"]["error"]) == (status_code, error), r.text
            assert stored(server, store) == (36, version)
        # A manager may not set another store's window either, even a valid one.
        other = httpx.post(window_url(server, "BOS-01"), headers=manager, json={"hours": 5})
        assert other.status_code == 403 and other.json()["detail"]["error"] == "auth.other_store"
        assert stored(server, "BOS-01")[0] is None

        # An admin may set any store's window; null puts it back to the chain's.
        r = httpx.post(url, headers=admin(server), json={"hours": None})
        assert r.status_code == 200 and r.json()["hours"] is None
        assert r.json()["effective_hours"] == r.json()["chain_hours"]
        assert stored(server, store)[0] is None
    finally:
        httpx.post(url, headers=admin(server), json={"hours": None})


def test_a_warehouse_or_an_unknown_store_has_no_window_to_set(server):
    headers = admin(server)
    with Session(make_engine(server.database_url)) as s:
        warehouse = s.execute(select(Store.code).where(Store.kind == "warehouse")).scalars().first()
    r = httpx.post(window_url(server, warehouse), headers=headers, json={"hours": 24})
    assert r.status_code == 422 and r.json()["detail"]["error"] == "store.no_pickups", r.text
    assert stored(server, warehouse)[0] is None
    r = httpx.post(window_url(server, "NOPE-99"), headers=headers, json={"hours": 24})
    assert r.status_code == 404 and r.json()["detail"]["error"] == "store.not_found"
    r = httpx.post(window_url(server, "X" * 300), headers=headers, json={"hours": 24})
    assert r.status_code == 404


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0006_adds_and_drops_the_column_on_a_seeded_database(kind, tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from store_associate.server.db import MIGRATIONS, upgrade
    from store_associate.server.seed import seed
    from tests.conftest import database

    def columns(engine) -> list[str]:
        with engine.connect() as conn:
            return [c["name"] for c in inspect(conn).get_columns("store")]

    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            seed(engine, 42, 27, 30, sales_per_day=1, pickups_per_store=1)
            with Session(engine) as s:
                assert s.get(Store, "BKN-01").pickup_window_hours == 72
                assert s.get(Store, "NYC-01").pickup_window_hours is None
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            with engine.begin() as conn:  # down to 0005 with stores that stock and orders point at
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0005")
            assert "pickup_window_hours" not in columns(engine)
            upgrade(engine)
            assert "pickup_window_hours" in columns(engine)
            with Session(engine) as s:
                assert s.execute(select(func.count()).select_from(Store)).scalar_one() == 27
                assert s.get(Store, "BKN-01").pickup_window_hours is None  # back to the chain's
        finally:
            engine.dispose()
