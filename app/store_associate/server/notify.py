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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
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
from ..domain.commands import without_controls
from ..domain.money import format_money
from .models import Customer, CustomerOrder, Notification, Store
from .periodic import Periodic
from .transfers import transfers_of
from .uow import UnitOfWork

log = logging.getLogger("store_associate.notify")
TEMPLATES = Path(__file__).parent / "templates"
I18N = Path(__file__).resolve().parents[2] / "assets" / "i18n"  # the app's texts: a return receipt's (mail.return_*)
MAX_ATTEMPTS = 8
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache
def _template(locale: str) -> dict[str, str]:
    return load_catalogue(TEMPLATES, locale)


def pickup_qr_png(pickup_code: str) -> bytes:
    """The QR the customer shows at the counter: it reads as the pickup code (PU-XXXXXXXX)."""
    return qr_png(f"PU-{pickup_code}")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as a PNG, as the e-mails embed it (a counter's scanner reads it as typed text)."""
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=8, border=4)
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
    if note.kind in NOT_ABOUT_AN_ORDER:  # (their notes carry what the message says in their detail)
        return NOT_ABOUT_AN_ORDER[note.kind](session, note, settings)
    if note.kind == "return_receipt":
        return return_receipt(session, note, settings)
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


def _store_credit(_session: Session, note: Notification, settings: Settings) -> EmailMessage:
    """Store credit issued to the customer (balances.queue_store_credit_mail): its SC- code as text and as a QR
    the counter scans to pay with it, the amount in the customer's language."""
    about = note.detail or {}
    locale = about.get("locale") or "en"
    tpl = _template(locale)
    code = str(about.get("code", ""))
    fields = {
        "name": about.get("name", ""),
        "code": code,
        "amount": format_money(str(about.get("amount", "0")), about.get("currency", ""), locale),
    }
    msg = EmailMessage()
    msg["Subject"] = tpl["store_credit.subject"].format(**fields)
    msg["From"] = settings.mail_from
    msg["To"] = note.to_email
    msg["Message-ID"] = make_msgid(idstring=f"{code}.{note.id}")
    msg.set_content(tpl["store_credit.body"].format(**fields))
    _add_qr(msg, tpl["store_credit.body"], fields, code, f"store-credit-{code}.png")
    return msg


def _add_qr(msg: EmailMessage, body: str, fields: dict[str, object], text: str, filename: str) -> None:
    """An HTML part of `body` (a template, filled with `fields` escaped for HTML) with the QR of `text` under it."""
    cid = make_msgid()
    escaped = {k: html.escape(str(v), quote=True) for k, v in fields.items()}
    markup = body.format(**escaped).replace("\n", "<br>")
    alt = html.escape(text, quote=True)
    msg.add_alternative(f'<p>{markup}</p><p><img src="cid:{cid[1:-1]}" alt="{alt}"></p>', subtype="html")
    msg.get_payload()[1].add_related(qr_png(text), maintype="image", subtype="png", cid=cid, filename=filename)


# Messages about no order (order_number ""): kind -> the builder of its message.
NOT_ABOUT_AN_ORDER: dict[str, Callable[[Session, Notification, Settings], EmailMessage]] = {
    "store_credit": _store_credit,
}


def return_receipt(session: Session, note: Notification, settings: Settings) -> EmailMessage:
    """A return's receipt (server/returns/refund.py queues it, its `detail` fixed then): what was refunded and how,
    and a new store-credit code with its QR code. A gift receipt's return says the code, not the amount."""
    about = note.detail or {}
    locale = str(about.get("locale") or "en")
    texts = load_catalogue(I18N, locale)
    currency = str(about.get("currency") or "")
    store = session.get(Store, str(about.get("store") or ""))
    code = about.get("store_credit")
    parts = about.get("parts") or []
    credit = sum((Decimal(p["amount"]) for p in parts if p.get("destination") == "new_store_credit"), Decimal(0))
    back = sum((Decimal(p["amount"]) for p in parts), Decimal(0)) - credit
    said = []
    if back or not code:
        said.append(texts["mail.return_receipt.refund"].format(amount=format_money(back, currency, locale)))
    if code:
        key = "mail.return_receipt.credit_hidden" if about.get("amounts_hidden") else "mail.return_receipt.credit"
        said.append(texts[key].format(amount=format_money(credit, currency, locale), code=code))
    number = str(about.get("return") or note.order_number)
    fields = {
        "name": without_controls(str(about.get("name") or "")),
        "number": number,
        "store": store.name if store else "",
        "refund": "\n".join(said),
    }
    msg = EmailMessage()
    msg["Subject"] = texts["mail.return_receipt.subject"].format(**fields)
    msg["From"] = settings.mail_from
    msg["To"] = note.to_email
    msg["Message-ID"] = make_msgid(idstring=f"{number}.{note.id}")
    msg.set_content(texts["mail.return_receipt.body"].format(**fields))
    if code:  # the code as a QR code too, to scan at the till
        cid = make_msgid()
        escaped = {k: html.escape(str(v), quote=True) for k, v in fields.items()}
        body = texts["mail.return_receipt.body"].format(**escaped).replace("\n", "<br>")
        alt = html.escape(str(code), quote=True)
        msg.add_alternative(f'<p>{body}</p><p><img src="cid:{cid[1:-1]}" alt="{alt}"></p>', subtype="html")
        qr = io.BytesIO()
        segno.make_qr(str(code), error="m").save(qr, kind="png", scale=8, border=4)
        msg.get_payload()[1].add_related(
            qr.getvalue(), maintype="image", subtype="png", cid=cid, filename=f"store-credit-{number}.png"
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
