"""Enrolment, sign-in, lockout, sessions, revocation and the audit log, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from store_associate.server.models import Staff, StaffSession
from tests.server.conftest import db_exec


def test_enrolment_code_works_once(api, server):
    code = server.enrolment_code("NYC-01", "desktop")
    first = api.post("/api/v1/devices/enrol", json={"code": code.lower().replace("-", " "), "name": "counter 2"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["store"] == "NYC-01" and body["kind"] == "desktop" and len(body["device_token"]) >= 40
    again = api.post("/api/v1/devices/enrol", json={"code": code, "name": "thief"})
    assert again.status_code == 400 and again.json()["detail"]["error"] == "enrol.code_invalid"


def test_expired_and_unknown_enrolment_codes(api, server):
    expired = server.enrolment_code("NYC-01", "tablet", minutes=-1)
    for code in (expired, "ZZZZ-ZZZZ", "<script>", "x" * 20):
        r = api.post("/api/v1/devices/enrol", json={"code": code})
        assert r.status_code == 400, r.text
        assert "Ask a manager" in r.json()["detail"]["message"]


def test_manager_creates_code_only_for_own_store(api, server):
    manager = server.sign_in("manager")
    ok = api.post("/api/v1/devices/enrolment-codes", headers=manager, json={"store": "NYC-01", "kind": "kiosk"})
    assert ok.status_code == 201 and len(ok.json()["code"]) == 9
    other = api.post("/api/v1/devices/enrolment-codes", headers=manager, json={"store": "BOS-01", "kind": "kiosk"})
    assert other.status_code == 403
    associate = server.sign_in("associate")
    assert (
        api.post(
            "/api/v1/devices/enrolment-codes", headers=associate, json={"store": "NYC-01", "kind": "kiosk"}
        ).status_code
        == 403
    )
    kiosk = api.post("/api/v1/devices/enrol", json={"code": ok.json()["code"]}).json()
    assert kiosk["kind"] == "kiosk"
    me = api.get("/api/v1/auth/me", headers={"X-Device-Token": kiosk["device_token"]}).json()
    assert me["role"] == "kiosk" and "order_request.create" in me["permissions"] and me["staff"] is None


def test_sign_in_me_sign_out(api, server):
    device = server.enrol("NYC-01")
    person = server.person("associate")
    r = api.post(
        "/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": person["pin"]}
    )
    assert r.status_code == 200, r.text
    token = r.json()["session_token"]
    headers = {**device, "Authorization": f"Bearer {token}"}
    me = api.get("/api/v1/auth/me", headers=headers).json()
    assert me["staff"]["staff_number"] == person["staff_number"] and me["role"] == "associate"
    assert api.post("/api/v1/auth/sign-out", headers=headers).status_code == 200
    after = api.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401 and after.json()["detail"]["error"] == "session.invalid"
    # A session token is bound to its device.
    r = api.post(
        "/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": person["pin"]}
    )
    stolen = {**server.enrol("NYC-01"), "Authorization": f"Bearer {r.json()['session_token']}"}
    assert api.get("/api/v1/auth/me", headers=stolen).status_code == 401


def test_sign_in_refusals(api, server):
    device = server.enrol("NYC-01")
    person = server.person("associate")
    cases = [
        ({"staff_number": person["staff_number"], "pin": "0000" if person["pin"] != "0000" else "1111"}, 401),
        ({"staff_number": "no-such", "pin": "1234"}, 401),
        ({"staff_number": person["staff_number"], "pin": "12"}, 401),
        ({"staff_number": person["staff_number"]}, 422),
        ({"staff_number": person["staff_number"], "pin": 1234}, 422),
    ]
    for body, status in cases:
        r = api.post("/api/v1/auth/sign-in", headers=device, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"]["message"]
    boston = server.person("associate", "BOS-01")
    r = api.post(
        "/api/v1/auth/sign-in", headers=device, json={"staff_number": boston["staff_number"], "pin": boston["pin"]}
    )
    assert r.status_code == 403 and r.json()["detail"]["error"] == "signin.other_store"
    assert api.post("/api/v1/auth/sign-in", json={"staff_number": "1", "pin": "1234"}).status_code == 401


def test_pin_lockout_per_staff_member(api, server):
    person = server.person("associate", "BOS-01")
    wrong = "9999" if person["pin"] != "9999" else "8888"
    statuses = []
    for _ in range(5):
        device = server.enrol("BOS-01")  # new devices each time: this is the staff member's own lock
        r = api.post(
            "/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": wrong}
        )
        statuses.append(r.status_code)
    assert statuses == [401, 401, 401, 401, 423]  # the attempt that locks says so
    r = api.post(
        "/api/v1/auth/sign-in",
        headers=server.enrol("BOS-01"),
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    assert r.status_code == 423, r.text
    assert r.json()["detail"]["error"] == "signin.staff_locked" and int(r.headers["retry-after"]) > 0
    assert "Try again in" in r.json()["detail"]["message"]
    # The lock runs out (moved into the past here rather than waited for), then the right PIN works.
    db_exec(
        server,
        update(Staff)
        .where(Staff.staff_number == person["staff_number"])
        .values(locked_until=datetime.now(UTC) - timedelta(seconds=1)),
    )
    r = api.post(
        "/api/v1/auth/sign-in",
        headers=server.enrol("BOS-01"),
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    assert r.status_code == 200


def test_pin_lockout_per_device(api, server):
    device = server.enrol("PHL-01")
    statuses = [
        api.post("/api/v1/auth/sign-in", headers=device, json={"staff_number": f"nobody{i}", "pin": "1234"}).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 423]
    person = server.person("associate", "PHL-01")
    r = api.post(
        "/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": person["pin"]}
    )
    assert r.status_code == 423 and r.json()["detail"]["error"] == "signin.device_locked"


def test_expired_and_idle_sessions(api, server):
    headers = server.sign_in("associate", "CHI-01")
    assert api.get("/api/v1/auth/me", headers=headers).status_code == 200
    db_exec(
        server,
        update(StaffSession)
        .where(StaffSession.ended_at.is_(None))
        .values(last_seen_at=datetime.now(UTC) - timedelta(hours=2)),
    )
    r = api.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["detail"]["error"] == "session.expired"
    headers = server.sign_in("associate", "CHI-01")
    db_exec(
        server,
        update(StaffSession)
        .where(StaffSession.ended_at.is_(None))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)),
    )
    assert api.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_revoked_device_is_refused_at_once(api, server):
    manager = server.sign_in("manager", "SEA-01")
    clerk = server.sign_in("associate", "SEA-01")
    device_id = api.get("/api/v1/auth/me", headers=clerk).json()["device_id"]
    assert api.get("/api/v1/products/search", headers=clerk, params={"q": "pasta"}).status_code == 200
    r = api.post(f"/api/v1/devices/{device_id}/revoke", headers=manager)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert api.post(f"/api/v1/devices/{device_id}/revoke", headers=manager).status_code == 200  # twice is fine
    refused = api.get("/api/v1/products/search", headers=clerk, params={"q": "pasta"})
    assert refused.status_code == 401 and refused.json()["detail"]["error"] == "device.revoked"
    devices = api.get("/api/v1/devices", headers=manager, params={"store": "SEA-01"}).json()
    assert any(d["id"] == device_id and d["revoked_at"] for d in devices)
    # Another store's manager can neither see nor revoke it.
    other = server.sign_in("manager", "PDX-01")
    assert api.post(f"/api/v1/devices/{device_id}/revoke", headers=other).status_code == 404
    assert api.get("/api/v1/devices", headers=other, params={"store": "SEA-01"}).status_code == 403


def test_audit_log_records_without_secrets(api, server):
    person = server.person("manager", "MIA-01")
    device = server.enrol("MIA-01")
    api.post("/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": "0000"})
    r = api.post(
        "/api/v1/auth/sign-in", headers=device, json={"staff_number": person["staff_number"], "pin": person["pin"]}
    )
    manager = {**device, "Authorization": f"Bearer {r.json()['session_token']}"}
    log = api.get("/api/v1/audit", headers=manager, params={"store": "MIA-01"}).json()
    actions = [(e["action"], e["outcome"]) for e in log]
    assert ("sign_in", "ok") in actions and ("enrol", "ok") in actions
    text = str(log)
    assert person["pin"] not in text.replace(person["staff_number"], "")
    assert r.json()["session_token"] not in text and device["X-Device-Token"] not in text


def test_web_shop_key_does_nothing_else(api, server):
    key = {"X-Api-Key": server.examples["web_shop_key"]}
    me = api.get("/api/v1/auth/me", headers=key).json()
    assert me["role"] == "web_shop" and me["permissions"] == ["order.intake"]
    for path, params in (
        ("/api/v1/products/search", {"q": "pasta"}),
        ("/api/v1/stores", {}),
        ("/api/v1/sync/pull", {"store": "NYC-01"}),
    ):
        assert api.get(path, headers=key, params=params).status_code == 403
    assert api.get("/api/v1/stores", headers={"X-Api-Key": "wrong"}).status_code == 401
