"""Issue 12: enrolment survives a lost answer (item 3), and a manager cannot revoke the device they are
signed in on (item 6). Over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlmodel import Session

from store_associate.domain.credentials import normalise_enrolment_code, token_hash
from store_associate.server.db import make_engine
from store_associate.server.models import Device, EnrolmentCode, StaffSession
from tests.server.conftest import db_exec

REFUSED_MESSAGE = (
    "This enrolment code is not valid: it is wrong, used already or expired. Ask a manager for a new code."
)


def db_scalar(server, query):  # noqa: ANN001, ANN201
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        value = s.execute(query).scalar_one_or_none()
    engine.dispose()
    return value


def code_row(code: str):  # noqa: ANN201 - a where clause
    return EnrolmentCode.code_hash == token_hash(normalise_enrolment_code(code))


def enrol(
    api: httpx.Client, code: str, enrolment_id: str | None = None, attempt: int | None = None, name: str = "till 4"
) -> httpx.Response:
    body: dict = {"code": code, "name": name}
    if enrolment_id is not None:
        body["enrolment_id"] = enrolment_id
    if attempt is not None:
        body["attempt"] = attempt
    return api.post("/api/v1/devices/enrol", json=body)


def token_works(api: httpx.Client, token: str) -> bool:
    r = api.get("/api/v1/auth/me", headers={"X-Device-Token": token})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def assert_refused_as_today(r: httpx.Response) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == {"error": "enrol.code_invalid", "message": REFUSED_MESSAGE}


# --- item 3: a lost enrolment answer -------------------------------------------------------------------


def test_same_id_and_code_again_gets_the_same_device_with_a_new_token(api, server):
    manager = server.sign_in("manager", "NYC-01")
    code, eid = server.enrolment_code("NYC-01", "desktop"), uuid.uuid4().hex
    first = enrol(api, code, eid, 1)  # the device never saw this answer
    assert first.status_code == 201, first.text
    again = enrol(api, code.lower().replace("-", " "), eid, 2)
    assert again.status_code == 201, again.text
    a, b = first.json(), again.json()
    assert b["device_id"] == a["device_id"] and b["store"] == "NYC-01" and b["kind"] == "desktop"
    assert b["device_token"] != a["device_token"]
    # The first token is revoked: whoever holds it is refused; the new one works.
    assert not token_works(api, a["device_token"]) and token_works(api, b["device_token"])
    assert db_scalar(server, select(func.count()).select_from(Device).where(Device.id == a["device_id"])) == 1
    devices = api.get("/api/v1/devices", headers=manager, params={"store": "NYC-01"}).json()
    assert [d["name"] for d in devices if d["id"] == a["device_id"]] == ["till 4"]
    log = api.get("/api/v1/audit", headers=manager, params={"store": "NYC-01"}).json()
    retry = [e for e in log if e["action"] == "enrol_retry"]
    assert retry and retry[0]["device_id"] == a["device_id"] and retry[0]["outcome"] == "ok"
    assert b["device_token"] not in str(log) and eid not in str(log)
    # A third lost answer is fine too, and again only the newest token works.
    third = enrol(api, code, eid, 3).json()
    assert third["device_id"] == a["device_id"]
    assert not token_works(api, b["device_token"]) and token_works(api, third["device_token"])


def test_a_retry_ends_sessions_made_with_the_first_token(api, server):
    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    first = enrol(api, code, eid, 1).json()
    person = server.person("associate", "NYC-01")
    signed = api.post(
        "/api/v1/auth/sign-in",
        headers={"X-Device-Token": first["device_token"]},
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    assert signed.status_code == 200, signed.text
    again = enrol(api, code, eid, 2).json()
    headers = {"X-Device-Token": again["device_token"], "Authorization": f"Bearer {signed.json()['session_token']}"}
    r = api.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["detail"]["error"] == "session.invalid"
    open_sessions = (
        select(func.count())
        .select_from(StaffSession)
        .where(StaffSession.device_id == first["device_id"], StaffSession.ended_at.is_(None))
    )
    assert db_scalar(server, open_sessions) == 0


def test_anything_else_is_refused_as_today_and_changes_nothing(api, server):
    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    first = enrol(api, code, eid, 1).json()
    other_code, other_id = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    assert enrol(api, other_code, other_id, 1).status_code == 201
    assert_refused_as_today(enrol(api, code, uuid.uuid4().hex, 2))  # another id, the same code
    assert_refused_as_today(enrol(api, code, None, 2))  # no id (a device from before this change)
    assert_refused_as_today(enrol(api, code))
    assert_refused_as_today(enrol(api, other_code, eid, 2))  # the same id, another (used) code
    assert_refused_as_today(enrol(api, "ZZZZ-ZZZZ", eid, 2))  # the same id, a wrong code
    assert_refused_as_today(enrol(api, code, eid, 1))  # the attempt already answered, arriving again
    # None of them moved the first token or made a device.
    assert token_works(api, first["device_token"])
    assert (
        db_scalar(
            server,
            select(func.count()).select_from(Device).where(Device.name == "till 4", Device.id == first["device_id"]),
        )
        == 1
    )


def test_the_same_pair_after_the_window_is_refused(api, server):
    from store_associate.server.enrolment import ENROL_RETRY_WINDOW

    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    first = enrol(api, code, eid, 1).json()
    just_inside = datetime.now(UTC) - ENROL_RETRY_WINDOW + timedelta(minutes=1)
    db_exec(server, update(EnrolmentCode).where(code_row(code)).values(used_at=just_inside))
    inside = enrol(api, code, eid, 2)
    assert inside.status_code == 201 and inside.json()["device_id"] == first["device_id"]
    late = datetime.now(UTC) - ENROL_RETRY_WINDOW - timedelta(seconds=1)
    db_exec(server, update(EnrolmentCode).where(code_row(code)).values(used_at=late))
    assert_refused_as_today(enrol(api, code, eid, 3))
    assert token_works(api, inside.json()["device_token"])


def test_a_revoked_device_cannot_come_back_by_retrying(api, server):
    manager = server.sign_in("manager", "NYC-01")
    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    first = enrol(api, code, eid, 1).json()
    assert api.post(f"/api/v1/devices/{first['device_id']}/revoke", headers=manager).status_code == 200
    assert_refused_as_today(enrol(api, code, eid, 2))
    r = api.get("/api/v1/auth/me", headers={"X-Device-Token": first["device_token"]})
    assert r.status_code == 401 and r.json()["detail"]["error"] == "device.revoked"


def test_a_retry_processed_before_the_lost_request_still_wins(api, server):
    """Attempt 1 was slow to reach the server; the device gave up and sent attempt 2, which was answered. When
    attempt 1 is processed after it, it must not rotate the token the device now holds."""
    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    second = enrol(api, code, eid, 2)
    assert second.status_code == 201
    assert_refused_as_today(enrol(api, code, eid, 1))
    assert token_works(api, second.json()["device_token"])


@pytest.mark.parametrize("attempts", [(1, 1), (2, 2), (2, 3)])
def test_concurrent_sends_leave_exactly_the_newest_token_working(api, server, attempts):
    code, eid = server.enrolment_code("NYC-01"), uuid.uuid4().hex
    if attempts[0] > 1:
        assert enrol(api, code, eid, 1).status_code == 201
    start = threading.Barrier(len(attempts))
    answers: dict[int, list[httpx.Response]] = {}

    def send(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            start.wait()
            answers.setdefault(n, []).append(enrol(c, code, eid, n))

    threads = [threading.Thread(target=send, args=(n,)) for n in attempts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got = [r for rs in answers.values() for r in rs]
    assert all(r.status_code in (201, 400) for r in got), [r.text for r in got]
    ok = [r for r in got if r.status_code == 201]
    newest = max(attempts)
    if attempts[0] == attempts[1]:
        assert len(ok) == 1  # one of two equal sends wins, never both
    else:
        assert any(r.status_code == 201 for r in answers[newest])
    working = [r for r in ok if token_works(api, r.json()["device_token"])]
    assert len(working) == 1 and working[0] in answers[newest]
    assert len({r.json()["device_id"] for r in ok}) == 1


@pytest.mark.parametrize("bad", ["short", "x" * 65, "not hex/at all!!", ""])
def test_a_malformed_enrolment_id_is_refused_and_the_code_still_works(api, server, bad):
    code = server.enrolment_code("NYC-01")
    r = enrol(api, code, bad, 1)
    assert r.status_code == 422 and r.json()["detail"]["error"] == "request.invalid"
    assert db_scalar(server, select(EnrolmentCode.used_at).where(code_row(code))) is None
    assert enrol(api, code, uuid.uuid4().hex, 1).status_code == 201


@pytest.mark.parametrize("bad", [0, -1, 10**9, "two", "2", True, 2.5])
def test_a_malformed_attempt_is_refused(api, server, bad):
    code = server.enrolment_code("NYC-01")
    r = api.post("/api/v1/devices/enrol", json={"code": code, "enrolment_id": uuid.uuid4().hex, "attempt": bad})
    assert r.status_code == 422 and r.json()["detail"]["error"] == "request.invalid"
    assert db_scalar(server, select(EnrolmentCode.used_at).where(code_row(code))) is None


# --- item 6: revoking the device you are signed in on ------------------------------------------------------


def test_a_manager_cannot_revoke_the_device_they_are_signed_in_on(api, server):
    manager = server.sign_in("manager", "SEA-01")
    device_id = api.get("/api/v1/auth/me", headers=manager).json()["device_id"]
    r = api.post(f"/api/v1/devices/{device_id}/revoke", headers=manager)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "device.self"
    assert "signed in on this device" in detail["message"] and "another device" in detail["message"]
    # Nothing changed: still signed in, the device not revoked.
    assert api.get("/api/v1/auth/me", headers=manager).status_code == 200
    devices = api.get("/api/v1/devices", headers=manager, params={"store": "SEA-01"}).json()
    assert [d["revoked_at"] for d in devices if d["id"] == device_id] == [None]
    log = api.get("/api/v1/audit", headers=manager, params={"store": "SEA-01"}).json()
    assert any(e["action"] == "revoke" and e["outcome"] == "refused" and e["target"] == device_id for e in log)
    # From another device of the store it can be done.
    other = server.sign_in("manager", "SEA-01")
    assert api.post(f"/api/v1/devices/{device_id}/revoke", headers=other).status_code == 200
    assert api.get("/api/v1/auth/me", headers=manager).status_code == 401


def test_an_admin_cannot_revoke_their_own_device_either(api, server):
    admin = server.sign_in("admin", kind="desktop")
    device_id = api.get("/api/v1/auth/me", headers=admin).json()["device_id"]
    r = api.post(f"/api/v1/devices/{device_id}/revoke", headers=admin)
    assert r.status_code == 409 and r.json()["detail"]["error"] == "device.self"
    assert api.get("/api/v1/auth/me", headers=admin).status_code == 200


# --- the migration --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0009_adds_and_drops_the_columns_on_a_seeded_database(kind, tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from store_associate.server.db import MIGRATIONS, upgrade
    from store_associate.server.enrolment import enrol as enrol_device
    from store_associate.server.seed import seed
    from tests.conftest import database, make_enrolment_code

    def columns(engine) -> set[str]:  # noqa: ANN001
        with engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns("enrolment_code")}

    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            seed(engine, 42, 27, 30, sales_per_day=1, pickups_per_store=1)
            assert {"enrolment_id_hash", "enrolment_attempt"} <= columns(engine)
            with Session(engine) as s:  # a code used with an enrolment id: the columns hold data
                enrol_device(s, make_enrolment_code(url, "NYC-01"), "till", enrolment_id=uuid.uuid4().hex)
                s.commit()  # (access writes, the caller commits)
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0008")
            assert not {"enrolment_id_hash", "enrolment_attempt"} & columns(engine)
            with engine.begin() as conn:  # a code made under 0008
                conn.execute(
                    text(
                        "INSERT INTO enrolment_code (code_hash, store_code, kind, created_at, expires_at) "
                        "VALUES (:h, 'NYC-01', 'tablet', :now, :now)"
                    ),
                    {"h": "0" * 64, "now": datetime.now(UTC)},
                )
            upgrade(engine)
            assert {"enrolment_id_hash", "enrolment_attempt"} <= columns(engine)
            with Session(engine) as s:  # both rows kept; neither has an enrolment id after the round trip
                rows = s.execute(select(EnrolmentCode)).scalars().all()
                assert len(rows) == 2 and all(r.enrolment_id_hash is None and r.enrolment_attempt is None for r in rows)
        finally:
            engine.dispose()
