"""Store credit and gift cards (server/balances.py): a ledger per code on SQLite and PostgreSQL. Issue, credit and
redeem sum right; a replay books once; a balance never goes below zero, not even with redemptions at once;
codes are unique and well-formed; the store-credit e-mail carries the code as a QR (real SMTP); and the balance
API (real HTTP) finds a code, explains an unknown or malformed one, and lets only staff in."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import delete, func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.codes import CodeKind, interpret
from store_associate.server import balances
from store_associate.server.balances import (
    BalanceError,
    balance,
    credit,
    issue_gift_card,
    issue_store_credit,
    queue_store_credit_mail,
    redeem,
)
from store_associate.server.db import make_engine, upgrade
from store_associate.server.models import Customer, Notification, utcnow
from store_associate.server.money_models import BalanceAccount, BalanceEntry, PaymentRequest
from store_associate.server.notify import send_pending
from store_associate.server.uow import UnitOfWork
from tests.conftest import database, smtp_server

CODE_RE = re.compile(r"^(SC|GC)-[0-9A-HJKMNP-TV-Z]{12}$")
HOME, OTHER = "NYC-01", "BOS-01"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(request.param, tmp_path_factory.mktemp(f"balances-{request.param}")) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture()
def engine(db_url: str) -> Iterator:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture()
def customer(engine) -> Customer:
    with Session(engine, expire_on_commit=False) as s:
        c = Customer(name="Marisol Ibáñez", email=f"m{uuid.uuid4().hex[:8]}@example.com", locale="es")
        s.add(c)
        s.commit()
        return c


def uow(engine) -> UnitOfWork:
    return UnitOfWork(engine, Settings(_env_file=None))


def ref() -> str:
    return f"R-{uuid.uuid4().hex[:12].upper()}"


def ledger(engine, code: str) -> list[tuple[Decimal, str, str]]:
    with Session(engine) as s:
        return [
            (e.delta, e.reason, e.reference)
            for e in s.execute(
                select(BalanceEntry).where(BalanceEntry.code == code).order_by(BalanceEntry.id)
            ).scalars()
        ]


def held(engine, code: str) -> Decimal:
    with Session(engine) as s:
        view = balance(s, code)
        assert view is not None
        # The balance is the ledger's sum, here added up by the database itself.
        in_sql = s.execute(select(func.sum(BalanceEntry.delta)).where(BalanceEntry.code == code)).scalar_one()
        assert Decimal(str(in_sql)).quantize(Decimal("0.01")) == view.balance
        return view.balance


# --- the ledger ----------------------------------------------------------------------------------------------


def test_issue_credit_redeem_and_the_ledger_sums_right(engine, customer):
    r1, r2, r3 = ref(), ref(), f"NYC01-261203-02-{uuid.uuid4().int % 10000:04d}"
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("25.00"), customer.id, r1)
        u.commit()
    assert CODE_RE.match(code) and code.startswith("SC-")
    assert interpret(code).kind is CodeKind.STORE_CREDIT  # the scanner reads it as what it is
    with uow(engine) as u:
        credit(u, code, Decimal("4.5"), r2)
        redeem(u, code, Decimal("10.25"), r3)
        u.commit()
    assert ledger(engine, code) == [
        (Decimal("25.00"), "issue", r1),
        (Decimal("4.50"), "refund", r2),
        (Decimal("-10.25"), "redeem", r3),
    ]
    assert held(engine, code) == Decimal("19.25")
    with Session(engine) as s:
        view = balance(s, code)
        account = s.get(BalanceAccount, code)
    assert (view.kind, view.currency, view.customer_id) == ("store_credit", "USD", customer.id)
    assert [e.reason for e in view.entries] == ["redeem", "refund", "issue"]  # newest first
    assert account is not None and not hasattr(account, "balance")  # no number to overwrite: only the ledger


def test_a_replay_books_once(engine, customer):
    r1, r2, r3 = ref(), ref(), ref()
    for _ in range(3):  # the same command applied three times (replays, retries)
        with uow(engine) as u:
            code = issue_store_credit(u, "USD", Decimal("30.00"), customer.id, r1)
            credit(u, code, Decimal("5.00"), r2)
            redeem(u, code, Decimal("12.00"), r3)
            u.commit()
    with Session(engine) as s:
        issued = s.execute(
            select(func.count()).select_from(BalanceEntry).where(BalanceEntry.reference == r1)
        ).scalar_one()
    assert issued == 1  # one code for one return
    assert len(ledger(engine, code)) == 3 and held(engine, code) == Decimal("23.00")
    # The same reference with another amount is another change under a used name: refused, nothing booked.
    for change in (
        lambda u: issue_store_credit(u, "USD", Decimal("31.00"), customer.id, r1),
        lambda u: issue_store_credit(u, "EUR", Decimal("30.00"), customer.id, r1),
        lambda u: credit(u, code, Decimal("6.00"), r2),
        lambda u: redeem(u, code, Decimal("1.00"), r3),
    ):
        with uow(engine) as u, pytest.raises(BalanceError) as refused:
            change(u)
        assert (refused.value.status, refused.value.error) == (409, "balance.conflict")
    assert len(ledger(engine, code)) == 3 and held(engine, code) == Decimal("23.00")


def test_never_below_zero(engine, customer):
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("20.00"), customer.id, ref())
        u.commit()
    with uow(engine) as u, pytest.raises(BalanceError) as refused:
        redeem(u, code, Decimal("20.01"), ref())
    assert (refused.value.status, refused.value.error) == (409, "balance.insufficient")
    assert "20.00" in refused.value.message and "another tender" in refused.value.message
    assert held(engine, code) == Decimal("20.00") and len(ledger(engine, code)) == 1  # nothing booked
    with uow(engine) as u:
        redeem(u, code, Decimal("20.00"), ref())
        u.commit()
    assert held(engine, code) == Decimal("0.00")
    with uow(engine) as u, pytest.raises(BalanceError):
        redeem(u, code, Decimal("0.01"), ref())


def test_redemptions_at_once_never_take_it_below_zero(engine, db_url, customer):
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("50.00"), customer.id, ref())
        u.commit()
    tills = 8
    start = threading.Barrier(tills)
    outcomes: list[str] = []
    lock = threading.Lock()

    def till() -> None:
        eng = make_engine(db_url)  # a process of its own, as far as the database can tell
        try:
            start.wait()
            with uow(eng) as u:
                try:
                    redeem(u, code, Decimal("10.00"), ref())
                    u.commit()
                    got = "ok"
                except BalanceError as exc:
                    got = exc.error
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            got = repr(exc)
        finally:
            eng.dispose()
        with lock:
            outcomes.append(got)

    threads = [threading.Thread(target=till) for _ in range(tills)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcomes) == ["balance.insufficient"] * 3 + ["ok"] * 5
    assert held(engine, code) == Decimal("0.00")


def test_codes_are_unique_and_well_formed(engine):
    with uow(engine) as u:
        codes = [issue_store_credit(u, "USD", Decimal("1.00"), None, ref()) for _ in range(150)]
        codes += [issue_gift_card(u, "USD", Decimal("25.00"), ref()) for _ in range(50)]
        u.commit()
    assert len(set(codes)) == 200
    assert all(CODE_RE.match(c) for c in codes)
    assert sum(c.startswith("GC-") for c in codes) == 50
    assert {balances.kind_of(c) for c in codes} == {balances.BalanceKind.STORE_CREDIT, balances.BalanceKind.GIFT_CARD}
    # Random, not counted: every Crockford character turns up across 200 codes x 12 places.
    assert set("".join(c[3:] for c in codes)) == set(balances.CROCKFORD)


def test_money_is_rounded_per_currency(engine):
    with uow(engine) as u:
        usd = issue_store_credit(u, "usd", Decimal("10.005"), None, ref())
        jpy = issue_store_credit(u, "JPY", Decimal("1500.4"), None, ref())
        credit(u, jpy, Decimal("99.5"), ref())
        u.commit()
    assert held(engine, usd) == Decimal("10.01")
    with Session(engine) as s:
        view = balance(s, jpy)
    assert (view.currency, view.balance, str(view.balance)) == ("JPY", Decimal("1600"), "1600")
    for currency, amount, error in (
        ("KWD", "1.000", "balance.bad_currency"),  # three decimals: the ledger keeps two
        ("US", "1.00", "balance.bad_currency"),
        ("USD", "0.004", "balance.bad_amount"),  # zero once rounded
        ("USD", "-5.00", "balance.bad_amount"),
        ("USD", "NaN", "balance.bad_amount"),
    ):
        with uow(engine) as u, pytest.raises(BalanceError) as refused:
            issue_store_credit(u, currency, Decimal(amount), None, ref())
        assert refused.value.error == error, (currency, amount)


def test_unknown_codes(engine):
    unknown = balances.new_code(balances.BalanceKind.GIFT_CARD)
    with uow(engine) as u:
        for change in (
            lambda: redeem(u, unknown, Decimal("1.00"), ref()),
            lambda: credit(u, unknown, Decimal("1"), ref()),
        ):
            with pytest.raises(BalanceError) as refused:
                change()
            assert (refused.value.status, refused.value.error) == (404, "balance.not_found")
        # A gift card sold before the ledger knew it (a till's, the seed's) is opened by its first refund.
        credit(u, unknown, Decimal("15.00"), ref(), currency="USD")
        u.commit()
    assert held(engine, unknown) == Decimal("15.00")
    with uow(engine) as u, pytest.raises(BalanceError) as refused:
        credit(u, unknown, Decimal("1.00"), ref(), currency="EUR")  # a refund in euros to a dollar card
    assert (refused.value.status, refused.value.error) == (409, "balance.other_currency")
    with Session(engine) as s:
        assert balance(s, "SC-000000000000") is None


def test_nothing_is_booked_when_the_caller_rolls_back(engine):
    r = ref()
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("5.00"), None, r)
        # no commit: the return failed later on
    with Session(engine) as s:
        assert balance(s, code) is None
        assert s.execute(select(BalanceEntry).where(BalanceEntry.reference == r)).first() is None


# --- the store-credit e-mail (real SMTP) ---------------------------------------------------------------------


def test_the_store_credit_email_carries_the_code_as_a_qr_in_the_customer_s_language(engine, customer):
    from store_associate.scan import decode_frame

    with Session(engine) as s:  # only this test's message is waiting
        s.execute(delete(Notification))
        s.commit()
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("1234.5"), customer.id, ref())
        note = queue_store_credit_mail(u, customer, code, Decimal("1234.5"), "USD")
        u.commit()
    assert note is not None and (note.kind, note.order_number) == ("store_credit", "")
    with smtp_server() as (inbox, port):
        settings = Settings(_env_file=None, smtp_host="127.0.0.1", smtp_port=port, mail_from="shop@example.com")
        assert send_pending(engine, settings) == 1
        (mail,) = inbox.wait_for(1)
    assert mail["To"] == customer.email and code in mail["Subject"]
    assert mail["Subject"].startswith("Tu crédito de tienda")  # Spanish, as the customer's record says
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Hola Marisol Ibáñez" in text and code in text and "1234,50" in text.replace("\xa0", " ").replace(".", "")
    image = next(part for part in mail.walk() if part.get_content_type() == "image/png")
    frame = cv2.imdecode(np.frombuffer(image.get_content(), np.uint8), cv2.IMREAD_COLOR)
    (qr,) = decode_frame(frame)
    assert qr.text == code
    with uow(engine) as u:
        nobody = Customer(name="No Mail", email="", locale="en")
        assert queue_store_credit_mail(u, nobody, code, Decimal("1"), "USD") is None


# --- the API (real HTTP, the session's seeded servers) -------------------------------------------------------


@pytest.fixture(scope="module")
def issued(server) -> str:
    engine = make_engine(server.database_url)
    try:
        with uow(engine) as u:
            code = issue_store_credit(u, "USD", Decimal("40.00"), None, "R-APITEST00001")
            redeem(u, code, Decimal("15.50"), "NYC01-261203-02-0042")
            u.commit()
    finally:
        engine.dispose()
    return code


def test_the_api_answers_a_balance(server, issued):
    clerk = server.sign_in("associate")
    r = httpx.get(f"{server.url}/api/v1/balances/{issued}", headers=clerk, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["code"], body["kind"], body["currency"], body["balance"]) == (issued, "store_credit", "USD", "24.50")
    assert [(e["delta"], e["reason"], e["reference"]) for e in body["entries"]] == [
        ("-15.50", "redeem", "NYC01-261203-02-0042"),
        ("40.00", "issue", "R-APITEST00001"),
    ]
    # As typed or scanned: any case, no dash, a letter O for a zero.
    typed = issued.lower().replace("-", "", 1).replace("0", "o")
    assert httpx.get(f"{server.url}/api/v1/balances/{typed}", headers=clerk, timeout=30).json()["code"] == issued
    # Chain-wide: a clerk of another store reads it too (the credit is spent in any store).
    other = server.sign_in("associate", OTHER)
    assert httpx.get(f"{server.url}/api/v1/balances/{issued}", headers=other, timeout=30).status_code == 200


def test_the_api_explains_unknown_and_malformed_codes(server):
    clerk = server.sign_in("associate")
    unknown = balances.new_code(balances.BalanceKind.GIFT_CARD)
    r = httpx.get(f"{server.url}/api/v1/balances/{unknown}", headers=clerk, timeout=30)
    assert r.status_code == 404 and r.json()["detail"]["error"] == "balance.not_found"
    assert unknown in r.json()["detail"]["message"] and "another way to pay" in r.json()["detail"]["message"]
    for bad in (
        "SC-123",
        "XX-0123456789AB",
        "SC-0123456789AU",
        "SC-%00ABCDEFGHJK",
        "R-0123456789AB",
        "ＳＣ-0123456789AB",
    ):
        r = httpx.get(f"{server.url}/api/v1/balances/{bad}", headers=clerk, timeout=30)
        assert r.status_code == 422, (bad, r.text)
        # The path's pattern (in the OpenAPI) refuses what cannot be a code at all; the route explains the rest.
        detail = r.json()["detail"]
        assert detail["error"] in {"balance.bad_code", "request.invalid"}, (bad, detail)
        assert detail["error"] == "request.invalid" or "SC- or GC-" in detail["message"]


def test_only_staff_read_balances(server, issued):
    url = f"{server.url}/api/v1/balances/{issued}"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers=server.enrol(HOME, "kiosk"), timeout=30).status_code == 403  # shoppers' device
    assert httpx.get(url, headers=server.enrol(HOME), timeout=30).status_code == 403  # nobody signed in
    for role in ("associate", "manager"):
        assert httpx.get(url, headers=server.sign_in(role), timeout=30).status_code == 200


def test_managers_see_their_store_s_failed_card_refunds(server):
    from store_associate.server.payments import queue_card_refund

    engine = make_engine(server.database_url)
    key = f"R-{uuid.uuid4().hex[:12].upper()}-1"
    try:
        with uow(engine) as u:
            request = queue_card_refund(u, "pi_failed", Decimal("8.00"), "USD", key, key[:14], store_code=HOME)
            request.status, request.attempts, request.last_error = "failed", 1, "HTTP 422: refunded already"
            u.commit()
        url = f"{server.url}/api/v1/payments/failed"
        r = httpx.get(url, params={"store": HOME}, headers=server.sign_in("manager"), timeout=30)
        assert r.status_code == 200, r.text
        (found,) = [p for p in r.json() if p["idempotency_key"] == key]
        assert (found["amount"], found["store"], found["last_error"]) == ("8.00", HOME, "HTTP 422: refunded already")
        assert (
            httpx.get(url, params={"store": HOME}, headers=server.sign_in("associate"), timeout=30).status_code == 403
        )
        other = server.sign_in("manager", OTHER)
        assert httpx.get(url, params={"store": HOME}, headers=other, timeout=30).status_code == 403
        theirs = httpx.get(url, params={"store": OTHER}, headers=other, timeout=30)
        assert theirs.status_code == 200 and key not in {p["idempotency_key"] for p in theirs.json()}
        assert (
            httpx.get(url, params={"store": "XX-99"}, headers=server.sign_in("admin", None), timeout=30).status_code
            == 404
        )
    finally:
        with Session(engine) as s:
            s.execute(delete(PaymentRequest).where(PaymentRequest.idempotency_key == key))
            s.commit()
        engine.dispose()


def test_a_recent_entry_time_is_utc(engine):
    with uow(engine) as u:
        code = issue_store_credit(u, "USD", Decimal("1.00"), None, ref())
        u.commit()
    with Session(engine) as s:
        (entry,) = balance(s, code).entries
    assert entry.at.utcoffset() == timedelta(0) and entry.at <= utcnow()
