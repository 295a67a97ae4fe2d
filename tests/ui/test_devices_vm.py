"""Issue 12 item 6: the managers' device list marks the device they are signed in on and offers no way to
revoke it; if the server is asked anyway, its refusal reads as the reason. A real device (its own SQLite
file) against the real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from store_associate.device.auth import DeviceAuth, Enrol, SignIn
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.ui import i18n
from store_associate.ui.access_vm import DevicesViewModel

STORE = "DEN-01"  # a store of its own, so the list holds only what these tests enrol


@pytest.fixture(autouse=True)
def english():
    i18n.set_locale("en")
    yield
    i18n.set_locale("en")


def signed_in_manager(server, db_path) -> DeviceAuth:  # noqa: ANN001
    auth = DeviceAuth(LocalStore(db_path), SyncClient(server.url), idle=timedelta(minutes=30), offline_days=7)
    assert auth.enrol(server.enrolment_code(STORE), "counter") is Enrol.OK
    person = server.person("manager", STORE)
    assert auth.sign_in(person["staff_number"], person["pin"]).outcome is SignIn.OK
    return auth


@pytest.fixture()
def manager(sqlite_server, tmp_path):
    auth = signed_in_manager(sqlite_server, tmp_path / "m.db")
    yield auth
    auth.client.close()
    auth.store.close()


def vm_for(auth: DeviceAuth) -> DevicesViewModel:
    return DevicesViewModel(auth, auth.client, STORE, lambda: datetime.now(UTC))


def server_devices(server, auth: DeviceAuth) -> dict[str, dict]:  # noqa: ANN001
    headers = {"X-Device-Token": auth.client.device_token, "Authorization": f"Bearer {auth.client.session_token}"}
    return {
        d["id"]: d for d in httpx.get(f"{server.url}/api/v1/devices", headers=headers, params={"store": STORE}).json()
    }


def test_the_device_in_use_is_marked_and_cannot_be_revoked_here(manager, sqlite_server):
    sqlite_server.enrol(STORE)  # another device of the store, which may be revoked from here
    vm = vm_for(manager)
    vm.load()
    mine = [r for r in vm.state.rows if r.this_device]
    assert [r.id for r in mine] == [manager.device_id]
    row = mine[0]
    assert not row.can_revoke
    assert row.note == "You are signed in on this device: remove it from another device of the store."
    others = [r for r in vm.state.rows if not r.this_device and not r.revoked]
    assert others and all(r.can_revoke and not r.note for r in others)
    # Asked anyway (a stale screen, a keyboard shortcut): nothing is sent, the reason is shown.
    vm.revoke(manager.device_id)
    assert vm.state.notice.error and "another device" in vm.state.notice.text
    assert server_devices(sqlite_server, manager)[manager.device_id]["revoked_at"] is None
    assert manager.session is not None


def test_the_servers_refusal_to_revoke_its_callers_device_reads_as_the_reason(manager, sqlite_server, tmp_path):
    # A screen whose idea of "this device" is another one (here: a second device's view-model fed the first
    # device's connection), so the request does reach the server, which refuses it.
    other = signed_in_manager(sqlite_server, tmp_path / "o.db")
    try:
        vm = DevicesViewModel(other, manager.client, STORE, lambda: datetime.now(UTC))
        vm.revoke(manager.device_id)
        assert vm.state.notice.error
        assert vm.state.notice.text == i18n.t("devices.error.self")
        assert server_devices(sqlite_server, manager)[manager.device_id]["revoked_at"] is None
        # Revoking the other device from here works, and is offered.
        vm = vm_for(manager)
        vm.load()
        assert next(r for r in vm.state.rows if r.id == other.device_id).can_revoke
        vm.revoke(other.device_id)
        assert not vm.state.notice.error
        assert server_devices(sqlite_server, manager)[other.device_id]["revoked_at"]
    finally:
        other.client.close()
        other.store.close()


@pytest.mark.parametrize("locale", ["es", "ar"])
def test_the_mark_and_the_reason_are_translated(manager, locale):
    i18n.set_locale(locale)
    vm = vm_for(manager)
    vm.load()
    row = next(r for r in vm.state.rows if r.this_device)
    english = i18n.catalogue("en")
    assert row.note and row.note != english["devices.this_note"]
    assert i18n.t("devices.this_device") != english["devices.this_device"]


def test_the_view_draws_the_mark_and_no_remove_button_for_this_device(manager, sqlite_server):
    import flet as ft

    from store_associate.ui.views.devices import DevicesView

    async def back(_e: ft.Event) -> None:
        return None

    sqlite_server.enrol(STORE)
    vm = vm_for(manager)
    vm.load()
    view = DevicesView(vm, page=None, on_back=back)  # render() needs no page; only _run updates it
    view.render()
    tiles = {s.identifier: s.content for s in view.list.controls}
    mine = tiles[f"device-{manager.device_id[:8]}"]
    assert not isinstance(mine.trailing, ft.TextButton)
    assert mine.trailing.identifier == "device-this" and mine.trailing.content.value == "This device"
    assert mine.trailing.content.tooltip == i18n.t("devices.this_note")
    assert any(getattr(c, "value", "") == i18n.t("devices.this_note") for c in mine.subtitle.controls)
    others = [tile for ident, tile in tiles.items() if ident != f"device-{manager.device_id[:8]}"]
    assert any(isinstance(tile.trailing, ft.TextButton) and tile.trailing.content == "Remove" for tile in others)
