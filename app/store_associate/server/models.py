"""Server tables (SQLModel). Alembic migrations in server/migrations mirror these.

Syncable rows carry `version`: a number from one chain-wide counter (`SyncCounter`), bumped in the
same transaction as the change. A device's pull cursor is the highest version it has seen, so the
rows themselves are the change log (no second copy of every row), and deletions are tombstones
(`deleted=True`) so that devices learn of them.

Long because: the tables of the first areas (catalogue, stock, access, sync, orders, sales) and the column
types they share, in the one module every migration is compared with; later areas have their own modules
(money_models.py, returns/models.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Numeric, String, TypeDecorator, UniqueConstraint, text
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from ..config import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(t: datetime) -> datetime:
    """The same instant in UTC. A naive time is UTC: devices send them so, and SQLite stores them so.
    (OverflowError for a time with no UTC equivalent: year 1 west of UTC.)"""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def as_utc(t: datetime) -> datetime | None:
    """A time a device sent, in UTC; None when it has none (year 1 west of UTC: no clock that far off is
    worth believing)."""
    try:
        return utc(t)
    except OverflowError:
        return None


_UTC_ZONES = frozenset({UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC")})


class UTCDateTime(TypeDecorator):
    """The type of every time column here: a timestamp with time zone, read back aware and in UTC on both
    databases, so that nothing read from a column needs converting. SQLite keeps no offset: an aware time is
    written as UTC (not as its local wall clock) and read back as UTC; PostgreSQL answers in the session's
    time zone, converted to UTC unless it is UTC already. The DDL is DateTime(timezone=True)'s: no migration
    tells them apart."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        # A naive time is UTC by this schema's rule: made aware, or PostgreSQL would read it in the session's
        # time zone. (A batch's rows share one time object, and repositories/bulk.executemany converts it once.)
        return value if value is None or value.tzinfo is UTC else utc(value)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        # In place of process_result_value: a pull reads tens of thousands of these, and the general way
        # (parse, then datetime.replace or astimezone, through two more calls) costs several times as much.
        parse = datetime.fromisoformat
        if dialect.name == "sqlite":

            def from_text(value: str | None) -> datetime | None:
                if value is None:
                    return None
                try:
                    t = parse(value + "+00:00")  # the text this type writes: UTC without an offset
                except ValueError:  # text with an offset of its own
                    t = parse(value)
                return t if t.tzinfo is UTC else utc(t)  # (a bare date takes no offset: it comes back naive)

            return from_text
        impl = self.impl_instance.result_processor(dialect, coltype)

        # A session in UTC gives UTC in one of its names: kept as it is, converting is the costly part.
        def in_utc(value: datetime | None) -> datetime | None:
            return value if value is None or value.tzinfo in _UTC_ZONES else utc(value)

        if impl is None:  # psycopg's own datetimes
            return in_utc
        return lambda value: in_utc(impl(value))


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, **kw))


class Store(SQLModel, table=True):
    __tablename__ = "store"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=120)
    kind: str = Field(default="store", max_length=16)  # store | warehouse
    address: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=80)
    country: str = Field(default="", max_length=2)
    latitude: float
    longitude: float
    timezone: str = Field(max_length=64)
    hours: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    phone: str = Field(default="", max_length=40)
    # How long a ready pickup order waits here before it expires as a no-show, in whole hours (1 hour to 60
    # days); None: the chain's setting (PICKUP_WINDOW_DAYS). Read when an order becomes ready: the date the
    # customer was given stays, whatever the store sets later.
    pickup_window_hours: int | None = Field(default=None)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))

    def pickup_hours(self, settings: Settings) -> float:
        """Hours a ready pickup order waits here: the store's own window, else the chain's setting."""
        return pickup_hours(self.pickup_window_hours, settings.pickup_window_days)


PICKUP_WINDOW_HOURS = (1, 60 * 24)  # the range a store's pickup window may be set to


def pickup_hours(store_hours: int | None, default_days: float) -> float:
    """A store's pickup window in hours: its own (`Store.pickup_window_hours`), else the chain's default."""
    return float(store_hours) if store_hours is not None else default_days * 24


class Product(SQLModel, table=True):
    __tablename__ = "product"
    sku: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200, index=True)
    brand: str = Field(default="", max_length=80, index=True)
    description: str = Field(default="", max_length=2000)
    category: str = Field(default="", max_length=80, index=True)
    price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(default="EUR", max_length=3)
    image: str = Field(default="", max_length=300)
    attributes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deleted: bool = False
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))


class Barcode(SQLModel, table=True):
    """A code printed on or for a product. GTINs are stored as GTIN-14."""

    __tablename__ = "barcode"
    code: str = Field(primary_key=True, max_length=64)
    sku: str = Field(foreign_key="product.sku", index=True, max_length=32)
    kind: str = Field(default="gtin", max_length=16)  # gtin | plu | internal
    pack_qty: int = 1
    deleted: bool = False
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))


class InventoryLevel(SQLModel, table=True):
    __tablename__ = "inventory_level"
    __table_args__ = (
        # Covering: availability of one SKU across 1,000 locations reads the index alone.
        Index(
            "ix_inventory_sku_cover", "sku", "store_code", "on_hand", "reserved", "safety_stock", "incoming", "damaged"
        ),
        Index("ix_inventory_store_version", "store_code", "version"),
    )
    store_code: str = Field(foreign_key="store.code", primary_key=True, max_length=16)
    sku: str = Field(foreign_key="product.sku", primary_key=True, max_length=32)
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0
    damaged: int = 0
    location: str = Field(default="", max_length=16)  # where it is on the floor (aisle-bay), for picking walks
    updated_at: datetime = _ts()
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class InventoryMovement(SQLModel, table=True):
    """The stock ledger: every change to a level is a row here, never an overwrite."""

    __tablename__ = "inventory_movement"
    __table_args__ = (
        # A mutation books each SKU once: a replay that got past the idempotency check would fail here.
        UniqueConstraint("device_id", "mutation_id", "sku", "field", name="uq_movement_mutation"),
    )
    id: int | None = Field(default=None, primary_key=True)
    store_code: str = Field(foreign_key="store.code", max_length=16, index=True)
    sku: str = Field(max_length=32, index=True)
    field_name: str = Field(default="on_hand", sa_column=Column("field", String(16), nullable=False))
    delta: int
    reason: str = Field(max_length=32)  # seed | count | adjust | pick | receive | return | ...
    reference: str = Field(default="", max_length=64)
    device_id: str | None = Field(default=None, max_length=64)
    mutation_id: int | None = None
    created_at: datetime = _ts()


class SyncCounter(SQLModel, table=True):
    """One row: the chain-wide version counter. Updating it serialises version assignment so
    that versions become visible in commit order (a reader never skips a lower version that
    commits later)."""

    __tablename__ = "sync_counter"
    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


# --- people, devices and access -----------------------------------------------------------------


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    id: int | None = Field(default=None, primary_key=True)
    staff_number: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=16)  # associate | manager | admin
    store_code: str | None = Field(default=None, foreign_key="store.code", max_length=16, index=True)
    pin_hash: str = Field(max_length=200)
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    active: bool = True
    created_at: datetime = _ts()


class Device(SQLModel, table=True):
    __tablename__ = "device"
    id: str = Field(primary_key=True, max_length=32)
    store_code: str = Field(foreign_key="store.code", max_length=16, index=True)
    kind: str = Field(max_length=16)  # tablet | desktop | kiosk
    name: str = Field(default="", max_length=80)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    enrolled_at: datetime = _ts()
    enrolled_by: int | None = Field(default=None, foreign_key="staff.id")
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_by: int | None = Field(default=None, foreign_key="staff.id")
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    failed_signins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class EnrolmentCode(SQLModel, table=True):
    __tablename__ = "enrolment_code"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    store_code: str = Field(foreign_key="store.code", max_length=16)
    kind: str = Field(max_length=16)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    device_id: str | None = Field(default=None, max_length=32)
    # The enrolment id the device sent when it used the code (hashed like every secret here) and the highest
    # attempt number answered: a device whose answer was lost retries with the same id and a higher number
    # (see access.enrol).
    enrolment_id_hash: str | None = Field(default=None, max_length=64)
    enrolment_attempt: int | None = None


class StaffSession(SQLModel, table=True):
    __tablename__ = "staff_session"
    # A push looks up who signed in on the device (server/actors.py): a person's sign-ins there, by time.
    __table_args__ = (Index("ix_staff_session_device_staff_created", "device_id", "staff_id", "created_at"),)
    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=32)
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApiKey(SQLModel, table=True):
    """Keys for systems, not people: the web shop's order intake, a store's tills (their sales)."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    role: str = Field(max_length=16)  # web_shop | till
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = _ts()
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # A till's key belongs to one store and posts that store's sales only (None: a chain-wide system's key).
    store_code: str | None = Field(default=None, foreign_key="store.code", max_length=16)


class AuditLog(SQLModel, table=True):
    """Who did what to access and overrides. Never holds a PIN, token or code."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    action: str = Field(max_length=40, index=True)  # sign_in, sign_in_failed, enrol, revoke, override, ...
    outcome: str = Field(default="ok", max_length=16)
    staff_id: int | None = Field(default=None)
    staff_number: str | None = Field(default=None, max_length=16)
    device_id: str | None = Field(default=None, max_length=32)
    store_code: str | None = Field(default=None, max_length=16, index=True)
    target: str = Field(default="", max_length=80)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: str = Field(default="", max_length=64)


# --- sync ---------------------------------------------------------------------------------------


class DeviceSyncState(SQLModel, table=True):
    """Per device: the last mutation applied (idempotency), and what it last told us."""

    __tablename__ = "device_sync_state"
    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=32)
    last_applied: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_push_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_pull_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    pending: int = 0  # as the device reported it
    oldest_pending_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class MutationLog(SQLModel, table=True):
    """Every mutation a device sent, with what became of it. Replays get the same answer from here."""

    __tablename__ = "mutation_log"
    __table_args__ = (UniqueConstraint("device_id", "mutation_id", name="uq_mutation_device_id"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=32, index=True)
    mutation_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    store_code: str = Field(max_length=16, index=True)
    name: str = Field(max_length=40)
    version: int = 1
    args: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    staff_number: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)  # applied | rejected
    reason: str = Field(default="", max_length=60)
    detail: str = Field(default="", max_length=200)
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    applied_at: datetime = _ts()


class QuarantinedPush(SQLModel, table=True):
    """What a revoked device still tried to send: kept for a manager to review, never applied."""

    __tablename__ = "quarantined_push"
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=32, index=True)
    store_code: str = Field(max_length=16, index=True)
    received_at: datetime = _ts()
    body: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- orders ----------------------------------------------------------------------------------------


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    email: str = Field(max_length=254, index=True)
    phone: str = Field(default="", max_length=40, index=True)  # a return without a receipt finds them by phone
    locale: str = Field(default="en", max_length=16)
    created_at: datetime = _ts()
    # The loyalty card's number (the 10 digits of its LY- code): the one way a till names a known customer.
    loyalty_id: str | None = Field(default=None, max_length=16, unique=True, index=True)


class CustomerOrder(SQLModel, table=True):
    """A customer's order to collect at a store (buy online, pick up in store)."""

    __tablename__ = "customer_order"
    __table_args__ = (
        Index("ix_order_store_version", "store_code", "version"),
        UniqueConstraint("api_key_id", "idempotency_key", name="uq_order_idempotency"),
        # The constraint above lets NULL API keys repeat: kiosk and counter requests need their own.
        Index(
            "uq_order_idempotency_no_api_key",
            "idempotency_key",
            unique=True,
            sqlite_where=text("api_key_id IS NULL"),
            postgresql_where=text("api_key_id IS NULL"),
        ),
    )
    number: str = Field(primary_key=True, max_length=20)
    store_code: str = Field(foreign_key="store.code", max_length=16, index=True)
    channel: str = Field(default="web", max_length=16)  # web | kiosk
    fulfilment: str = Field(default="pickup", max_length=16)  # pickup | ship_to_store
    status: str = Field(max_length=24, index=True)
    customer_id: int = Field(foreign_key="customer.id")
    pickup_code: str = Field(max_length=16, unique=True)
    bin: str = Field(default="", max_length=32)
    id_check: bool = False
    currency: str = Field(default="USD", max_length=3)
    total: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    promised_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    idempotency_key: str | None = Field(default=None, max_length=80)
    request_hash: str = Field(default="", max_length=64)
    picker: str = Field(default="", max_length=16)
    parent_number: str = Field(default="", max_length=20)  # the order a re-routed line came from
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    id: int | None = Field(default=None, primary_key=True)
    order_number: str = Field(foreign_key="customer_order.number", max_length=20, index=True)
    line_no: int
    sku: str = Field(foreign_key="product.sku", max_length=32)
    name: str = Field(max_length=200)
    qty: int
    picked: int = 0
    status: str = Field(default="open", max_length=16)
    reason: str = Field(default="", max_length=32)
    unit_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    substitute_sku: str = Field(default="", max_length=32)  # what the customer accepts instead
    location: str = Field(default="", max_length=16)  # where to find it in the store, at intake


class OrderEvent(SQLModel, table=True):
    """The audit trail of an order: who did what, when, from which device.

    `at` is when the person did it (a device's step: the time it was done, offline perhaps, as the device's
    clock had it, never later than the server's time); `recorded_at` is when the server wrote it down."""

    __tablename__ = "order_event"
    id: int | None = Field(default=None, primary_key=True)
    order_number: str = Field(max_length=20, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime | None = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), default=utcnow))
    action: str = Field(max_length=32)
    staff_number: str | None = Field(default=None, max_length=16)
    device_id: str | None = Field(default=None, max_length=32)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Notification(SQLModel, table=True):
    """Customer messages waiting to be sent (the SMTP sender works through this outbox)."""

    __tablename__ = "notification"
    id: int | None = Field(default=None, primary_key=True)
    order_number: str = Field(max_length=20, index=True)
    kind: str = Field(max_length=24)  # ready | completed | rejected | expired | cancelled | partly_collected | ...
    to_email: str = Field(max_length=254)
    # What the message is about beyond the order, fixed when queued (line_rejected: the line and its refund).
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default=text("'{}'")))
    status: str = Field(default="pending", max_length=16, index=True)  # pending | sent | failed
    attempts: int = 0
    created_at: datetime = _ts()
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Transfer(SQLModel, table=True):
    """Stock on its way to a store for an order (ship-to-store): requested, shipped with a carrier and a
    tracking number, then received at the store by scanning."""

    __tablename__ = "transfer"
    id: int | None = Field(default=None, primary_key=True)
    order_number: str = Field(max_length=20, index=True)
    from_location: str = Field(foreign_key="store.code", max_length=16, index=True)
    to_store: str = Field(foreign_key="store.code", max_length=16, index=True)
    status: str = Field(default="requested", max_length=16)  # requested | shipped | received | cancelled
    lines: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [{line_no, sku, qty}]
    carrier: str = Field(default="", max_length=16)
    tracking: str = Field(default="", max_length=40)
    created_at: datetime = _ts()
    shipped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    received_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# --- sales -----------------------------------------------------------------------------------------


class Sale(SQLModel, table=True):
    """A sale to return against: one a till posted (POST /api/v1/sales), or a web order's collection (channel
    web, receipt = the order number; see server/sales.py). Written once; later changes (returns) are to its
    lines' `returned` and its tenders' `refunded`, each with a new version. Money is Decimal, 2 places."""

    __tablename__ = "sale"
    __table_args__ = (
        Index("ix_sale_store_sold_at", "store_code", "sold_at"),
        Index("ix_sale_store_version", "store_code", "version"),
    )
    receipt: str = Field(primary_key=True, max_length=32)
    store_code: str = Field(foreign_key="store.code", max_length=16, index=True)
    channel: str = Field(default="till", max_length=16)  # till | web
    order_number: str = Field(default="", max_length=20, index=True)  # the web order; "" for a till's sale
    till: str = Field(default="", max_length=8)
    sold_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    currency: str = Field(max_length=3)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    subtotal: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    tax: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    total: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    gift_code: str | None = Field(default=None, max_length=16, unique=True, index=True)  # GR-..., a gift receipt
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    request_hash: str = Field(default="", max_length=64)  # the body's digest: a retry vs another sale
    created_at: datetime = _ts()
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class SaleLine(SQLModel, table=True):
    __tablename__ = "sale_line"
    __table_args__ = (UniqueConstraint("receipt", "line_no", name="uq_sale_line_no"),)
    id: int | None = Field(default=None, primary_key=True)
    receipt: str = Field(foreign_key="sale.receipt", max_length=32, index=True)
    line_no: int
    sku: str = Field(foreign_key="product.sku", max_length=32, index=True)
    name: str = Field(max_length=200)
    category: str = Field(default="", max_length=80)
    qty: int
    unit_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))  # paid per unit, before tax
    tax: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))  # the line's tax, all units
    serial: str = Field(default="", max_length=40, index=True)  # "" = none
    final_sale: bool = False
    returned: int = 0  # units returned so far (returns maintain it)


class SaleTender(SQLModel, table=True):
    __tablename__ = "sale_tender"
    id: int | None = Field(default=None, primary_key=True)
    receipt: str = Field(foreign_key="sale.receipt", max_length=32, index=True)
    seq: int
    kind: str = Field(max_length=16)  # card | cash | gift_card | store_credit
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    card_last4: str = Field(default="", max_length=4)
    reference: str = Field(default="", max_length=64)  # the payment's reference, or the GC-/SC- code
    refunded: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(12, 2), nullable=False))
