"""Issue 12 item 3, end to end: a device whose enrolment answer is lost on the way back retries with the
enrolment id it kept, and ends up enrolled as the device the server made. A real server (SQLite and
PostgreSQL), the fault proxy in between losing the answers, the device's own SQLite file."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from store_associate.device.auth import DeviceAuth, Enrol, SignIn
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.domain.credentials import normalise_enrolment_code, token_hash
from store_associate.server.db import make_engine
from store_associate.server.models import Device as ServerDevice
from store_associate.server.models import EnrolmentCode
from tests.sync.faultproxy import FaultProxy, Request

ENROL = "/api/v1/devices/enrol"


class LosesEnrolAnswers(FaultProxy):
    """Forwards the first `lose` enrolment requests to the server, which applies them, and then closes the
    connection without an answer (the "cut" fault, for enrolment). Everything else passes through."""

    def __init__(self, upstream: str, lose: int) -> None:
        super().__init__(upstream, seed=0)
        self.lose = lose
        self.enrol_bodies: list[dict] = []

    async def _handle(self, request: Request, writer) -> None:  # noqa: ANN001
        if request.target == ENROL and request.method == "POST":
            self.enrol_bodies.append(json.loads(request.body))
            if self.lose > 0:
                self.lose -= 1
                await self._forward(request)  # enrolled on the server ...
                return  # ... and the answer is lost with the connection
        await super()._handle(request, writer)


@pytest.fixture()
def proxy(server):
    p = LosesEnrolAnswers(server.url, lose=0).start()
    yield p
    p.stop()


def device_auth(db_path, url: str) -> DeviceAuth:  # noqa: ANN001
    return DeviceAuth(LocalStore(db_path), SyncClient(url, timeout=5), idle=timedelta(minutes=30), offline_days=7)


def close(auth: DeviceAuth) -> None:
    auth.client.close()
    auth.store.close()


def code_row(server, code: str) -> EnrolmentCode:  # noqa: ANN001
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        row = s.execute(
            select(EnrolmentCode).where(EnrolmentCode.code_hash == token_hash(normalise_enrolment_code(code)))
        ).scalar_one()
    engine.dispose()
    return row


def devices_named(server, name: str) -> list[ServerDevice]:  # noqa: ANN001
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        rows = list(s.execute(select(ServerDevice).where(ServerDevice.name == name)).scalars())
    engine.dispose()
    return rows


def test_a_lost_answer_is_retried_and_the_device_is_the_one_the_server_made(server, proxy, tmp_path):
    proxy.lose = 1
    name = f"lost-{uuid.uuid4().hex[:8]}"
    code = server.enrolment_code("NYC-01")
    auth = device_auth(tmp_path / "d.db", proxy.url_for("tab"))
    try:
        assert auth.enrol(code, name) is Enrol.OK
        made = devices_named(server, name)
        assert len(made) == 1 and auth.device_id == made[0].id == code_row(server, code).device_id
        first, second = proxy.enrol_bodies
        assert first["enrolment_id"] == second["enrolment_id"] and first["code"] == second["code"]
        assert second["attempt"] > first["attempt"]
        # The token the device kept works; the one lost on the way is refused.
        person = server.person("associate", "NYC-01")
        assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK
    finally:
        close(auth)


def test_a_device_that_gave_up_or_crashed_resumes_with_the_same_pair(server, proxy, tmp_path):
    proxy.lose = 10  # every send applied, no answer: the device gives up for now
    name = f"crash-{uuid.uuid4().hex[:8]}"
    code = server.enrolment_code("NYC-01", "desktop")
    auth = device_auth(tmp_path / "d.db", proxy.url_for("tab"))
    assert auth.enrol(code, name) is Enrol.OFFLINE and not auth.enrolled
    sent = len(proxy.enrol_bodies)
    assert sent >= 2 and len({b["enrolment_id"] for b in proxy.enrol_bodies}) == 1
    close(auth)  # the app is closed (or killed) here; it starts again on the same file
    raw = (tmp_path / "d.db").read_bytes()
    compact = normalise_enrolment_code(code).replace("-", "")
    assert code.encode() not in raw and compact.encode() not in raw  # the code itself is not kept
    proxy.lose = 0
    auth = device_auth(tmp_path / "d.db", proxy.url_for("tab"))
    try:
        assert auth.enrol(code, name) is Enrol.OK
        again = proxy.enrol_bodies[sent]
        assert again["enrolment_id"] == proxy.enrol_bodies[0]["enrolment_id"]
        assert again["attempt"] > max(b["attempt"] for b in proxy.enrol_bodies[:sent])
        made = devices_named(server, name)
        assert len(made) == 1 and auth.device_id == made[0].id and auth.kind == "desktop"
        r = httpx.get(f"{server.url}/api/v1/auth/me", headers={"X-Device-Token": auth.client.device_token})
        assert r.status_code == 200 and r.json()["device_id"] == made[0].id
    finally:
        close(auth)


def test_a_new_code_typed_starts_a_new_enrolment_id(server, proxy, tmp_path):
    proxy.lose = 10
    name = f"new-{uuid.uuid4().hex[:8]}"
    lost_code, new_code = server.enrolment_code("NYC-01"), server.enrolment_code("NYC-01", "kiosk")
    auth = device_auth(tmp_path / "d.db", proxy.url_for("tab"))
    try:
        assert auth.enrol(lost_code, name) is Enrol.OFFLINE
        sent = len(proxy.enrol_bodies)
        proxy.lose = 0
        assert auth.enrol(new_code, name) is Enrol.OK and auth.kind == "kiosk"
        assert proxy.enrol_bodies[sent]["enrolment_id"] != proxy.enrol_bodies[0]["enrolment_id"]
        assert proxy.enrol_bodies[sent]["attempt"] == 1
        assert auth.device_id == code_row(server, new_code).device_id
    finally:
        close(auth)


def test_a_refused_code_is_forgotten_and_refused_again_without_a_retry_of_the_old_pair(server, proxy, tmp_path):
    code = server.enrolment_code("NYC-01")
    someone = httpx.post(f"{server.url}{ENROL}", json={"code": code, "name": "first"})
    assert someone.status_code == 201  # another device took the code
    auth = device_auth(tmp_path / "d.db", proxy.url_for("tab"))
    try:
        assert auth.enrol(code, "second") is Enrol.INVALID and not auth.enrolled
        assert len(proxy.enrol_bodies) == 1  # a refusal is an answer: no retry
        assert auth.enrol(code, "second") is Enrol.INVALID
        assert proxy.enrol_bodies[1]["enrolment_id"] != proxy.enrol_bodies[0]["enrolment_id"]
    finally:
        close(auth)
