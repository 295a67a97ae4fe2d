"""The unit of work (server/uow.py) and its repositories, on a real SQLite file and the real PostgreSQL server:
a commit writes everything and pokes after it, an exception undoes everything (pokes too), and the batch APIs
write the same ledger rows as the one-at-a-time ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import delete, func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server.db import make_engine
from store_associate.server.models import (
    Customer,
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    OrderEvent,
    OrderLine,
    SyncCounter,
)
from store_associate.server.pokes import POKE_CHANNEL, Poker
from store_associate.server.repositories.orders import NewOrder, event_row, line_row, order_row
from store_associate.server.repositories.stock import Booking, entry
from store_associate.server.uow import UnitOfWork
from tests.conftest import database, seed_database

STORE = "NYC-01"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with database(request.param, tmp_path_factory.mktemp(f"uow-{request.param}")) as url:
        seed_database(url, skus=60, locations=4)
        eng = make_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


class Recorder(Poker):
    """This process's event streams, as far as a test needs them: the stores poked, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.poked: list[str] = []

    def poke(self, store: str) -> None:
        self.poked.append(store)


def stocked(engine, n: int, store: str = STORE) -> list[str]:
    with Session(engine) as s:
        return list(
            s.execute(
                select(InventoryLevel.sku)
                .where(InventoryLevel.store_code == store, InventoryLevel.on_hand > 20, InventoryLevel.reserved == 0)
                .order_by(InventoryLevel.sku)
                .limit(n)
            ).scalars()
        )


def never_stocked(uow: UnitOfWork, sku: str) -> None:
    """The store has no level of this product yet (in this transaction, which the test rolls back)."""
    uow.session.execute(delete(InventoryLevel).where(InventoryLevel.store_code == STORE, InventoryLevel.sku == sku))


def counts(engine, reference: str) -> tuple[int, int]:
    with Session(engine) as s:
        moves = s.execute(
            select(func.count()).select_from(InventoryMovement).where(InventoryMovement.reference == reference)
        ).scalar_one()
        orders = s.execute(
            select(func.count()).select_from(CustomerOrder).where(CustomerOrder.idempotency_key == reference)
        ).scalar_one()
    return moves, orders


def figures(session: Session, store: str, skus: list[str]) -> dict[str, tuple[int, int]]:
    return {
        sku: (level.on_hand, level.reserved)
        for sku, level in ((sku, session.get(InventoryLevel, (store, sku), populate_existing=True)) for sku in skus)
        if level is not None
    }


def ledger(session: Session, references: list[str]) -> list[tuple]:
    """The rows written, without what differs between two runs (ids and times)."""
    return sorted(
        session.execute(
            select(
                InventoryMovement.store_code,
                InventoryMovement.sku,
                InventoryMovement.field_name,
                InventoryMovement.delta,
                InventoryMovement.reason,
                InventoryMovement.reference,
            ).where(InventoryMovement.reference.in_(references))
        ).all()
    )


def an_order(uow: UnitOfWork, skus: list[str], key: str) -> NewOrder:
    now = datetime.now(UTC)
    customer = Customer(name="Dana Shopper", email="dana@example.com")
    uow.session.add(customer)
    uow.session.flush()
    return NewOrder(
        order_row(
            store=STORE,
            channel="web",
            fulfilment="pickup",
            status="new",
            customer_id=customer.id,
            currency="USD",
            total=Decimal("10.00") * len(skus),
            promised_at=now,
            now=now,
            idempotency_key=key,
        ),
        [line_row(sku, f"item {sku}", 2, Decimal("10.00")) for sku in skus],
        event_row("intake", {"channel": "web"}, now),
        reserve=True,
    )


def test_a_commit_writes_everything_and_then_pokes(engine):
    a, b = stocked(engine, 2)
    poker = Recorder()
    with UnitOfWork(engine, Settings(), poker) as uow:
        uow.changes.lock()
        before = uow.changes.current()
        uow.stock.book(STORE, "uow-commit", {a: Booking("count", {"on_hand": -1})})
        new = an_order(uow, [a, b], "uow-commit")
        uow.orders.create([new])
        uow.poke(STORE)
        assert poker.poked == []  # not before the commit
        uow.commit()
    assert poker.poked == ([STORE] if engine.dialect.name == "sqlite" else [])  # (PostgreSQL: by NOTIFY)
    number = new.order["number"]
    with Session(engine) as s:
        order = s.get(CustomerOrder, number)
        assert order is not None and order.version > before and order.pickup_code
        lines = s.execute(select(OrderLine).where(OrderLine.order_number == number)).scalars().all()
        assert sorted((ln.line_no, ln.sku, ln.qty) for ln in lines) == [(1, a, 2), (2, b, 2)]
        assert s.execute(select(OrderEvent.action).where(OrderEvent.order_number == number)).scalars().all() == [
            "intake"
        ]
        assert ledger(s, [number, "uow-commit"]) == sorted(
            [
                (STORE, a, "on_hand", -1, "count", "uow-commit"),
                (STORE, a, "reserved", 2, "order", number),
                (STORE, b, "reserved", 2, "order", number),
            ]
        )
        # Every level written took a version of its own from the change log, after the order's.
        versions = [s.get(InventoryLevel, (STORE, sku)).version for sku in (a, b)]
        assert len(set(versions + [order.version])) == 3 and min(versions) > before
        assert s.get(SyncCounter, 1).value >= max(versions)


def test_an_exception_undoes_everything_pokes_included(engine):
    (a,) = stocked(engine, 1)
    poker = Recorder()
    listener = None
    if engine.dialect.name == "postgresql":
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = psycopg.connect(dsn, autocommit=True)
        listener.execute(f"LISTEN {POKE_CHANNEL}")
    try:
        with Session(engine) as s:
            held = figures(s, STORE, [a])
        uow = UnitOfWork(engine, Settings(), poker)
        with pytest.raises(RuntimeError), uow:
            uow.changes.lock()
            uow.stock.book(STORE, "uow-undone", {a: Booking("count", {"on_hand": -3})})
            uow.orders.create([an_order(uow, [a], "uow-undone")])
            uow.poke("UNDONE")
            raise RuntimeError("a step failed half-way")
        assert counts(engine, "uow-undone") == (0, 0)
        with Session(engine) as s:
            assert figures(s, STORE, [a]) == held
        # The same unit of work, entered again, commits what the next block does (and only that).
        with uow:
            uow.poke("AFTER")
            uow.commit()
        if listener is None:
            assert poker.poked == ["AFTER"]
        else:  # NOTIFY leaves at commit, in commit order: the rolled-back one would have come first
            (note,) = listener.notifies(timeout=30, stop_after=1)
            assert note.payload == "AFTER"
    finally:
        if listener is not None:
            listener.close()


def test_the_batch_apis_write_what_the_single_ones_do(engine):
    a, b, fresh = stocked(engine, 3)
    wants = [("uow-ref-1", {a: 2, b: 1}), ("uow-ref-2", {a: 1, fresh: 4})]
    skus = [a, b, fresh]
    references = [ref for ref, _ in wants]

    def written(batch: bool) -> tuple[list[tuple], dict]:
        """What a run leaves, read in its own transaction, which is then rolled back."""
        with UnitOfWork(engine, Settings()) as uow:
            uow.changes.lock()
            never_stocked(uow, fresh)
            before = figures(uow.session, STORE, skus)
            if batch:
                uow.stock.reserve(STORE, wants, "order")
            else:
                for reference, wanted in wants:
                    for sku, qty in wanted.items():
                        uow.stock.book(STORE, reference, {sku: Booking("order", {"reserved": qty})})
            after = figures(uow.session, STORE, skus)
            rows = ledger(uow.session, references)
        moved = {sku: tuple(x - y for x, y in zip(after[sku], before.get(sku, (0, 0)), strict=True)) for sku in after}
        return rows, moved

    assert written(batch=True) == written(batch=False)
    rows, moved = written(batch=True)
    assert moved == {a: (0, 3), b: (0, 1), fresh: (0, 4)} and len(rows) == 4

    # A push's rows through `write`, and the same changes booked one at a time.
    def pushed(batch: bool) -> tuple[list[tuple], dict]:
        with UnitOfWork(engine, Settings()) as uow:
            uow.changes.lock()
            never_stocked(uow, fresh)
            before = figures(uow.session, STORE, skus)
            now = datetime.now(UTC)
            changes = [(a, -2, "uow-push-1"), (b, 5, "uow-push-1"), (a, 1, "uow-push-2"), (fresh, 3, "uow-push-2")]
            if batch:
                found = uow.stock.lock(STORE, skus)
                rows = [entry(STORE, sku, "on_hand", d, "count", ref, now) for sku, d, ref in changes]
                uow.stock.write(STORE, rows, new=[s for s in skus if s not in found])
            else:
                for sku, d, ref in changes:
                    uow.stock.book(STORE, ref, {sku: Booking("count", {"on_hand": d})})
            after = figures(uow.session, STORE, skus)
            rows = ledger(uow.session, ["uow-push-1", "uow-push-2"])
        moved = {sku: tuple(x - y for x, y in zip(after[sku], before.get(sku, (0, 0)), strict=True)) for sku in after}
        return rows, moved

    assert pushed(batch=True) == pushed(batch=False)
    assert pushed(batch=True)[1] == {a: (-1, 0), b: (5, 0), fresh: (3, 0)}


def test_orders_made_in_a_batch_are_made_as_one_at_a_time(engine):
    a, b, c = stocked(engine, 3)

    def made(batch: bool) -> list[tuple]:
        with UnitOfWork(engine, Settings()) as uow:
            uow.changes.lock()
            new = [an_order(uow, [a, b], f"uow-batch-{batch}-1"), an_order(uow, [b, c], f"uow-batch-{batch}-2")]
            if batch:
                uow.orders.create(new)
            else:
                for n in new:
                    uow.orders.create([n])
            numbers = [n.order["number"] for n in new]
            assert len(set(numbers)) == 2 and all(n.startswith("SA-") for n in numbers)
            rows = [
                (i, ln.line_no, ln.sku, ln.qty, ln.status, ln.location)
                for i, number in enumerate(numbers)
                for ln in uow.session.execute(
                    select(OrderLine).where(OrderLine.order_number == number).order_by(OrderLine.line_no)
                ).scalars()
            ]
            moves = [
                (i, sku, field, delta, reason)
                for i, number in enumerate(numbers)
                for _, sku, field, delta, reason, _ in ledger(uow.session, [number])
            ]
        return rows + moves

    assert made(batch=True) == made(batch=False)


def test_a_unit_of_work_is_one_block_at_a_time(engine):
    uow = UnitOfWork(engine, Settings())
    with uow, pytest.raises(RuntimeError), uow:
        pass
