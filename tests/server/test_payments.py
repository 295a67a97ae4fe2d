"""The payments outbox (server/payments.py) against a real HTTP receiver on localhost, on SQLite and PostgreSQL:
a refund leaves only after its transaction commits, signed with the shared secret, under one Idempotency-Key
however often it is tried; a 5xx or no answer is retried later, a 4xx fails it for a manager to see; two
senders never post one request twice. Time is moved by handing the sender its `now`, never by sleeping."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server import payments
from store_associate.server.db import make_engine, upgrade
from store_associate.server.models import Store, utcnow
from store_associate.server.money_models import PaymentRequest
from store_associate.server.payments import PaymentError, queue_card_refund, send_due, verify_signature
from store_associate.server.uow import UnitOfWork
from tests.conftest import database, free_port

SECRET = "test-shared-secret-\u00e9"  # (not ASCII: the secret is used as its UTF-8 bytes)
STORE = "NYC-01"


# --- a real HTTP receiver ------------------------------------------------------------------------------------


class Receiver:
    """The payment provider: answers each POST from `script` (status, JSON body, headers) in turn, then 200 with a
    reference; keeps every request it got (headers, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[tuple[int, dict, dict[str, str]]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    n = len(receiver.requests)
                    status, answer, headers = (
                        receiver.script.pop(0) if receiver.script else (200, {"reference": f"re_{n}"}, {})
                    )
                    receiver.arrived.notify_all()
                out = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/refunds"

    def keys(self) -> list[str]:
        return [h["idempotency-key"] for h, _ in self.requests]

    def wait_for(self, n: int, timeout: float = 30.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0 or not self.arrived.wait(left):
                    break
        return list(self.requests)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True, name="test-payments-receiver")
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(10)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


# --- databases -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(request.param, tmp_path_factory.mktemp(f"payments-{request.param}")) as url:
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as s:
            s.add(Store(code=STORE, name="Test", latitude=40.7, longitude=-74.0, timezone="America/New_York"))
            s.commit()
        engine.dispose()
        yield url


@pytest.fixture()
def engine(db_url: str) -> Iterator:
    eng = make_engine(db_url)
    with Session(eng) as s:  # each test starts with an empty outbox
        s.execute(delete(PaymentRequest))
        s.commit()
    try:
        yield eng
    finally:
        eng.dispose()


def settings_for(url: str, **extra) -> Settings:
    return Settings(
        _env_file=None, payments_url=url, payments_secret=SecretStr(SECRET), payments_timeout_seconds=5, **extra
    )


def queue(engine, amount: str = "12.50", key: str | None = None, **extra) -> str:
    """A committed card refund; returns its idempotency key."""
    key = key or f"R-{uuid.uuid4().hex[:12].upper()}-1"
    with UnitOfWork(engine, Settings(_env_file=None)) as uow:
        queue_card_refund(uow, "pi_3Nx42", Decimal(amount), "usd", key, key[:14], **extra)
        uow.commit()
    return key


def rows(engine) -> list[PaymentRequest]:
    with Session(engine) as s:
        return list(s.execute(select(PaymentRequest).order_by(PaymentRequest.id)).scalars())


# --- tests ---------------------------------------------------------------------------------------------------


def test_a_refund_is_posted_signed_and_marked_sent(engine, receiver):
    key = queue(engine, "12.5", store_code=STORE)
    assert send_due(engine, settings_for(receiver.url)) == 1
    ((headers, body),) = receiver.requests
    # The signature, checked here from its definition: HMAC-SHA256 of "<timestamp>." + body under the secret.
    ts = headers["x-signature-timestamp"]
    want = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-signature"] == f"sha256={want}"
    assert verify_signature(SECRET, ts, body, headers["x-signature"])
    assert not verify_signature("another secret", ts, body, headers["x-signature"])
    assert not verify_signature(SECRET, ts, body.replace(b"12.50", b"99.50"), headers["x-signature"])
    assert not verify_signature(SECRET, ts, body, headers["x-signature"], now=int(ts) + 3600)  # played again later
    assert headers["idempotency-key"] == key and headers["content-type"] == "application/json"
    sent = json.loads(body)
    assert sent == {
        "type": "refund",
        "idempotency_key": key,
        "payment_reference": "pi_3Nx42",
        "amount": "12.50",
        "currency": "USD",
        "reference": key[:14],
        "created_at": sent["created_at"],
    }
    (row,) = rows(engine)
    assert (row.status, row.attempts, row.provider_reference, row.last_error) == ("sent", 1, "re_1", "")
    assert row.sent_at is not None
    assert send_due(engine, settings_for(receiver.url)) == 0 and len(receiver.requests) == 1  # never again


def test_a_500_then_a_200_posts_it_twice_under_one_key_and_marks_it_sent_once(engine, receiver):
    settings = settings_for(receiver.url, payments_retry_seconds=30)
    key = queue(engine)
    receiver.script = [(500, {"error": "try later"}, {})]
    t0 = utcnow()
    assert send_due(engine, settings, now=t0) == 0
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1) and "HTTP 500" in row.last_error
    assert row.next_attempt_at == t0 + timedelta(seconds=30)
    assert send_due(engine, settings, now=t0 + timedelta(seconds=29)) == 0  # not due yet: nothing posted
    assert len(receiver.requests) == 1
    assert send_due(engine, settings, now=t0 + timedelta(seconds=31)) == 1
    (first_headers, first_body), (second_headers, second_body) = receiver.requests
    assert first_headers["idempotency-key"] == second_headers["idempotency-key"] == key
    assert first_body == second_body  # the same bytes: the provider can tell a retry from another refund
    (row,) = rows(engine)
    assert (row.status, row.attempts, row.provider_reference) == ("sent", 2, "re_2")
    assert send_due(engine, settings, now=t0 + timedelta(days=1)) == 0 and len(receiver.requests) == 2


def test_retry_waits_double_and_honour_retry_after(engine, receiver):
    settings = settings_for(receiver.url, payments_retry_seconds=10, payments_retry_max_seconds=25)
    assert [payments.backoff(settings, n) for n in (1, 2, 3, 4)] == [10, 20, 25, 25]
    queue(engine)
    receiver.script = [(429, {}, {"Retry-After": "20"}), (503, {}, {})]
    t0 = utcnow()
    send_due(engine, settings, now=t0)
    assert rows(engine)[0].next_attempt_at == t0 + timedelta(seconds=20)  # the provider asked for 20 s
    t1 = t0 + timedelta(seconds=21)
    send_due(engine, settings, now=t1)
    assert rows(engine)[0].next_attempt_at == t1 + timedelta(seconds=20)  # the second wait: 2 x 10 s


def test_a_4xx_fails_it_with_the_reason_and_a_manager_sees_it(engine, receiver):
    key = queue(engine, store_code=STORE)
    receiver.script = [(422, {"error": "charge already fully refunded"}, {})]
    assert send_due(engine, settings_for(receiver.url)) == 0
    (row,) = rows(engine)
    assert row.status == "failed" and "HTTP 422" in row.last_error and "already fully refunded" in row.last_error
    with Session(engine) as s:
        assert [p.idempotency_key for p in payments.failed(s, STORE)] == [key]
        assert payments.failed(s, "BOS-01") == []
    assert send_due(engine, settings_for(receiver.url), now=utcnow() + timedelta(days=30)) == 0
    assert len(receiver.requests) == 1  # a refusal is not tried again


def test_no_answer_is_retried_then_failed_after_the_last_attempt(engine):
    nobody = f"http://127.0.0.1:{free_port()}/refunds"
    settings = settings_for(nobody, payments_max_attempts=2, payments_retry_seconds=1)
    queue(engine, store_code=STORE)
    t0 = utcnow()
    assert send_due(engine, settings, now=t0) == 0
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1) and row.last_error.startswith("no answer")
    assert send_due(engine, settings, now=t0 + timedelta(seconds=2)) == 0
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("failed", 2) and row.last_error.startswith("gave up after 2 attempts")


def test_a_rolled_back_refund_never_leaves(engine, receiver):
    with UnitOfWork(engine, Settings(_env_file=None)) as uow:
        queue_card_refund(uow, "pi_1", Decimal("5.00"), "USD", "R-ROLLEDBACK-1", "R-ROLLEDBACK")
        # no commit: the return failed after deciding the refund
    assert send_due(engine, settings_for(receiver.url)) == 0
    assert receiver.requests == [] and rows(engine) == []


def test_an_uncommitted_refund_waits_for_its_commit(engine, db_url, receiver):
    other = make_engine(db_url)  # another process's sender
    try:
        with UnitOfWork(engine, Settings(_env_file=None)) as uow:
            queue_card_refund(uow, "pi_2", Decimal("7.00"), "USD", "R-UNCOMMITTED-1", "R-UNCOMMITTED")
            assert send_due(other, settings_for(receiver.url)) == 0  # (on SQLite too: the sender only reads)
            assert receiver.requests == []
            uow.commit()
        assert send_due(other, settings_for(receiver.url)) == 1
        assert receiver.keys() == ["R-UNCOMMITTED-1"]
    finally:
        other.dispose()


def test_the_same_refund_queued_again_is_one_request(engine):
    with UnitOfWork(engine, Settings(_env_file=None)) as uow:
        a = queue_card_refund(uow, "pi_9", Decimal("3.10"), "USD", "R-TWICE-1", "R-TWICE")
        b = queue_card_refund(uow, "pi_9", Decimal("3.1"), "usd", "R-TWICE-1", "R-TWICE")
        assert a.id == b.id
        with pytest.raises(PaymentError) as other_amount:
            queue_card_refund(uow, "pi_9", Decimal("3.20"), "USD", "R-TWICE-1", "R-TWICE")
        assert (other_amount.value.status, other_amount.value.error) == (409, "payment.conflict")
        uow.commit()
    assert len(rows(engine)) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        ("0", "USD", "payment.bad_amount"),
        ("-1.00", "USD", "payment.bad_amount"),
        ("1.005", "USD", "payment.bad_amount"),  # more decimals than the currency has: never rounded silently
        ("10.5", "JPY", "payment.bad_amount"),
        ("NaN", "USD", "payment.bad_amount"),
        ("1.00", "US", "payment.bad_currency"),
    ],
)
def test_bad_refunds_are_refused_and_nothing_is_queued(engine, amount, currency, error):
    with UnitOfWork(engine, Settings(_env_file=None)) as uow:
        with pytest.raises(PaymentError) as refused:
            queue_card_refund(uow, "pi_1", Decimal(amount), currency, f"R-BAD-{uuid.uuid4().hex[:8]}", "R-BAD")
        assert refused.value.error == error
        uow.commit()
    assert rows(engine) == []


def test_a_claimed_request_is_not_posted_by_another_sender_until_its_lease_ends(engine, db_url, receiver):
    settings = settings_for(receiver.url)
    key = queue(engine)
    (row,) = rows(engine)
    now = utcnow()
    # Sender A claims it (and, say, dies before posting): sender B, another process, leaves it alone...
    assert payments.claim(engine, row.id, 0, now, now + payments.lease(settings)) is not None
    other = make_engine(db_url)
    try:
        assert send_due(other, settings, now=now) == 0
        assert payments.claim(other, row.id, 0, now, now + timedelta(hours=1)) is None  # lost the race
        assert receiver.requests == []
        # ...until A's lease has run out: then B posts it, under the same key.
        assert send_due(other, settings, now=now + payments.lease(settings) + timedelta(seconds=1)) == 1
    finally:
        other.dispose()
    assert receiver.keys() == [key]
    assert rows(engine)[0].attempts == 2


def test_two_senders_never_post_one_request_twice(engine, db_url, receiver):
    settings = settings_for(receiver.url)
    keys = {queue(engine, f"{n + 1}.00", store_code=STORE) for n in range(30)}
    engines = [make_engine(db_url) for _ in range(2)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def sender(eng) -> None:  # noqa: ANN001
        try:
            start.wait()
            while True:
                send_due(eng, settings, limit=5)
                with Session(eng) as s:
                    left = s.execute(
                        select(func.count()).select_from(PaymentRequest).where(PaymentRequest.status == "pending")
                    ).scalar_one()
                if not left:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for e in engines:
            e.dispose()
    assert errors == [] and not any(t.is_alive() for t in threads)
    posted = receiver.keys()
    assert sorted(posted) == sorted(keys)  # every one once, none twice
    assert {(r.status, r.attempts) for r in rows(engine)} == {("sent", 1)}


def test_without_a_url_refunds_stay_queued_and_the_log_says_so_once(engine, caplog):
    queue(engine)
    payments._said.clear()
    unset = Settings(_env_file=None, payments_url="", payments_secret=SecretStr(SECRET))
    with caplog.at_level(logging.WARNING, logger="store_associate.payments"):
        assert send_due(engine, unset) == 0
        assert send_due(engine, unset) == 0
    said = [r.getMessage() for r in caplog.records if "PAYMENTS_URL" in r.getMessage()]
    assert len(said) == 1 and "stay queued" in said[0]
    no_secret = Settings(_env_file=None, payments_url="http://127.0.0.1:9/refunds")
    assert send_due(engine, no_secret) == 0  # never unsigned
    assert [(r.status, r.attempts) for r in rows(engine)] == [("pending", 0)]


def test_the_server_sends_a_committed_refund_in_the_background(db_url, tmp_path: Path, receiver):
    """The lifespan starts the sender (thread "payments") when a URL and secret are set, and stops it."""
    from tests.server.test_settings import serving

    settings = settings_for(receiver.url, database_url=db_url, payments_poll_seconds=0.2, order_clock_seconds=3600)
    engine = make_engine(db_url)
    with Session(engine) as s:  # what earlier tests left queued would be sent first
        s.execute(delete(PaymentRequest))
        s.commit()
    with serving(settings) as (url, app):
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
        assert app.state.payment_sender is not None
        assert "payments" in {t.name for t in threading.enumerate()}
        try:
            key = queue(engine, "9.99")
            app.state.payment_sender.wake()  # what a route does after committing a refund
            ((headers, _),) = receiver.wait_for(1)
            assert headers["idempotency-key"] == key
        finally:
            engine.dispose()
    assert app.state.payment_sender is None
    assert "payments" not in {t.name for t in threading.enumerate() if t.is_alive()}
