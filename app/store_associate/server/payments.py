"""The payments adapter: card refunds leave through a persistent outbox (table `payment_request`), like e-mail.

A refund is queued in the transaction that decided it (`queue_card_refund`, in the caller's unit of work): it
leaves only once that commits, and is never lost once it has. `PaymentSender`, a background job of the server
process, posts each due request as JSON to `settings.payments_url`:

    POST <payments_url>
    Content-Type: application/json
    Idempotency-Key: <the request's key, the same on every attempt>
    X-Signature-Timestamp: <unix seconds when this attempt was signed>
    X-Signature: sha256=<hex HMAC-SHA256, key settings.payments_secret, of "<timestamp>." + the body's bytes>

    {"amount": "12.50", "created_at": "...", "currency": "USD", "idempotency_key": "...",
     "payment_reference": "pi_123", "reference": "R-...", "type": "refund"}

The body is fixed when the refund is queued, so every attempt posts the same bytes under the same key and the
provider books it once. The timestamp is signed with it, so a receiver refuses a captured request played again
later (`verify_signature` is the receiver's check). The answer:

- 2xx: sent; the provider's reference is read from its JSON answer ("reference", else "id").
- 5xx, 408, 425, 429, or no answer (network error, timeout): tried again after a wait that doubles from
  `payments_retry_seconds` up to `payments_retry_max_seconds` (a Retry-After in seconds is honoured), until
  `payments_max_attempts`; then failed.
- any other status: failed at once, with the answer as the reason. Managers see failed requests
  (GET /api/v1/payments/failed) and settle them with the customer by hand.

Never two posts of one request at once, with several server processes: a sender claims a request with a
conditional UPDATE that moves its next_attempt_at forward (a lease) where it is still due; one sender's UPDATE
matches, any other's matches nothing (PostgreSQL re-reads the row after the first commits; SQLite has one
writer). The post happens after the claim commits, outside any transaction. A sender that dies mid-post leaves
the request to be claimed again when its lease ends, and posted again under the same Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from ..config import Settings
from ..domain.refunds import round_money
from .db import read_only, writer_turn
from .models import utcnow
from .money_models import PaymentRequest
from .periodic import Periodic
from .uow import UnitOfWork

log = logging.getLogger("store_associate.payments")

RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx: the provider may well take it later
SIGNATURE_TOLERANCE_S = 300  # how old a signed timestamp a receiver accepts
MAX_AMOUNT = Decimal("9999999999.99")  # what Numeric(12, 2) holds
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]{1,80}$")  # an Idempotency-Key goes out as a header: visible ASCII
_REFERENCE = re.compile(r"^[\x21-\x7e]{1,64}$")


class PaymentError(Exception):
    """A refund that cannot be queued: `error` a stable key, `message` what to do, `status` for a route."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def queue_card_refund(
    uow: UnitOfWork,
    tender_reference: str,
    amount: Decimal,
    currency: str,
    idempotency_key: str,
    reference: str,
    *,
    store_code: str | None = None,
) -> PaymentRequest:
    """Queue a refund of `amount` to the card payment `tender_reference`, in the caller's transaction: it is sent
    after the caller commits, never before, and not at all if it rolls back. `idempotency_key` names this refund
    for good (the provider's Idempotency-Key; e.g. the return number and the tender's seq): the same key again
    returns the request queued the first time, if it is the same refund, and is a 409 PaymentError otherwise.
    `reference` is ours (the return number); `store_code`, where it was decided, lets that store's managers see
    it if it fails. Wake the app's sender after the commit (app.state.payment_sender) to send it at once."""
    if not isinstance(idempotency_key, str) or not _HEADER_SAFE.fullmatch(idempotency_key):
        raise ValueError(f"an idempotency key is 1 to 80 visible ASCII characters, not {idempotency_key!r}")
    if not isinstance(tender_reference, str) or not _REFERENCE.fullmatch(tender_reference):
        raise PaymentError(
            422,
            "payment.bad_reference",
            "The card payment has no usable reference (1 to 64 visible ASCII characters). Refund it at the till "
            "by hand.",
        )
    if len(reference) > 32 or not reference.isprintable():
        raise ValueError(f"a refund's own reference is at most 32 printable characters, not {reference!r}")
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise PaymentError(422, "payment.bad_currency", f"{currency!r} is not a currency code (ISO 4217, e.g. USD).")
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise PaymentError(422, "payment.bad_amount", f"{amount!r} is not an amount of money (a Decimal).")
    rounded = round_money(amount, currency)
    if rounded <= 0 or rounded > MAX_AMOUNT or rounded != amount:
        raise PaymentError(
            422,
            "payment.bad_amount",
            f"{amount} {currency} cannot be refunded to a card: an amount is above zero, at most {MAX_AMOUNT}, with "
            "no more decimals than the currency has.",
        )
    session = uow.session
    found = session.execute(
        select(PaymentRequest).where(PaymentRequest.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if found is not None:
        if (found.tender_reference, found.amount, found.currency) != (tender_reference, rounded, currency):
            raise PaymentError(
                409,
                "payment.conflict",
                f"The refund {idempotency_key} was queued already for another payment or amount. One key names "
                "one refund: use a new key for another one.",
            )
        return found
    now = utcnow()
    request = PaymentRequest(
        kind="refund",
        idempotency_key=idempotency_key,
        tender_reference=tender_reference,
        amount=rounded,
        currency=currency,
        reference=reference,
        store_code=store_code,
        body={
            "type": "refund",
            "idempotency_key": idempotency_key,
            "payment_reference": tender_reference,
            "amount": str(rounded),
            "currency": currency,
            "reference": reference,
            "created_at": now.isoformat(),
        },
        next_attempt_at=now,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def failed(session: Session, store_code: str | None, limit: int = 100) -> list[PaymentRequest]:
    """Failed requests, newest first: of one store, or of the whole chain (None)."""
    q = select(PaymentRequest).where(PaymentRequest.status == "failed")
    if store_code is not None:
        q = q.where(PaymentRequest.store_code == store_code)
    return list(session.execute(q.order_by(PaymentRequest.id.desc()).limit(limit)).scalars())


# --- signing --------------------------------------------------------------------------------------------


def body_bytes(body: dict) -> bytes:
    """The bytes posted (and signed): the stored body, keys sorted, no spaces; the same on every attempt."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Signature's value: sha256= and the hex HMAC-SHA256 of "<timestamp>." + body under the shared secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """The receiver's check: the signature is the secret's over this timestamp and body, and the timestamp is
    within `tolerance` seconds of `now` (a request captured and played again later is refused)."""
    try:
        signed_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - signed_at) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


# --- sending --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    attempt: int  # this attempt's number: the request's attempts once claimed
    key: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: Literal["sent", "retry", "failed"]
    detail: str = ""  # the provider's reference (sent), or what went wrong
    retry_after: float | None = None


_said: set[str] = set()
_said_lock = threading.Lock()


def _say_once(key: str, message: str) -> None:
    with _said_lock:
        if key in _said:
            return
        _said.add(key)
    log.warning(message)


def explain_unconfigured(settings: Settings) -> str | None:
    """Why card refunds will not leave with these settings, or None when they will."""
    if not settings.payments_url:
        return "STORE_ASSOCIATE_PAYMENTS_URL is not set: card refunds stay queued in the database until it is."
    if not settings.payments_secret.get_secret_value():
        return "STORE_ASSOCIATE_PAYMENTS_SECRET is not set: card refunds stay queued (nothing is sent unsigned)."
    return None


def lease(settings: Settings) -> timedelta:
    """How long a claimed request is left to its sender: longer than one post can take (httpx's timeout applies
    to connecting, writing, waiting and reading each)."""
    return timedelta(seconds=settings.payments_timeout_seconds * 4 + 60)


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: doubling from payments_retry_seconds, capped."""
    return min(settings.payments_retry_seconds * 2 ** max(attempts - 1, 0), settings.payments_retry_max_seconds)


def send_due(engine: Engine, settings: Settings, *, limit: int = 20, now: datetime | None = None) -> int:
    """Post the requests that are due (at `now`, by default the clock's), each claimed first so that no other
    sender posts it meanwhile, and record each answer. Returns how many were sent. With no URL or no secret,
    nothing is sent and the log says why, once."""
    why = explain_unconfigured(settings)
    if why is not None:
        _say_once(why, why)
        return 0
    now = now or utcnow()
    with Session(engine) as session:
        read_only(session)  # a look, taking no write lock on SQLite (and never blocking behind an open writer)
        due = session.execute(
            select(PaymentRequest.id, PaymentRequest.attempts)
            .where(PaymentRequest.status == "pending", PaymentRequest.next_attempt_at <= now)
            .order_by(PaymentRequest.next_attempt_at, PaymentRequest.id)
            .limit(limit)
        ).all()
    if not due:
        return 0
    sent = 0
    secret = settings.payments_secret.get_secret_value()
    with httpx.Client(timeout=settings.payments_timeout_seconds, follow_redirects=False) as client:
        for request_id, attempts in due:
            claimed = claim(engine, request_id, attempts, now, now + lease(settings))
            if claimed is None:
                continue  # another sender has it, or it changed since it was read
            outcome = _post(client, settings.payments_url, secret, claimed)
            sent += _settle(engine, settings, claimed, outcome, now)
    return sent


def claim(engine: Engine, request_id: int, attempts: int, now: datetime, until: datetime) -> _Claimed | None:
    """Take the request for one attempt if it is still pending, due and unchanged since it was read (`attempts`):
    its attempts go up by one and it is not due again before `until`. One conditional UPDATE, committed before
    anything is posted: of several senders, one matches the row, the others nothing."""
    with writer_turn(engine), Session(engine) as session:
        result = session.execute(
            update(PaymentRequest)
            .where(
                PaymentRequest.id == request_id,
                PaymentRequest.status == "pending",
                PaymentRequest.next_attempt_at <= now,
                PaymentRequest.attempts == attempts,
            )
            .values(attempts=attempts + 1, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.rollback()
            return None
        row = session.execute(
            select(PaymentRequest.idempotency_key, PaymentRequest.body).where(PaymentRequest.id == request_id)
        ).one()
        session.commit()
    return _Claimed(request_id, attempts + 1, row.idempotency_key, body_bytes(row.body))


def _post(client: httpx.Client, url: str, secret: str, claimed: _Claimed) -> _Outcome:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": claimed.key,
        "X-Signature-Timestamp": timestamp,
        "X-Signature": signature(secret, timestamp, claimed.body),
        "User-Agent": "store-associate-payments/1",
    }
    try:
        answer = client.post(url, content=claimed.body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        log.warning("refund request %s: no answer from the payment provider (%s)", claimed.id, type(exc).__name__)
        return _Outcome("retry", f"no answer: {type(exc).__name__}: {exc}"[:500])
    status = answer.status_code
    if 200 <= status < 300:
        return _Outcome("sent", _provider_reference(answer))
    what = f"HTTP {status}: {answer.text[:400]}"
    if status >= 500 or status in RETRY_STATUSES:
        log.warning("refund request %s: the payment provider answered %s; trying again later", claimed.id, status)
        return _Outcome("retry", what, _retry_after(answer))
    log.warning("refund request %s: the payment provider refused it (%s)", claimed.id, status)
    return _Outcome("failed", what)


def _provider_reference(answer: httpx.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    ref = data.get("reference") or data.get("id") or ""
    return str(ref)[:128]


def _retry_after(answer: httpx.Response) -> float | None:
    try:
        return max(float(answer.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None  # (an HTTP date, or nothing: the backoff decides)


def _settle(engine: Engine, settings: Settings, claimed: _Claimed, outcome: _Outcome, now: datetime) -> int:
    """Record the attempt's answer; 1 when it was sent. A 2xx is recorded whatever happened meanwhile (the
    provider took it); a failure only while this attempt is still the request's newest (a sender whose lease ran
    out and whose request was claimed again leaves the newer attempt's record alone)."""
    pending = (PaymentRequest.id == claimed.id, PaymentRequest.status == "pending")
    if outcome.kind == "sent":
        where, values = (
            pending,
            {
                "status": "sent",
                "sent_at": utcnow(),
                "provider_reference": outcome.detail,
                "last_error": "",
            },
        )
    else:
        where = (*pending, PaymentRequest.attempts == claimed.attempt)
        if outcome.kind == "failed":
            values = {"status": "failed", "last_error": outcome.detail[:500]}
        elif claimed.attempt >= settings.payments_max_attempts:
            values = {
                "status": "failed",
                "last_error": f"gave up after {claimed.attempt} attempts; {outcome.detail}"[:500],
            }
        else:
            wait = backoff(settings, claimed.attempt)
            if outcome.retry_after is not None:
                wait = min(max(wait, outcome.retry_after), settings.payments_retry_max_seconds)
            values = {"next_attempt_at": now + timedelta(seconds=wait), "last_error": outcome.detail[:500]}
    with writer_turn(engine), Session(engine) as session:
        result = session.execute(
            update(PaymentRequest).where(*where).values(**values).execution_options(synchronize_session=False)
        )
        session.commit()
    if result.rowcount != 1:
        log.warning(
            "refund request %s: attempt %s was overtaken; its answer is not recorded", claimed.id, claimed.attempt
        )
        return 0
    if values.get("status") == "failed":
        log.warning("refund request %s failed: %s", claimed.id, values["last_error"])
    return 1 if outcome.kind == "sent" else 0


class PaymentSender(Periodic):
    """Works off the payments outbox every `payments_poll_seconds`, in the server process (app.py's lifespan);
    wake() after committing a refund sends it at once."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__("payments", lambda: send_due(engine, settings), settings.payments_poll_seconds)
