"""Auth writes go through the request's unit of work: a request that fails after it started writing leaves
nothing behind, while a refused sign-in's lockout counters and audit row are kept although it fails too.

The app is served in this process (tests/server/test_settings.py's `serving`), so that a test can make a route
fail half-way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.credentials import normalise_enrolment_code, token_hash
from store_associate.server.api import auth as auth_api
from store_associate.server.api import devices as devices_api
from store_associate.server.models import AuditLog, Device, EnrolmentCode, Staff, StaffSession
from tests.conftest import database, make_enrolment_code, seed_database
from tests.server.test_settings import serving

# On the request that fails: uvicorn drops the connection after an unhandled error (once the 500 is sent), and
# the client would otherwise send its next request on it.
ONCE = {"Connection": "close"}


@dataclass
class InProcess:
    url: str
    client: httpx.Client
    engine: Engine
    person: dict


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with database(request.param, tmp_path_factory.mktemp(f"auth-uow-{request.param}")) as url:
        examples = seed_database(url, skus=30, locations=3)
        person = next(p for p in examples["sign_ins"] if p["role"] == "associate" and p["store"] == examples["store"])
        with (
            serving(Settings(database_url=url, order_clock_seconds=3600)) as (served, built),
            httpx.Client(base_url=served, timeout=30) as client,
        ):
            yield InProcess(url, client, built.state.engine, person)


def enrol(app: InProcess) -> tuple[dict[str, str], str]:
    r = app.client.post(
        "/api/v1/devices/enrol", json={"code": make_enrolment_code(app.url, app.person["store"]), "name": "uow"}
    )
    assert r.status_code == 201, r.text
    return {"X-Device-Token": r.json()["device_token"]}, r.json()["device_id"]


def state(app: InProcess, device_id: str) -> dict:
    """What the database holds of this device's sign-ins."""
    with Session(app.engine) as s:
        staff = s.execute(select(Staff).where(Staff.staff_number == app.person["staff_number"])).scalar_one()
        device = s.get(Device, device_id)
        audit = s.execute(
            select(AuditLog.outcome).where(AuditLog.device_id == device_id, AuditLog.action == "sign_in")
        ).scalars()
        sessions = s.execute(
            select(func.count()).select_from(StaffSession).where(StaffSession.device_id == device_id)
        ).scalar_one()
        return {
            "staff_failed": staff.failed_attempts,
            "device_failed": device.failed_signins,
            "audit": sorted(audit),
            "sessions": sessions,
        }


def test_a_refused_sign_in_is_kept_and_a_failed_one_is_rolled_back_as_a_whole(
    app: InProcess, monkeypatch: pytest.MonkeyPatch
):
    device, device_id = enrol(app)
    number, pin = app.person["staff_number"], app.person["pin"]
    wrong = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))

    # Refused (401): the request fails, and its counters and audit row are what it must leave behind.
    r = app.client.post("/api/v1/auth/sign-in", headers=device, json={"staff_number": number, "pin": wrong})
    assert r.status_code == 401 and r.json()["detail"]["error"] == "signin.wrong"
    refused = {"staff_failed": 1, "device_failed": 1, "audit": ["refused"], "sessions": 0}
    assert state(app, device_id) == refused

    # The right PIN, but the answer cannot be made after the sign-in was written (the counters reset, the
    # session and its audit row added): none of it stays.
    def broken(_role: object) -> list[str]:
        raise RuntimeError("the answer could not be made")

    monkeypatch.setattr(auth_api, "_perms", broken)
    r = app.client.post("/api/v1/auth/sign-in", headers={**device, **ONCE}, json={"staff_number": number, "pin": pin})
    assert r.status_code == 500 and r.json()["detail"]["error"] == "server.error"
    assert state(app, device_id) == refused

    monkeypatch.undo()
    r = app.client.post("/api/v1/auth/sign-in", headers=device, json={"staff_number": number, "pin": pin})
    assert r.status_code == 200, r.text
    assert state(app, device_id) == {"staff_failed": 0, "device_failed": 0, "audit": ["ok", "refused"], "sessions": 1}


def test_an_enrolment_whose_answer_failed_leaves_the_code_unused(app: InProcess, monkeypatch: pytest.MonkeyPatch):
    code = make_enrolment_code(app.url, app.person["store"])

    def broken(**_fields: object) -> None:
        raise RuntimeError("the answer could not be made")

    monkeypatch.setattr(devices_api, "EnrolOut", broken)
    r = app.client.post("/api/v1/devices/enrol", headers=ONCE, json={"code": code, "name": "lost"})
    assert r.status_code == 500
    with Session(app.engine) as s:
        # No device, no used code: the device it was for never got a token, so nothing may hold one.
        assert s.execute(select(Device).where(Device.name == "lost")).first() is None
        row = s.execute(
            select(EnrolmentCode).where(EnrolmentCode.code_hash == token_hash(normalise_enrolment_code(code)))
        ).scalar_one()
        assert row.used_at is None and row.device_id is None

    monkeypatch.undo()
    r = app.client.post("/api/v1/devices/enrol", json={"code": code, "name": "found"})
    assert r.status_code == 201, r.text  # a first use, not a retry: the failed one left no trace
