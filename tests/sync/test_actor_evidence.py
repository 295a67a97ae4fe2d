"""Who did it is who signed in: a pushed mutation's named person must have signed in on the device that sends it.

The evidence is that person's sign-ins on that device (server/actors.py): an online session that covered the
moment the mutation was made, or an online sign-in recent enough for an offline sign-in (the window the
server tells the device when it signs someone in). What was claimed and what showed it goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.device.auth import DeviceAuth, Enrol, SignIn
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.domain import commands
from store_associate.domain.commands import AdjustStock, Mutation
from store_associate.domain.permissions import Permission, Role
from store_associate.server import access, enrolment
from store_associate.server.access import Principal
from store_associate.server.db import make_engine
from store_associate.server.models import AuditLog, Device, InventoryLevel, MutationLog, StaffSession
from store_associate.server.sync import push as server_push
from store_associate.server.uow import UnitOfWork
from tests.conftest import database, make_enrolment_code, seed_database, start_server
from tests.device.test_auth import go_offline

SKU = "100011"


def mutation(i: int, staff: str | None, at: datetime | None = None, name: str = "adjust_stock", **args) -> dict:
    args = args or {"sku": SKU, "delta": 1, "reason": "found"}
    return {
        "id": i,
        "name": name,
        "version": 1,
        "args": args,
        "staff_number": staff,
        "created_at": (at or datetime.now(UTC)).isoformat(),
    }


def push(server, headers: dict, mutations: list[dict]) -> dict:  # noqa: ANN001
    r = httpx.post(f"{server.url}/api/v1/sync/push", headers=headers, json={"mutations": mutations}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def sign_in(server, device: dict, person: dict) -> dict:  # noqa: ANN001
    """The real flow: staff number and PIN on the enrolled device. Returns the sign-in answer."""
    r = httpx.post(
        f"{server.url}/api/v1/auth/sign-in",
        headers=device,
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    assert r.status_code == 200, r.text
    return r.json()


def device_id(server, device: dict) -> str:  # noqa: ANN001
    return httpx.get(f"{server.url}/api/v1/auth/me", headers=device).json()["device_id"]


def on_hand(database_url: str, sku: str = SKU) -> int:
    engine = make_engine(database_url)
    with Session(engine) as s:
        n = s.get(InventoryLevel, ("NYC-01", sku)).on_hand
    engine.dispose()
    return n


def audit_rows(database_url: str, device: str) -> list[AuditLog]:
    engine = make_engine(database_url)
    with Session(engine) as s:
        rows = (
            s.execute(
                select(AuditLog)
                .where(AuditLog.action == "sync_actor", AuditLog.device_id == device)
                .order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return rows


def backdate_sessions(database_url: str, device: str, by: timedelta) -> None:
    """Time passing: this device's sign-ins happened `by` earlier (the server has no clock to turn)."""
    engine = make_engine(database_url)
    with Session(engine) as s:
        for row in s.execute(select(StaffSession).where(StaffSession.device_id == device)).scalars():
            row.created_at -= by
            row.last_seen_at -= by
            row.expires_at -= by
            row.ended_at = row.ended_at - by if row.ended_at else None
        s.commit()
    engine.dispose()


# --- over HTTP, on both databases ----------------------------------------------------------------------


def test_nobody_signed_in_cannot_name_the_admin(server):
    """The reported attack: a device with nobody signed in pushes a stock change naming the admin."""
    device = server.enrol("NYC-01")
    admin = server.person("admin")["staff_number"]
    before = on_hand(server.database_url)
    body = push(
        server,
        device,
        [mutation(1, admin, delta=50, sku=SKU, reason="found"), mutation(2, admin, delta=-3, sku=SKU, reason="theft")],
    )
    got = [(r["status"], r["reason"]) for r in body["results"]]
    assert got == [("rejected", "reject.not_allowed")] * 2 and body["last_applied"] == 2  # consumed, reported
    assert f"{admin} has not signed in on this device" in body["results"][0]["detail"]
    assert on_hand(server.database_url) == before
    [row] = audit_rows(server.database_url, device_id(server, device))
    assert (row.outcome, row.staff_number) == ("rejected", admin)
    assert row.detail["claim"] == {
        "staff_number": admin,
        "mutations": [[1, 2]],
        "count": 2,
        "commands": ["adjust_stock"],
    }
    assert row.detail["evidence"] == {"kind": "none", "sign_ins": []}


def test_signed_in_online_then_offline_is_accepted(server):
    device = server.enrol("NYC-01")
    person = server.person("associate")
    answer = sign_in(server, device, person)
    before = on_hand(server.database_url)
    # Pushed with the device's token alone (the network dropped, or the person signed out before it came back).
    body = push(server, device, [mutation(1, person["staff_number"])])
    assert body["results"][0]["status"] == "applied", body
    bearer = {**device, "Authorization": f"Bearer {answer['session_token']}"}
    assert httpx.post(f"{server.url}/api/v1/auth/sign-out", headers=bearer).status_code == 200
    # An hour later, offline: that sign-in is within the offline window.
    backdate_sessions(server.database_url, device_id(server, device), timedelta(hours=1))
    body = push(server, device, [mutation(2, person["staff_number"])])
    assert body["results"][0]["status"] == "applied", body
    assert on_hand(server.database_url) == before + 2
    rows = audit_rows(server.database_url, device_id(server, device))
    assert [(r.outcome, r.detail["evidence"]["kind"]) for r in rows] == [("ok", "session"), ("ok", "offline_window")]
    assert all(r.staff_number == person["staff_number"] for r in rows)
    signed = rows[0].detail["evidence"]["sign_ins"]
    assert len(signed) == 1 and len(signed[0]["session"]) == 12 and signed[0]["at"]
    assert rows[1].detail["evidence"]["sign_ins"][0]["session"] == signed[0]["session"]  # the same sign-in


def test_sign_in_older_than_the_window_is_rejected(server):
    device = server.enrol("NYC-01")
    person = server.person("associate")
    answer = sign_in(server, device, person)  # a session that then ran to its end, a week and more ago
    backdate_sessions(
        server.database_url, device_id(server, device), timedelta(days=answer["offline_signin_days"], hours=1)
    )
    before = on_hand(server.database_url)
    body = push(server, device, [mutation(1, person["staff_number"])])
    assert (body["results"][0]["status"], body["results"][0]["reason"]) == ("rejected", "reject.not_allowed")
    assert "within 7 days" in body["results"][0]["detail"]
    assert on_hand(server.database_url) == before
    # What was done back then, while that session was open, is still theirs (pushed only now).
    then = datetime.now(UTC) - timedelta(days=answer["offline_signin_days"], minutes=50)
    body = push(server, device, [mutation(2, person["staff_number"], at=then)])
    assert body["results"][0]["status"] == "applied", body
    rows = audit_rows(server.database_url, device_id(server, device))
    assert [(r.outcome, r.detail["evidence"]["kind"]) for r in rows] == [("rejected", "none"), ("ok", "session")]


def test_sign_in_on_another_device_is_no_evidence(server):
    person = server.person("associate")
    mine, other = server.enrol("NYC-01"), server.enrol("NYC-01")
    sign_in(server, mine, person)
    before = on_hand(server.database_url)
    body = push(server, other, [mutation(1, person["staff_number"])])
    assert body["results"][0]["reason"] == "reject.not_allowed"
    assert body["results"][0]["detail"] == f"{person['staff_number']} has not signed in on this device"
    assert on_hand(server.database_url) == before


def test_a_time_in_the_future_shows_nothing(server):
    device = server.enrol("NYC-01")
    person = server.person("associate")
    sign_in(server, device, person)
    body = push(server, device, [mutation(1, person["staff_number"], at=datetime.now(UTC) + timedelta(days=2))])
    assert body["results"][0]["reason"] == "reject.not_allowed"
    assert "future" in body["results"][0]["detail"]


@pytest.mark.parametrize(
    "at, sent_at",
    [
        ("0001-01-03T00:00:00Z", None),  # a clock at its very beginning: the window's arithmetic would overflow
        ("1970-01-01T00:00:00Z", None),  # a clock reset to zero
        ("2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),  # a push whose own clock reads year 1
        ("2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),  # ...or the end of time
    ],
)
def test_a_time_no_clock_can_have_read_is_refused_not_a_failed_push(server, at, sent_at):
    """Refused with what to check, one mutation: never a 500, which would have the device resend it for ever."""
    device = server.enrol("NYC-01")
    person = server.person("associate")
    sign_in(server, device, person)
    before = on_hand(server.database_url)
    m = {**mutation(1, person["staff_number"]), "created_at": at}
    r = httpx.post(
        f"{server.url}/api/v1/sync/push",
        headers=device,
        timeout=30,
        json={"mutations": [m, mutation(2, person["staff_number"])], **({"sent_at": sent_at} if sent_at else {})},
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert (first["status"], first["reason"]) == ("rejected", "reject.not_allowed"), first
    assert "date and time" in first["detail"]
    # The mutation after it, dated by a sane clock, is judged on its own: applied unless the push's clock was
    # off by centuries too (then its time cannot be put on the server's clock either).
    assert second["status"] == ("applied" if sent_at is None else "rejected"), second
    assert on_hand(server.database_url) == before + (1 if sent_at is None else 0)


def test_one_audit_row_per_actor_and_outcome(server):
    """A batch of many mutations writes one row per (person, evidence, outcome), with the ids as runs."""
    device = server.enrol("NYC-01")
    person, manager = server.person("associate"), server.person("manager")
    sign_in(server, device, person)
    batch = [mutation(i, person["staff_number"]) for i in range(1, 41)]
    batch += [mutation(41, manager["staff_number"]), mutation(42, person["staff_number"])]
    body = push(server, device, batch)
    assert [r["status"] for r in body["results"]] == ["applied"] * 40 + ["rejected", "applied"]
    rows = audit_rows(server.database_url, device_id(server, device))
    assert [(r.staff_number, r.outcome) for r in rows] == [
        (person["staff_number"], "ok"),
        (manager["staff_number"], "rejected"),
    ]
    # A manager finds the refusals among every push's rows by filtering the store's audit log.
    r = httpx.get(
        f"{server.url}/api/v1/audit",
        headers=server.sign_in("manager"),
        timeout=30,
        params={"store": "NYC-01", "action": "sync_actor", "outcome": "rejected", "limit": 500},
    )
    assert r.status_code == 200, r.text
    assert r.json() and {(a["action"], a["outcome"]) for a in r.json()} == {("sync_actor", "rejected")}
    assert manager["staff_number"] in {a["staff_number"] for a in r.json()}
    assert rows[0].detail["claim"]["mutations"] == [[1, 40], [42, 42]] and rows[0].detail["claim"]["count"] == 41


def test_sign_in_answer_carries_the_offline_window(server):
    device = server.enrol("NYC-01")
    assert sign_in(server, device, server.person("associate"))["offline_signin_days"] == 7


# --- the device honours the window the server states ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def short_window_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A server whose offline window (2 days) is shorter than the device's own setting (7)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('short-window') / 'server.db'}"
    running = start_server(
        url, seed_database(url, skus=50, locations=3), extra_env={"STORE_ASSOCIATE_OFFLINE_SIGNIN_DAYS": "2"}
    )
    yield running
    running.stop()


@pytest.mark.parametrize(("own_days", "allowed_days"), [(7, 2), (1, 1)])
def test_device_uses_the_shorter_of_its_own_and_the_servers_window(
    short_window_server, tmp_path, own_days, allowed_days
):
    clock = Clock()
    store = LocalStore(tmp_path / "device.db")
    auth = DeviceAuth(
        store, SyncClient(short_window_server.url), idle=timedelta(minutes=30), offline_days=own_days, clock=clock
    )
    try:
        assert auth.enrol(short_window_server.enrolment_code("NYC-01"), "tablet") is Enrol.OK
        person = short_window_server.person("associate")
        assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK
        assert store.staff.known(person["staff_number"]).offline_days == 2  # what the server said
        auth.sign_out()
        go_offline(auth)
        clock.now += timedelta(days=allowed_days, hours=-1)
        assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK_OFFLINE
        auth.sign_out()
        clock.now += timedelta(hours=2)
        assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OFFLINE_UNKNOWN
    finally:
        store.close()


def test_known_staff_of_an_older_app_version_keep_working(tmp_path):
    """A device database made before the window was stored gets the column; its people use the device's own."""
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE known_staff (staff_number VARCHAR NOT NULL PRIMARY KEY, name VARCHAR NOT NULL,"
        " role VARCHAR NOT NULL, store_code VARCHAR, verifier VARCHAR NOT NULL,"
        " last_online_at VARCHAR NOT NULL, failed_attempts INTEGER NOT NULL, locked_until VARCHAR)"
    )
    db.execute(
        "INSERT INTO known_staff VALUES ('1002', 'A', 'associate', 'NYC-01', 'scrypt$x', ?, 0, NULL)",
        (datetime.now(UTC).isoformat(),),
    )
    db.commit()
    db.close()
    store = LocalStore(path)
    try:
        known = store.staff.known("1002")
        assert known is not None and known.offline_days is None
    finally:
        store.close()


# --- the push function on a real database: manager-only commands ----------------------------------------


class ApproveWriteOff(AdjustStock):
    """A manager-only stock command (returns will bring real ones): what an associate may not do."""

    name: ClassVar[str] = "approve_write_off"
    permission: ClassVar[Permission] = Permission.RETURNS_APPROVE


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    with database(request.param, tmp_path_factory.mktemp(f"actors-{request.param}")) as url:
        yield url, seed_database(url, skus=50, locations=3)


@pytest.fixture()
def manager_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(commands.COMMANDS, (ApproveWriteOff.name, ApproveWriteOff.version), ApproveWriteOff)


class Tablet:
    """An enrolled tablet on the database, its people signing in through access.sign_in (the real flow)."""

    def __init__(self, url: str, examples: dict) -> None:
        self.url, self.examples = url, examples
        self.engine = make_engine(url)
        with Session(self.engine) as s:
            device, self.token = enrolment.enrol(s, make_enrolment_code(url, "NYC-01"), "t")
            self.id = device.id
            s.commit()  # (access writes, the caller commits)
        self.next_id = 1

    def person(self, role: str) -> dict:
        return next(p for p in self.examples["sign_ins"] if p["role"] == role and p["store"] == "NYC-01")

    def sign_in(self, role: str) -> None:
        p = self.person(role)
        with Session(self.engine) as s:
            access.sign_in(s, self.token, p["staff_number"], p["pin"], hours=12)
            hour_ago = access.now_utc() - timedelta(hours=1)
            for row in s.execute(select(StaffSession).where(StaffSession.device_id == self.id)).scalars():
                # An hour ago, and signed out at once: what follows is done offline.
                row.created_at = row.last_seen_at = row.ended_at = hour_ago
            s.commit()

    def push(self, role: str, delta: int, name: str = ApproveWriteOff.name) -> tuple[str, str, str]:
        m = Mutation(
            id=self.next_id,
            name=name,
            args={"sku": SKU, "delta": delta, "reason": "damaged"},
            staff_number=self.person(role)["staff_number"],
            created_at=datetime.now(UTC),
        )
        self.next_id += 1
        with UnitOfWork(self.engine, Settings(offline_signin_days=7)) as uow:
            principal = Principal(role=Role.DEVICE, store_code="NYC-01", device_id=self.id, device_kind="tablet")
            [r] = server_push(uow, principal, [m]).results
        return r.status, r.reason, r.detail

    def audit(self) -> list[AuditLog]:
        return audit_rows(self.url, self.id)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture()
def tablet(seeded) -> Iterator[Tablet]:  # noqa: ANN001
    t = Tablet(*seeded)
    yield t
    t.close()


def test_manager_only_action_claimed_offline_applies_for_a_manager(tablet, manager_only):
    tablet.sign_in("manager")
    before = on_hand(tablet.url)
    assert tablet.push("manager", -1) == ("applied", "", "")
    assert on_hand(tablet.url) == before - 1
    [row] = tablet.audit()
    assert (row.outcome, row.detail["evidence"]["kind"], row.detail["manager_only"]) == ("ok", "offline_window", True)
    assert row.detail["claim"]["commands"] == ["approve_write_off"]


def test_manager_only_action_is_refused_to_an_associate_signed_in_here(tablet, manager_only):
    tablet.sign_in("associate")
    before = on_hand(tablet.url)
    status, reason, _ = tablet.push("associate", -1)
    assert (status, reason) == ("rejected", "reject.not_allowed")
    assert on_hand(tablet.url) == before
    [row] = tablet.audit()
    assert (row.outcome, row.detail["evidence"]["kind"]) == ("rejected", "offline_window")


def test_manager_only_action_without_a_sign_in_is_flagged_for_review(tablet, manager_only):
    tablet.sign_in("associate")  # somebody signed in here, but not the manager named
    before = on_hand(tablet.url)
    status, reason, detail = tablet.push("manager", -1)
    assert (status, reason) == ("rejected", "reject.not_allowed") and "has not signed in on this device" in detail
    assert on_hand(tablet.url) == before
    [row] = tablet.audit()
    assert (row.outcome, row.staff_number, row.detail["manager_only"]) == (
        "review",
        tablet.person("manager")["staff_number"],
        True,
    )
    assert row.store_code == "NYC-01"  # a manager of the store sees it in the store's audit log
    engine = make_engine(tablet.url)
    with Session(engine) as s:
        logged = s.execute(select(MutationLog).where(MutationLog.device_id == tablet.id)).scalar_one()
        device = s.get(Device, tablet.id)
    engine.dispose()
    assert logged.status == "rejected" and device is not None


def test_an_ordinary_action_without_a_sign_in_is_rejected_not_reviewed(tablet):
    status, reason, _ = tablet.push("associate", 1, name="adjust_stock")
    assert (status, reason) == ("rejected", "reject.not_allowed")
    [row] = tablet.audit()
    assert (row.outcome, row.detail["manager_only"]) == ("rejected", False)


def test_an_offline_window_of_zero_takes_only_open_sessions(tablet):
    """OFFLINE_SIGNIN_DAYS=0: no offline sign-in, so only a session that was open at the time shows anything."""
    p = tablet.person("associate")
    with Session(tablet.engine) as s:
        access.sign_in(s, tablet.token, p["staff_number"], p["pin"], hours=12)
        s.commit()  # (access writes, the caller commits)
    now = access.now_utc()
    with Session(tablet.engine) as s:  # signed in an hour ago, signed out half an hour ago
        s.execute(
            update(StaffSession)
            .where(StaffSession.device_id == tablet.id)
            .values(created_at=now - timedelta(hours=1), ended_at=now - timedelta(minutes=30))
        )
        s.commit()
    principal = Principal(role=Role.DEVICE, store_code="NYC-01", device_id=tablet.id, device_kind="tablet")

    def pushed(i: int, at: datetime) -> str:
        m = Mutation(
            id=i,
            name="adjust_stock",
            args={"sku": SKU, "delta": 1, "reason": "found"},
            staff_number=p["staff_number"],
            created_at=at,
        )
        with UnitOfWork(tablet.engine, Settings(offline_signin_days=0)) as uow:
            return server_push(uow, principal, [m]).results[0].status

    assert pushed(1, now - timedelta(minutes=45)) == "applied"  # while signed in
    assert pushed(2, now) == "rejected"  # after signing out: an offline sign-in, not allowed here
