"""Enrolment, sign-in, PIN lockout, a manager's device list, and a revoked device, in the browser."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RunningServer
from tests.e2e.conftest import (
    SYNC,
    by_id,
    expect,
    fill_field,
    fresh_backend,
    open_app,
    shot,
    sign_in_ui,
    start_app,
    stop_process,
)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def backend(tmp_path, seeded) -> Iterator[RunningServer]:
    """This test's own server: a lockout or a revoked device of one test never reaches another."""
    server = fresh_backend(tmp_path, seeded)
    yield server
    stop_process(server.proc)


@pytest.fixture()
def app(backend, tmp_path):
    procs: list[subprocess.Popen] = []

    def start(enrolment_code: str = "") -> str:
        url, proc = start_app(
            backend.url,
            "NYC-01",
            tmp_path / f"device{len(procs)}.db",
            tmp_path / f"app{len(procs)}.log",
            enrolment_code,
        )
        procs.append(proc)
        return url

    yield start
    stop_process(*procs)


def test_enrol_then_sign_in_then_locked_out(browser, backend, app):
    page = open_app(browser, app())
    expect(page.get_by_text("Enrol this device")).to_be_visible(timeout=SYNC)
    shot(page, "10-enrol")
    fill_field(page, "Enrolment code", backend.enrolment_code("NYC-01"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Staff number")).to_be_visible(timeout=SYNC)
    person = backend.person("admin")
    wrong = "0000" if person["pin"] != "0000" else "1111"
    sign_in_ui(page, person["staff_number"], wrong)
    expect(by_id(page, "signin-message")).to_have_text("The staff number or PIN is wrong. Check both and try again.")
    for _ in range(4):
        sign_in_ui(page, person["staff_number"], wrong)
    expect(by_id(page, "signin-message")).to_contain_text("Too many wrong PINs. Try again in")
    # Even the right PIN is refused now, with the same clear message.
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "signin-message")).to_contain_text("Too many wrong PINs")
    shot(page, "11-pin-locked")
    page.context.close()


def test_manager_sees_devices_and_revoked_device_is_refused(browser, backend, app):
    clerk_page = open_app(browser, app(backend.enrolment_code("NYC-01")))
    clerk = backend.person("associate")
    sign_in_ui(clerk_page, clerk["staff_number"], clerk["pin"])
    expect(by_id(clerk_page, "user-name")).to_contain_text(clerk["name"], timeout=SYNC)
    # Associates do not get the device list.
    assert by_id(clerk_page, "open-devices").count() == 0

    manager_page = open_app(browser, app(backend.enrolment_code("NYC-01")))
    manager = backend.person("manager")
    sign_in_ui(manager_page, manager["staff_number"], manager["pin"])
    expect(by_id(manager_page, "user-name")).to_contain_text("manager", timeout=SYNC)
    by_id(manager_page, "open-devices").click()
    expect(manager_page.locator("span", has_text="Devices of this store")).to_be_visible()
    expect(manager_page.get_by_role("button", name="Remove").first).to_be_visible()
    by_id(manager_page, "new-code-kiosk").click()
    expect(by_id(manager_page, "devices-notice")).to_contain_text("Enrolment code for a kiosk")
    shot(manager_page, "12-devices")

    # Revoke the clerk's tablet (through the API, as the manager's own screen would).
    headers = backend.sign_in("manager")
    devices = httpx.get(f"{backend.url}/api/v1/devices", headers=headers, params={"store": "NYC-01"}).json()
    clerk_device = next(d for d in devices if d["name"] == "provisioned device" and not d["revoked_at"])
    assert httpx.post(f"{backend.url}/api/v1/devices/{clerk_device['id']}/revoke", headers=headers).status_code == 200
    clerk_page.bring_to_front()  # a background tab does not repaint its canvas
    by_id(clerk_page, "sync-now").click()
    expect(by_id(clerk_page, "revoked-title")).to_have_text("This device was removed", timeout=SYNC)
    expect(by_id(clerk_page, "revoked-body")).to_contain_text("Ask a manager to enrol it again")
    shot(clerk_page, "13-device-revoked")
    clerk_page.context.close()
    manager_page.context.close()
