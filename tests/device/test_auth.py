"""The device's access rules against a real backend: enrolment, online and offline sign-in, lockout,
idle sessions, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from store_associate.device.auth import DeviceAuth, Enrol, SignIn
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.domain.permissions import Permission
from tests.conftest import free_port


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def auth(sqlite_server, tmp_path, clock):
    store = LocalStore(tmp_path / "device.db")
    client = SyncClient(sqlite_server.url)
    a = DeviceAuth(store, client, idle=timedelta(minutes=30), offline_days=7, clock=clock)
    assert a.enrol(sqlite_server.enrolment_code("NYC-01"), "tablet 7") is Enrol.OK
    yield a
    client.close()
    store.close()


def go_offline(auth: DeviceAuth) -> None:
    token = auth.client.device_token
    auth.client = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    auth.client.device_token = token
    auth.client.on_refused = auth._on_refused


def test_enrolment(auth, sqlite_server, tmp_path):
    assert auth.enrolled and auth.store_code == "NYC-01" and auth.kind == "tablet" and not auth.revoked
    other = DeviceAuth(LocalStore(tmp_path / "other.db"), SyncClient(sqlite_server.url), timedelta(minutes=5), 7)
    assert other.enrol("WRONG-CODE", "x") is Enrol.INVALID and not other.enrolled
    offline = DeviceAuth(
        LocalStore(tmp_path / "off.db"), SyncClient(f"http://127.0.0.1:{free_port()}", 1), timedelta(minutes=5), 7
    )
    assert offline.enrol("ABCD-EFGH", "x") is Enrol.OFFLINE


def test_online_sign_in_caches_a_verifier_not_the_pin(auth, sqlite_server):
    person = sqlite_server.person("associate")
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK
    assert auth.session.token and not auth.session.offline and auth.session.role.value == "associate"
    known = auth.store.staff.known(person["staff_number"])
    assert known.verifier.startswith("scrypt$") and person["pin"] not in known.verifier
    raw = auth.store.path.read_bytes()
    assert f'"{person["pin"]}"'.encode() not in raw
    assert auth.can(Permission.CATALOG_READ) and not auth.can(Permission.DEVICES_MANAGE)
    auth.sign_out()
    auth.sign_out()  # twice is fine
    assert auth.session is None


def test_offline_sign_in_for_known_people_only(auth, sqlite_server, clock):
    known, stranger = sqlite_server.person("manager"), sqlite_server.person("associate")
    assert auth.sign_in(known["staff_number"], known["pin"]).outcome is SignIn.OK
    auth.sign_out()
    go_offline(auth)
    assert auth.sign_in(known["staff_number"], known["pin"]).outcome is SignIn.OK_OFFLINE
    assert auth.session.offline and auth.session.token is None and auth.can(Permission.DEVICES_MANAGE)
    auth.sign_out()
    assert auth.sign_in(stranger["staff_number"], stranger["pin"]).outcome is SignIn.OFFLINE_UNKNOWN
    # A verifier too old is not trusted.
    clock.now += timedelta(days=8)
    assert auth.sign_in(known["staff_number"], known["pin"]).outcome is SignIn.OFFLINE_UNKNOWN


def test_offline_wrong_pins_lock(auth, sqlite_server, clock):
    person = sqlite_server.person("associate")
    auth.sign_in(person["staff_number"], person["pin"])
    auth.sign_out()
    go_offline(auth)
    wrong = "0000" if person["pin"] != "0000" else "1111"
    outcomes = [auth.sign_in(person["staff_number"], wrong).outcome for _ in range(5)]
    assert outcomes == [SignIn.WRONG] * 4 + [SignIn.LOCKED]
    locked = auth.sign_in(person["staff_number"], person["pin"])
    assert locked.outcome is SignIn.LOCKED and locked.retry_after_s > 0
    clock.now += timedelta(minutes=5)
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK_OFFLINE


def test_online_refusals(auth, sqlite_server):
    person = sqlite_server.person("associate")
    assert auth.sign_in(person["staff_number"], "12").outcome is SignIn.WRONG  # not even sent
    assert auth.sign_in(person["staff_number"], "0000" if person["pin"] != "0000" else "1111").outcome is SignIn.WRONG
    boston = sqlite_server.person("associate", "BOS-01")
    assert auth.sign_in(boston["staff_number"], boston["pin"]).outcome is SignIn.OTHER_STORE


def test_idle_session_ends(auth, sqlite_server, clock):
    person = sqlite_server.person("associate")
    auth.sign_in(person["staff_number"], person["pin"])
    clock.now += timedelta(minutes=20)
    auth.touch()
    clock.now += timedelta(minutes=20)
    assert not auth.expired()
    clock.now += timedelta(minutes=31)
    assert auth.expired() and auth.session is None


def test_an_offline_session_ends_when_the_offline_window_does(auth, sqlite_server, clock):
    """However busy the person is: what they did after it would show no sign-in to the server, and be refused."""
    person = sqlite_server.person("associate")
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK
    auth.sign_out()
    go_offline(auth)
    clock.now += timedelta(days=7) - timedelta(minutes=50)
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK_OFFLINE
    for _ in range(2):  # active all along: never idle
        clock.now += timedelta(minutes=20)
        auth.touch()
        assert not auth.expired()
    clock.now += timedelta(minutes=20)
    auth.touch()
    assert auth.expired() and auth.session is None
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OFFLINE_UNKNOWN


def test_revoked_device_is_refused_and_keeps_its_data(auth, sqlite_server):
    person = sqlite_server.person("associate")
    auth.sign_in(person["staff_number"], person["pin"])
    manager = sqlite_server.sign_in("manager")
    r = httpx.post(f"{sqlite_server.url}/api/v1/devices/{auth.device_id}/revoke", headers=manager)
    assert r.status_code == 200
    from store_associate.device.sync_client import ServerRefused

    with pytest.raises(ServerRefused):
        auth.client.pull("NYC-01", 0, 10)
    assert auth.revoked and auth.session is None
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.REVOKED
    assert auth.store.staff.known(person["staff_number"]) is not None  # nothing local was wiped
    # Enrolled again with a new code, it works again.
    assert auth.enrol(sqlite_server.enrolment_code("NYC-01"), "tablet 7") is Enrol.OK and not auth.revoked
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK


def test_kiosk_has_no_sign_in(sqlite_server, tmp_path):
    a = DeviceAuth(LocalStore(tmp_path / "k.db"), SyncClient(sqlite_server.url), timedelta(minutes=5), 7)
    assert a.enrol(sqlite_server.enrolment_code("NYC-01", "kiosk"), "kiosk 1") is Enrol.OK
    person = sqlite_server.person("associate")
    assert a.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.KIOSK
    assert a.can(Permission.ORDER_REQUEST_CREATE) and not a.can(Permission.ORDERS_FULFIL)
