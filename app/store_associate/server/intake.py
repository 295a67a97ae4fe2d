"""Order intake (the web shop's POST /orders, and order requests from kiosks and counters), written in
batches: the orders that arrive while one batch is being written form the next one, and a batch is one
transaction with one statement per table (group commit).

Why: at a hundred orders a second the server's time goes into per-statement work (SQLAlchemy, the driver,
a round trip, a commit), not into rows. One order alone costs about fifteen statements; a batch costs about
a dozen, whatever its size. An order's answer waits at most for the batch before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..domain.pickup import LineStatus, OrderStatus
from . import transfers
from .db import writer_turn
from .models import ApiKey, Customer, CustomerOrder, Product, Store, utc
from .orders import order_json, orders_json
from .repositories.orders import NewOrder, event_row, line_row, order_row
from .uow import UnitOfWork

log = logging.getLogger("store_associate.server.intake")


class IntakeError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(eq=False)
class Ticket:
    """One order as it was sent, and what became of it."""

    api_key_id: int | None
    key: str
    body: dict
    digest: str = ""
    answer: dict | None = None  # the order, as the API shows it
    created: bool = False
    error: IntakeError | None = None
    failure: BaseException | None = None  # an unexpected error: the request fails (500), nothing was written
    done: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        self.answer, self.created, self.error, self.failure = None, False, None, None


# Statements built once: on this path, building a statement costs more than running it.
_BY_KEYS = select(CustomerOrder).where(
    CustomerOrder.api_key_id == bindparam("key_id"),
    CustomerOrder.idempotency_key.in_(bindparam("keys", expanding=True)),
)
_BY_KEYS_NO_API_KEY = select(CustomerOrder).where(
    CustomerOrder.api_key_id.is_(None), CustomerOrder.idempotency_key.in_(bindparam("keys", expanding=True))
)
# FOR SHARE: a revocation committed while the batch is written waits for it, or the batch sees it.
_VALID_KEYS = (
    select(ApiKey.id)
    .where(ApiKey.id.in_(bindparam("ids", expanding=True)), ApiKey.revoked_at.is_(None))
    .with_for_update(read=True)
)
_STORE_KINDS = select(Store.code, Store.kind).where(Store.code.in_(bindparam("codes", expanding=True)))
_PRODUCTS = select(Product.sku, Product.name, Product.price, Product.currency, Product.deleted).where(
    Product.sku.in_(bindparam("skus", expanding=True))
)
_NEW_CUSTOMERS = insert(Customer.__table__).returning(Customer.__table__.c.id, sort_by_parameter_order=True)


@dataclass
class _New:
    """A valid new order, before it is written."""

    ticket: Ticket
    products: list  # per line: sku, name, price
    ship: bool  # ship-to-store: the units come by transfer
    ship_from: str | None = None  # the transfer's source, chosen just before it is written


def take_batch(uow: UnitOfWork, tickets: list[Ticket]) -> None:
    """Decide and write every ticket in the unit of work's transaction (the caller commits). Each ticket ends
    with an answer or an IntakeError; a batch-wide failure (a constraint another process raced to) raises."""
    for t in tickets:
        t.reset()
        t.digest = t.digest or request_hash(t.body)
    uow.changes.lock()  # before any row, as every writer does
    _refuse_revoked_keys(uow.session, tickets)
    undecided = _answer_retries(uow.session, [t for t in tickets if t.error is None])
    while undecided:
        # One copy of each key a round; a later copy waits for the first's outcome (see _after_first).
        firsts: dict[tuple[int | None, str], Ticket] = {}
        later: list[Ticket] = []
        for t in undecided:
            if (t.api_key_id, t.key) in firsts:
                later.append(t)
            else:
                firsts[(t.api_key_id, t.key)] = t
        _decide(uow, list(firsts.values()))
        undecided = [t for t in later if not _after_first(t, firsts[(t.api_key_id, t.key)])]


def _decide(uow: UnitOfWork, fresh: list[Ticket]) -> None:
    session = uow.session
    stores = dict(session.execute(_STORE_KINDS, {"codes": list({t.body["store"] for t in fresh})}).all())
    wanted = {ln[k] for t in fresh for ln in t.body["lines"] for k in ("sku", "substitute") if ln.get(k)}
    products = {row.sku: row for row in session.execute(_PRODUCTS, {"skus": list(wanted)})} if wanted else {}
    new: list[_New] = []
    for t in fresh:
        try:
            new.append(_check(t, stores, products))
        except IntakeError as exc:
            t.error = exc
    now = datetime.now(UTC)
    _write(uow, [n for n in new if not n.ship], now)
    for n in (n for n in new if n.ship):
        # The source is chosen now, seeing what this batch has reserved so far; each ship-to-store order gets
        # a savepoint, so that a source another process emptied meanwhile refuses this order alone.
        n.ship_from = transfers.nearest_source(
            session, n.ticket.body["store"], {ln["sku"]: ln["qty"] for ln in n.ticket.body["lines"]}
        )
        if n.ship_from is None:
            n.ticket.error = _no_source()
            continue
        try:
            with session.begin_nested():
                _write(uow, [n], now)
        except transfers.TransferError:
            n.ticket.answer, n.ticket.created = None, False
            n.ticket.error = _no_source()


def _after_first(t: Ticket, first: Ticket) -> bool:
    """Whether a later copy of a key is answered by its first copy's outcome in the batch: the order the
    first made (or a conflict, for another body), or the same refusal for the same body. A different body
    after a refused first copy finds the key unused: it is judged on its own in the next round (False)."""
    if first.answer is not None:
        if first.digest == t.digest:
            t.answer = first.answer
        else:
            t.error = _conflict()
        return True
    if first.digest == t.digest:
        t.error = first.error
        return True
    return False


def _refuse_revoked_keys(session: Session, tickets: list[Ticket]) -> None:
    """The API layer may have let a key through from its cache (access.KnownKeys): whether it is still valid
    is decided here, in the transaction that would write its orders."""
    ids = {t.api_key_id for t in tickets if t.api_key_id is not None}
    if not ids:
        return
    valid = set(session.execute(_VALID_KEYS, {"ids": list(ids)}).scalars())
    for t in tickets:
        if t.api_key_id is not None and t.api_key_id not in valid:
            t.error = IntakeError(
                401, "api_key.invalid", "This API key is not valid. Check the key or ask for a new one."
            )


def _answer_retries(session: Session, tickets: list[Ticket]) -> list[Ticket]:
    """Tickets whose key made an order before are answered with it (or refused when the body differs).
    Returns the tickets to decide."""
    by_api_key: dict[int | None, set[str]] = {}
    for t in tickets:
        by_api_key.setdefault(t.api_key_id, set()).add(t.key)
    existing: dict[tuple[int | None, str], CustomerOrder] = {}
    for key_id, keys in by_api_key.items():
        stmt, params = (
            (_BY_KEYS_NO_API_KEY, {"keys": list(keys)})
            if key_id is None
            else (_BY_KEYS, {"key_id": key_id, "keys": list(keys)})
        )
        existing.update({(o.api_key_id, o.idempotency_key): o for o in session.execute(stmt, params).scalars()})
    answers = dict(
        zip((o.number for o in existing.values()), orders_json(session, list(existing.values())), strict=True)
    )
    undecided = []
    for t in tickets:
        made = existing.get((t.api_key_id, t.key))
        if made is None:
            undecided.append(t)
        elif made.request_hash != t.digest:
            t.error = _conflict()
        else:
            t.answer = answers[made.number]
    return undecided


def _conflict() -> IntakeError:
    return IntakeError(
        409,
        "order.idempotency_conflict",
        "This Idempotency-Key was used for a different order. Use a new key for a new order.",
    )


def _no_source() -> IntakeError:
    return IntakeError(
        409,
        "order.no_source",
        "No warehouse or store has all of these items to ship to this store. Split the order or offer another store.",
    )


def _check(t: Ticket, stores: dict[str, str], products: dict) -> _New:
    body = t.body
    store_code = body["store"]
    if stores.get(store_code) != "store":
        raise IntakeError(422, "order.unknown_store", f"No store can hand over orders with the code {store_code!r}.")
    lines = body["lines"]
    skus = [ln["sku"] for ln in lines]
    if len(set(skus)) != len(skus):
        raise IntakeError(422, "order.duplicate_sku", "Each SKU may appear once; put the quantity on one line.")
    unknown = [s for s in skus if s not in products or products[s].deleted]
    if unknown:
        raise IntakeError(422, "order.unknown_sku", f"These SKUs are not in the catalogue: {', '.join(unknown[:10])}.")
    bad = [
        x
        for x, s in ((ln.get("substitute") or "", ln["sku"]) for ln in lines)
        if x and (x == s or x not in products or products[x].deleted)
    ]
    if bad:
        raise IntakeError(
            422,
            "order.bad_substitute",
            f"These substitutes are not in the catalogue or are the line's own SKU: {', '.join(bad[:10])}.",
        )
    if len({products[s].currency for s in skus}) != 1:
        raise IntakeError(422, "order.mixed_currency", "All lines of an order must be in one currency.")
    return _New(t, [products[s] for s in skus], body.get("fulfilment", "pickup") == "ship_to_store")


def _write(uow: UnitOfWork, new: list[_New], now: datetime) -> None:
    """The orders, their customers, lines, reservations (pickup) or transfers (ship-to-store) and first
    events, one statement per table."""
    if not new:
        return
    customers = [
        {
            "name": c["name"],
            "email": c["email"],
            "phone": c.get("phone", ""),
            "locale": c.get("locale", "en"),
            "created_at": now,
        }
        for c in (n.ticket.body["customer"] for n in new)
    ]
    ids = uow.session.execute(_NEW_CUSTOMERS, customers).scalars().all()
    made = []
    for n, customer, customer_id in zip(new, customers, ids, strict=True):
        body, t = n.ticket.body, n.ticket
        customer["id"] = customer_id
        ship = n.ship
        channel = body.get("channel", "web")
        status = LineStatus.IN_TRANSIT if ship else LineStatus.OPEN
        made.append(
            NewOrder(
                order_row(
                    store=body["store"],
                    channel=channel,
                    fulfilment="ship_to_store" if ship else "pickup",
                    status=(OrderStatus.AWAITING_TRANSFER if ship else OrderStatus.NEW).value,
                    customer_id=customer_id,
                    currency=n.products[0].currency,
                    total=sum(
                        (p.price * ln["qty"] for p, ln in zip(n.products, body["lines"], strict=True)), Decimal("0")
                    ),
                    promised_at=_promised(body.get("promised_at"), now),
                    now=now,
                    id_check=bool(body.get("id_check", False)),
                    api_key_id=t.api_key_id,
                    idempotency_key=t.key,
                    request_hash=t.digest,
                ),
                [
                    line_row(p.sku, p.name, ln["qty"], p.price, ln.get("substitute") or "", status)
                    for p, ln in zip(n.products, body["lines"], strict=True)
                ],
                event_row("intake", {"channel": channel, **({"ship_from": n.ship_from} if ship else {})}, now),
                reserve=not ship,
            )
        )
    uow.orders.create(made)
    for n, m in zip(new, made, strict=True):
        if n.ship:
            transfers.request(
                uow,
                SimpleNamespace(**m.order),
                n.ship_from,
                [{"line_no": r["line_no"], "sku": r["sku"], "qty": r["qty"]} for r in m.lines],
            )
    for store in {m.order["store_code"] for m in made}:
        uow.poke(store)  # the store's devices show the new orders within seconds
    for n, m, customer in zip(new, made, customers, strict=True):
        order = SimpleNamespace(**m.order)
        if not n.ship:  # answered from memory; a ship-to-store order is read back for its transfer
            n.ticket.answer = order_json(order, [SimpleNamespace(**r) for r in m.lines], SimpleNamespace(**customer))
        else:
            n.ticket.answer = orders_json(uow.session, [order])[0]
        n.ticket.created = True


def _promised(value: str | datetime | None, now: datetime) -> datetime:
    if value is None:
        return now + timedelta(hours=2)  # the web shop's usual promise when it sends none
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    # In UTC: SQLite's DateTime keeps the wall time and drops the offset (the API sends UTC already).
    return utc(when)


class IntakeQueue:
    """Group commit for one server process: one batch is written at a time; the orders that arrive meanwhile
    wait and form the next batch, written by whichever of their request threads gets the turn first, in the
    queue's unit of work (one batch at a time: the turn is the writer lock's)."""

    def __init__(self, uow: UnitOfWork, max_batch: int = 64, wait_s: float = 30.0) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._wait_s = wait_s
        self._waiting: list[Ticket] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()
        self.batches = 0  # written so far; for tests and benchmarks
        self.orders = 0

    def take(self, api_key_id: int | None, key: str, body: dict) -> tuple[dict, bool]:
        """The order's answer and whether it was created now (False: a retry of an order made before).
        Raises IntakeError for an order that cannot be taken."""
        ticket = Ticket(api_key_id, key, body, request_hash(body))
        with self._queue_lock:
            self._waiting.append(ticket)
        deadline = time.monotonic() + self._wait_s
        while not ticket.done.is_set():
            if self._writer.acquire(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    if not ticket.done.is_set():
                        self._write_next()
                finally:
                    self._writer.release()
                continue
            with self._queue_lock:
                if ticket in self._waiting:  # never taken: nothing of it was written
                    self._waiting.remove(ticket)
                    raise _busy()
            if not ticket.done.wait(self._wait_s):  # in a batch still being written
                raise _busy()
        if ticket.failure is not None:
            raise ticket.failure
        if ticket.error is not None:
            raise ticket.error
        assert ticket.answer is not None
        return ticket.answer, ticket.created

    def _write_next(self) -> None:
        with self._queue_lock:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
        try:
            with writer_turn(self._uow.engine):
                self._write(batch)
        finally:
            for t in batch:
                t.done.set()

    def _write(self, batch: list[Ticket]) -> None:
        try:
            self._commit(batch)
        except Exception as exc:  # noqa: BLE001 - isolated below
            if len(batch) == 1:
                log.exception("order intake failed", exc_info=exc)
                batch[0].reset()
                batch[0].failure = exc
                return
            # One bad order must not fail the others: each is taken alone.
            for t in batch:
                self._write([t])

    def _commit(self, batch: list[Ticket]) -> None:
        for attempt in range(2):
            with self._uow as uow:
                try:
                    take_batch(uow, batch)
                    uow.commit()  # (and the stores' devices are poked)
                except IntegrityError:
                    # Another process took one of these keys a moment ago, or an order number was taken
                    # meanwhile: taken again, that order is now a retry (or gets a new number).
                    uow.rollback()
                    if attempt:
                        raise
                    continue
            self.batches += 1
            self.orders += sum(t.created for t in batch)
            return
        raise AssertionError("unreachable")  # pragma: no cover


def _busy() -> IntakeError:
    return IntakeError(
        503,
        "order.busy",
        "The server is taking too many orders at once. Send the order again "
        "with the same Idempotency-Key in a few seconds; it will not be taken twice.",
    )
