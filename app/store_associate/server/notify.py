"""Customer e-mail: a persistent outbox (table `notification`) worked off by a sender with retries.

An order step queues a notification in the same transaction as the step, so a message is never sent
for a step that did not happen, and never lost for one that did. The sender builds the message
(per-locale template, and for "ready" the pickup QR code made with segno) and delivers it over SMTP.
"""

from __future__ import annotations

import html
import io
import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from ..config import Settings
from ..domain.carriers import CARRIERS, tracking_url
from ..domain.catalogues import load_catalogue
from ..domain.money import format_money
from .models import Customer, CustomerOrder, Notification, Store
from .periodic import Periodic
from .transfers import transfers_of
from .uow import UnitOfWork

log = logging.getLogger("store_associate.notify")
TEMPLATES = Path(__file__).parent / "templates"
MAX_ATTEMPTS = 8
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache
def _template(locale: str) -> dict[str, str]:
    return load_catalogue(TEMPLATES, locale)


def pickup_qr_png(pickup_code: str) -> bytes:
    """The QR the customer shows at the counter: it reads as the pickup code (PU-XXXXXXXX)."""
    buf = io.BytesIO()
    segno.make_qr(f"PU-{pickup_code}", error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse((locale or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def collect_by(expires: datetime, timezone: str, locale: str) -> str:
    """When a ready order stops waiting, as the customer reads it: in the store's local time (its opening hours
    in the same e-mail are local too), with the hour (a store may keep orders only hours), in their language."""
    try:
        where = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        where = ZoneInfo("UTC")
    local = expires.astimezone(where)
    lang = _babel_locale(locale)
    return (
        str(get_datetime_format("full", locale=lang))
        .replace("{1}", format_date(local, "full", locale=lang))
        .replace("{0}", format_time(local, "short", locale=lang))
    )


def build(session: Session, note: Notification, settings: Settings) -> EmailMessage:
    """The message of a queued notification: from `settings.mail_from`; an order with no expiry yet is given
    its store's window (the chain's `settings.pickup_window_days` for a store without its own)."""
    order = session.get(CustomerOrder, note.order_number)
    customer = session.get(Customer, order.customer_id)
    store = session.get(Store, order.store_code)
    tpl = _template(customer.locale or "en")
    hours = "\n".join(
        f"  {tpl['day.' + d]}: " + (", ".join(f"{a}-{b}" for a, b in store.hours.get(d, [])) or tpl["day.closed"])
        for d in DAYS
    )
    # Set when the order became ready, from the store's pickup window; an order not ready yet would get that window.
    expires = order.expires_at or datetime.now(UTC) + timedelta(hours=store.pickup_hours(settings))
    fields = {
        "name": customer.name,
        "number": order.number,
        "store": store.name,
        "address": store.address,
        "code": f"PU-{order.pickup_code}",
        "hours": hours,
        "expires": collect_by(expires, store.timezone, customer.locale or "en"),
        "parent": order.parent_number or order.number,
        "tracking": _tracking(session, order.number, tpl),
    }
    if note.kind == "line_rejected":
        about = note.detail or {}
        fields["item"] = f"{about.get('qty', '')} \u00d7 {about.get('name', '')}"
        fields["refund"] = format_money(
            str(about.get("amount", "0")), about.get("currency") or order.currency, customer.locale or "en"
        )
    msg = EmailMessage()
    msg["Subject"] = tpl[f"{note.kind}.subject"].format(**fields)
    msg["From"] = settings.mail_from
    msg["To"] = note.to_email
    msg["Message-ID"] = make_msgid(idstring=f"{order.number}.{note.id}")
    msg.set_content(tpl[f"{note.kind}.body"].format(**fields))
    if note.kind in ("ready", "partly_collected", "reminder"):
        cid = make_msgid()
        # Every value is escaped for HTML (the customer's name is whatever the web shop was given); the
        # template's own text is ours. The plain-text part above keeps the values as they are.
        escaped = {k: html.escape(str(v), quote=True) for k, v in fields.items()}
        body = tpl[f"{note.kind}.body"].format(**escaped).replace("\n", "<br>")
        alt = html.escape(f"PU-{order.pickup_code}", quote=True)
        msg.add_alternative(f'<p>{body}</p><p><img src="cid:{cid[1:-1]}" alt="{alt}"></p>', subtype="html")
        msg.get_payload()[1].add_related(
            pickup_qr_png(order.pickup_code),
            maintype="image",
            subtype="png",
            cid=cid,
            filename=f"pickup-{order.number}.png",
        )
    return msg


def _tracking(session: Session, number: str, tpl: dict[str, str]) -> str:
    """The newest shipment of the order, as the customer can follow it."""
    shipped = [t for t in transfers_of(session, number) if t.carrier]
    if not shipped:
        return tpl["tracking.none"]
    t = shipped[-1]
    name = CARRIERS[t.carrier].name if t.carrier in CARRIERS else t.carrier
    return f"{name} {t.tracking}" + (
        f"\n{tracking_url(t.carrier, t.tracking)}" if tracking_url(t.carrier, t.tracking) else ""
    )


SENDER_LOCK = 7_244_501  # PostgreSQL advisory lock: one sending server process at a time


@contextmanager
def _the_only_sender(engine: Engine) -> Iterator[bool]:
    """With several server processes on PostgreSQL, one of them sends a round; the others skip it (no
    message goes out twice). SQLite has one server process."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SENDER_LOCK}).scalar())
        conn.commit()
        try:
            yield mine
        finally:
            if mine:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SENDER_LOCK})
                conn.commit()


def send_pending(engine: Engine, settings: Settings, limit: int = 50, timeout: float = 10.0) -> int:
    """Send what is waiting, through `settings.smtp_host` (unset: nothing is sent, messages wait). Failures stay
    pending (retried next round) until MAX_ATTEMPTS. Returns sent. Messages are built in one short transaction
    and sent outside any: a slow mail server must not hold the database (on SQLite, its one write lock)."""
    if not settings.smtp_host:
        return 0
    host, port = settings.smtp_host, settings.smtp_port
    sent = 0
    # One unit of work, entered per transaction: the building's (read only) and each message's marking. No
    # poker: a notification is nothing a device pulls.
    uow = UnitOfWork(engine, settings)
    with _the_only_sender(engine) as mine:
        if not mine:
            return 0
        with uow:
            session = uow.session
            notes = [
                (n.id, build(session, n, settings))
                for n in session.execute(
                    select(Notification).where(Notification.status == "pending").order_by(Notification.id).limit(limit)
                ).scalars()
            ]
        if not notes:
            return 0
        try:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        except OSError as exc:
            log.warning("SMTP server %s:%s unreachable: %s", host, port, exc.__class__.__name__)
            return 0
        with smtp:
            for note_id, message in notes:
                try:
                    smtp.send_message(message)
                    ok = True
                except (smtplib.SMTPException, OSError) as exc:
                    log.warning("sending notification %s failed: %s", note_id, exc.__class__.__name__)
                    ok = False
                # Marked at once, each in its own short transaction: a message out is never sent again.
                with uow:
                    note = uow.session.get(Notification, note_id)
                    note.attempts += 1
                    if ok:
                        note.status, note.sent_at = "sent", datetime.now(UTC)
                        sent += 1
                    elif note.attempts >= MAX_ATTEMPTS:
                        note.status = "failed"
                    uow.commit()
    return sent


class Sender(Periodic):
    """Works off the outbox every few seconds, in the server process."""

    def __init__(self, engine: Engine, settings: Settings, every: float = 5.0) -> None:
        super().__init__("notify", lambda: send_pending(engine, settings), every)
