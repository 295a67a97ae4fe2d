"""Order intake in batches (server/intake.py), on real SQLite files and the real PostgreSQL server: each order
in a batch is judged on its own, the same key twice in a batch is taken once, one bad order fails only
itself, and a request that waits too long is refused with nothing written."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server.api.schemas.orders import OrderOut
from store_associate.server.db import make_engine
from store_associate.server.intake import IntakeError, IntakeQueue, Ticket, take_batch
from store_associate.server.models import (
    ApiKey,
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    OrderLine,
    Transfer,
)
from store_associate.server.pokes import Poker
from store_associate.server.uow import UnitOfWork
from tests.conftest import database, seed_database

STORE = "NYC-01"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with database(request.param, tmp_path_factory.mktemp(f"intake-{request.param}")) as url:
        seed_database(url, skus=120, locations=8)
        eng = make_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


def stocked(engine, n: int, store: str = STORE) -> list[str]:
    with Session(engine) as s:
        return list(
            s.execute(
                select(InventoryLevel.sku)
                .where(InventoryLevel.store_code == store, InventoryLevel.on_hand > 20)
                .order_by(InventoryLevel.sku)
                .limit(n)
            ).scalars()
        )


def web_shop(engine) -> int:
    with Session(engine) as s:
        return s.execute(select(ApiKey.id).order_by(ApiKey.id)).scalars().first()


def reserved(engine, sku: str, store: str = STORE) -> int:
    with Session(engine) as s:
        return s.get(InventoryLevel, (store, sku)).reserved


def body(lines: list[tuple[str, int]], store: str = STORE, name: str = "Dana Shopper", **extra) -> dict:
    return {
        "store": store,
        "customer": {"name": name, "email": "dana@example.com", "phone": "", "locale": "en"},
        "lines": [{"sku": s, "qty": q, "substitute": None} for s, q in lines],
        "fulfilment": "pickup",
        "promised_at": None,
        "id_check": False,
        **extra,
    }


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (
            s.execute(select(func.count()).select_from(CustomerOrder)).scalar_one(),
            s.execute(select(func.count()).select_from(OrderLine)).scalar_one(),
            s.execute(select(func.count()).select_from(InventoryMovement)).scalar_one(),
        )


def run(engine, tickets: list[Ticket]) -> None:
    with UnitOfWork(engine, Settings()) as uow:
        take_batch(uow, tickets)
        uow.commit()


def intake(engine, poker: Poker | None = None, **kw) -> IntakeQueue:
    return IntakeQueue(UnitOfWork(engine, Settings(), poker), **kw)


def test_a_batch_judges_each_order_on_its_own(engine):
    a, b, c = stocked(engine, 3)
    key_id = web_shop(engine)
    before = {sku: reserved(engine, sku) for sku in (a, b, c)}
    good_1 = Ticket(key_id, "batch-good-1", body([(a, 2)]))
    good_2 = Ticket(key_id, "batch-good-2", body([(a, 1), (b, 3)], name="محمد عبد الله"))
    unknown = Ticket(key_id, "batch-unknown", body([("NOPE", 1)]))
    no_store = Ticket(key_id, "batch-no-store", body([(a, 1)], store="ZZZ-99"))
    same_again = Ticket(key_id, "batch-good-1", body([(a, 2)]))  # a retry racing its first copy
    other_body = Ticket(key_id, "batch-good-2", body([(c, 1)]))  # a key reused for another order
    kiosk = Ticket(None, "kiosk-1:batch-k", body([(c, 1)], channel="kiosk"))
    shipped = Ticket(key_id, "batch-ship", body([(c, 2)], fulfilment="ship_to_store"))
    tickets = [good_1, good_2, unknown, no_store, same_again, other_body, kiosk, shipped]
    run(engine, tickets)

    assert unknown.error.error == "order.unknown_sku" and no_store.error.error == "order.unknown_store"
    assert other_body.error.error == "order.idempotency_conflict"
    assert same_again.error is None and same_again.answer["number"] == good_1.answer["number"]
    assert (good_1.created, same_again.created) == (True, False)
    made = [good_1, good_2, kiosk, shipped]
    assert all(t.created for t in made) and len({t.answer["number"] for t in made}) == 4
    for t in made:
        OrderOut.model_validate(t.answer)  # the answer has the documented shape
    assert good_2.answer["customer"]["name"] == "محمد عبد الله"
    assert [ln["qty"] for ln in good_2.answer["lines"]] == [1, 3]
    assert kiosk.answer["channel"] == "kiosk" and shipped.answer["status"] == "awaiting_transfer"
    assert shipped.answer["transfers"] and shipped.answer["transfers"][0]["lines"][0]["qty"] == 2
    # Stock: exactly what the pickup orders asked for is reserved here (ship-to-store reserves at the source).
    assert reserved(engine, a) == before[a] + 3 and reserved(engine, b) == before[b] + 3
    assert reserved(engine, c) == before[c] + 1
    with Session(engine) as s:
        ledger = s.execute(
            select(InventoryMovement.reference, InventoryMovement.sku, InventoryMovement.delta).where(
                InventoryMovement.reference.in_([t.answer["number"] for t in made]),
                InventoryMovement.store_code == STORE,
            )
        ).all()
        assert sorted((r.reference, r.sku, r.delta) for r in ledger) == sorted(
            [
                (good_1.answer["number"], a, 2),
                (good_2.answer["number"], a, 1),
                (good_2.answer["number"], b, 3),
                (kiosk.answer["number"], c, 1),
            ]
        )
        # Every order and every level changed took a version of its own.
        versions = [t.answer["version"] for t in made]
        levels = [s.get(InventoryLevel, (STORE, sku)).version for sku in (a, b, c)]
        assert len(set(versions + levels)) == len(versions + levels)
        assert (
            s.execute(
                select(func.count()).select_from(Transfer).where(Transfer.order_number == shipped.answer["number"])
            ).scalar_one()
            == 1
        )


def test_a_retry_in_a_later_batch_gets_the_same_order_and_changes_nothing(engine):
    (a,) = stocked(engine, 1)
    key_id = web_shop(engine)
    first = Ticket(key_id, "later-retry-1", body([(a, 1)]))
    run(engine, [first])
    before, level = counts(engine), reserved(engine, a)
    again = Ticket(key_id, "later-retry-1", body([(a, 1)]))
    changed = Ticket(key_id, "later-retry-1", body([(a, 4)]))
    run(engine, [again, changed])
    assert again.answer == first.answer and not again.created
    assert changed.error.error == "order.idempotency_conflict"
    assert counts(engine) == before and reserved(engine, a) == level


def wait_until(condition, seconds: float = 60.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "condition not reached"
        time.sleep(0.002)


def behind_one_batch(queue: IntakeQueue, sends: dict[str, tuple[int | None, str, dict]]) -> dict:
    """Take these orders while a batch is being written (the writer's turn held here), so that they queue up
    behind it and are written together when it ends. Returns each one's answer or exception."""
    outcome: dict = {}

    def send(name: str) -> None:
        try:
            outcome[name] = queue.take(*sends[name])
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome[name] = exc

    queue._writer.acquire()
    threads = [threading.Thread(target=send, args=(name,)) for name in sends]
    for t in threads:
        t.start()
    wait_until(lambda: len(queue._waiting) == len(sends))
    queue._writer.release()
    for t in threads:
        t.join(30)
    return outcome


def test_orders_waiting_for_the_writer_are_written_as_one_batch(engine):
    skus = stocked(engine, 4)
    key_id = web_shop(engine)
    queue = intake(engine)
    outcome = behind_one_batch(
        queue, {f"grouped-{i}": (key_id, f"grouped-{i}", body([(skus[i % 4], 1)])) for i in range(8)}
    )
    assert all(isinstance(r, tuple) and r[1] for r in outcome.values()) and len(outcome) == 8
    assert (queue.batches, queue.orders) == (1, 8)


def test_one_broken_order_fails_alone(engine):
    (a,) = stocked(engine, 1)
    key_id = web_shop(engine)
    queue = intake(engine)
    broken = body([(a, 1)])
    del broken["customer"]  # the API never lets this through; here it stands for any unexpected fault
    outcome = behind_one_batch(
        queue, {"good": (key_id, "isolated-good", body([(a, 1)])), "broken": (key_id, "isolated-broken", broken)}
    )
    assert outcome["good"][1] is True
    assert isinstance(outcome["broken"], KeyError)
    with Session(engine) as s:
        assert (
            s.execute(
                select(func.count())
                .select_from(CustomerOrder)
                .where(CustomerOrder.idempotency_key == "isolated-broken")
            ).scalar_one()
            == 0
        )


def test_an_order_that_waits_too_long_is_refused_and_not_written(engine):
    (a,) = stocked(engine, 1)
    queue = intake(engine, wait_s=0.2)
    before = counts(engine)
    queue._writer.acquire()
    try:
        with pytest.raises(IntakeError) as caught:
            queue.take(web_shop(engine), "too-long-1", body([(a, 1)]))
    finally:
        queue._writer.release()
    assert caught.value.status == 503 and "same Idempotency-Key" in caught.value.message
    assert queue._waiting == [] and counts(engine) == before


def test_ship_to_store_orders_in_one_batch_each_find_a_source(engine):
    """Two parcels from the first choice of source would need 4 units where it has 2: the second order's
    source is chosen after the first reserved there, and it ships from the next location that has them."""
    from store_associate.server.transfers import nearest_source

    (sku,) = stocked(engine, 1)
    with Session(engine) as s:
        levels = list(
            s.execute(
                select(InventoryLevel).where(InventoryLevel.sku == sku, InventoryLevel.store_code != STORE)
            ).scalars()
        )
        for level in levels:  # every other location has 50 to spare...
            level.on_hand = level.reserved + level.safety_stock + 50
        s.flush()
        warehouse = nearest_source(s, STORE, {sku: 2})  # ...but the one chosen first only 2
        next(lv for lv in levels if lv.store_code == warehouse).on_hand -= 48
        s.flush()
        other = nearest_source(s, STORE, {sku: 2}, exclude=warehouse)
        s.commit()
    key_id = web_shop(engine)
    first = Ticket(key_id, "ship-race-1", body([(sku, 2)], fulfilment="ship_to_store"))
    second = Ticket(key_id, "ship-race-2", body([(sku, 2)], fulfilment="ship_to_store", name="Second Buyer"))
    run(engine, [first, second])
    assert first.created and second.created, (first.error, second.error)
    assert [t.answer["transfers"][0]["from"] for t in (first, second)] == [warehouse, other]


def test_a_key_refused_for_one_body_is_still_free_for_another_in_the_same_batch(engine):
    (a,) = stocked(engine, 1)
    key_id = web_shop(engine)
    wrong = Ticket(key_id, "second-chance", body([(a, 1)], store="ZZZ-99"))
    right = Ticket(key_id, "second-chance", body([(a, 1)]))
    same_wrong = Ticket(key_id, "second-chance", body([(a, 1)], store="ZZZ-99"))
    run(engine, [wrong, same_wrong, right])
    assert wrong.error.error == "order.unknown_store" and same_wrong.error.error == "order.unknown_store"
    assert right.created and right.answer["store"] == STORE


def test_a_failing_poke_does_not_take_the_orders_again(engine):
    (a,) = stocked(engine, 1)

    class BrokenPoker(Poker):
        def poke(self, store: str) -> None:
            raise RuntimeError("the event loop is closed")

    queue = intake(engine, BrokenPoker())
    answer, created = queue.take(web_shop(engine), "poke-fails-1", body([(a, 1)]))
    assert created and answer["status"] == "new" and queue.batches == 1


def test_two_processes_take_one_kiosk_request_once(engine):
    """Kiosk requests have no API key: their key's uniqueness is a partial index of its own. Process B's
    copy waits on process A's uncommitted insert; when A commits, B answers with A's order."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time (BEGIN IMMEDIATE); the race needs PostgreSQL")
    from sqlalchemy import text

    (a,) = stocked(engine, 1)
    other = make_engine(engine.url.render_as_string(hide_password=False))  # a second server process's engine
    key = "kiosk-device-1:tap-0001"
    first = Ticket(None, key, body([(a, 1)], channel="kiosk"))
    outcome: dict = {}
    with UnitOfWork(engine, Settings()) as process_a:
        take_batch(process_a, [first])  # A has written its order, not committed yet
        second = threading.Thread(
            target=lambda: outcome.update(answer=intake(other).take(None, key, body([(a, 1)], channel="kiosk")))
        )
        second.start()

        def b_waits() -> bool:
            # A new transaction each time: PostgreSQL keeps one snapshot of pg_stat_activity per transaction, so a
            # first look taken before B reached the lock would be all a single transaction ever sees.
            with Session(engine) as watch:
                return (
                    watch.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
                    > 0
                )

        wait_until(b_waits)  # B is waiting for A's lock (a deadline, not a timing: it is met at once)
        process_a.commit()
    second.join(30)
    other.dispose()
    answer, created = outcome["answer"]
    assert not created and answer["number"] == first.answer["number"]
    with Session(engine) as s:
        assert (
            s.execute(
                select(func.count()).select_from(CustomerOrder).where(CustomerOrder.idempotency_key == key)
            ).scalar_one()
            == 1
        )
