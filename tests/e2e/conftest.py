"""The device app in web mode on localhost, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.conftest import (
    ARTIFACTS,
    Inbox,
    RunningServer,
    free_port,
    seed_database,
    smtp_server,
    start_server,
    wait_http,
)

CHROMIUM = os.environ.get("STORE_ASSOCIATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]
SHOTS = ARTIFACTS / "e2e"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `bash dev setup` (apt-get install chromium).")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class AppUnderTest:
    url: str
    backend: RunningServer
    proc: subprocess.Popen
    log: Path
    device_db: Path


def start_app(backend_url: str, store: str, device_db: Path, log: Path, enrolment_code: str = "",
              extra_env: dict | None = None) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "FLET_WEB_NO_CDN": "1", **(extra_env or {})}
    env.pop("DISPLAY", None)
    args = ["--enrolment-code", enrolment_code] if enrolment_code else []
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "store_associate", "app", "--port", str(port), "--server-url", backend_url,
         "--store", store, "--device-db", str(device_db), *args],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc)
    return url, proc


@pytest.fixture(scope="module")
def app_under_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppUnderTest]:
    with served_app(tmp_path_factory.mktemp("e2e")) as app:
        yield app


@contextmanager
def served_app(tmp: Path, extra_env: dict | None = None) -> Iterator[AppUnderTest]:
    """A seeded backend on a SQLite file and the app for NYC-01 enrolled on it, both stopped afterwards."""
    url = f"sqlite:///{tmp / 'server.db'}"
    server = start_server(url, seed_database(url), extra_env=extra_env)
    device_db, log = tmp / "device.db", tmp / "app.log"
    app_url, proc = start_app(server.url, "NYC-01", device_db, log, server.enrolment_code("NYC-01"))
    try:
        yield AppUnderTest(app_url, server, proc, log, device_db)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.stop()


@contextmanager
def served_app_with_mail(tmp: Path) -> Iterator[tuple[RunningServer, str, Inbox]]:
    """served_app, its customer e-mails delivered to a local SMTP server whose inbox is yielded."""
    with smtp_server() as (inbox, port), served_app(tmp, {"STORE_ASSOCIATE_SMTP_HOST": "127.0.0.1",
                                                          "STORE_ASSOCIATE_SMTP_PORT": str(port)}) as app:
        yield app.backend, app.url, inbox


def open_app(browser: Browser, url: str, width: int = 1280, height: int = 900,
             permissions: list[str] | None = None) -> Page:
    """Open the app and switch on Flutter's semantics tree so controls appear in the DOM."""
    context = browser.new_context(viewport={"width": width, "height": height}, permissions=permissions or [])
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("!document.getElementById('loading')", timeout=60_000)
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=60_000)
    placeholder.dispatch_event("click")
    page.locator("flt-semantics").first.wait_for(state="attached", timeout=30_000)
    return page


def at_product_signed_in(browser: Browser, server: RunningServer, url: str) -> tuple[Page, dict]:
    """The app open, the store's associate signed in and synced, the in-stock example product scanned.
    Returns the page and the example (sku, gtin, name)."""
    ex = server.examples["in_stock_here"]
    page = open_app(browser, url)
    person = server.person("associate")
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=20_000)
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=30_000)
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"], timeout=10_000)
    return page, ex


def by_id(page: Page, identifier: str) -> Locator:
    return page.locator(f'[flt-semantics-identifier="{identifier}"]')


def wedge_scan(page: Page, code: str, field_label: str = "Scan or type a code") -> None:
    """What a keyboard-wedge scanner does: characters into the focused field, then Enter. No mouse.

    Flutter can drop the first keystrokes while its text-input connection attaches, so the typed
    value is checked before Enter (and typed again if it did not arrive whole)."""
    # Focus is on the field's semantics <input> (labelled) or on Flutter's own editing element.
    page.wait_for_function(
        """l => { const e = document.activeElement;
                 return !!e && e.tagName === 'INPUT' && ((e.getAttribute('aria-label') || '').startsWith(l)
                                                         || e.classList.contains('flt-text-editing')); }""",
        arg=field_label, timeout=15_000)
    for _ in range(3):
        page.keyboard.type(code)
        try:
            page.wait_for_function("c => document.activeElement && document.activeElement.value === c",
                                   arg=code, timeout=3_000)
            break
        except Exception:  # noqa: BLE001 - retype after clearing
            page.keyboard.press("Control+A")
            page.keyboard.press("Backspace")
    page.keyboard.press("Enter")


def fill_field(page: Page, label: str, text: str) -> None:
    """Click a field and type into it (Flutter needs the field focused before keys arrive)."""
    field = page.get_by_label(label)
    for attempt in range(3):
        try:
            # A first frame can still be laying out (fonts arriving): click again rather than wait long.
            field.click(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - retried; the last attempt raises
            if attempt == 2:
                raise
    page.wait_for_function(
        "() => { const e = document.activeElement; return !!e && e.tagName === 'INPUT'; }", timeout=10_000)
    for _ in range(3):
        page.keyboard.press("Control+A")
        page.keyboard.press("Backspace")
        page.keyboard.type(text)
        try:
            page.wait_for_function("t => document.activeElement && document.activeElement.value === t",
                                   arg=text, timeout=3_000)
            return
        except Exception:  # noqa: BLE001 - first keys lost while the input attached: retype
            continue
    raise AssertionError(f"could not type into {label!r}")


_ANSWERED = """before => {
    const m = document.querySelector('[flt-semantics-identifier="signin-message"]');
    const signedIn = document.querySelector('[flt-semantics-identifier="user-name"]');
    return !!signedIn || (!!m && m.id !== before);
}"""


def sign_in_ui(page: Page, staff_number: str, pin: str) -> None:
    """Type staff number and PIN, press Enter, and wait until the app has answered: either the person
    is signed in, or a new message was drawn (every answer draws a new message node)."""
    fill_field(page, "Staff number", staff_number)
    fill_field(page, "PIN", pin)
    before = page.evaluate(
        "() => (document.querySelector('[flt-semantics-identifier=\"signin-message\"]') || {}).id || ''")
    page.keyboard.press("Enter")
    page.wait_for_function(_ANSWERED, arg=before, timeout=20_000)


def ensure_signed_in(page: Page, person: dict) -> None:
    """Sign the person in unless the device still has them. The web app shares one device (and its
    signed-in session) between browser tabs, and a new tab draws its first screen a moment after the
    semantics tree appears: wait for either the person or the sign-in form before deciding."""
    by_id(page, "user-name").or_(page.get_by_label("Staff number")).first.wait_for(timeout=30_000)
    if by_id(page, "user-name").count() == 0:
        sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=20_000)


def mail_for(inbox: Inbox, number: str, subject_part: str) -> EmailMessage:
    """The e-mail about the order, waiting up to a minute for the server's sender to deliver it."""
    seen = 0
    for _ in range(6):
        messages = list(inbox.messages)
        found = [m for m in messages if number in m["Subject"] and subject_part in m["Subject"]]
        if found:
            return found[-1]
        seen = len(messages)
        inbox.wait_for(seen + 1, timeout=10)
    raise AssertionError(f"no e-mail about {number} ({subject_part}): {[m['Subject'] for m in inbox.messages]}")


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.wait_for_load_state("networkidle")  # product images are fetched after the frame that shows them
    # Settled means two frames alike: a dialog fading in or a page sliding would otherwise be caught half-way.
    previous = b""
    for _ in range(30):
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        image = page.screenshot(full_page=True)
        if image == previous:
            break
        previous = image
    path.write_bytes(image)
    return path


__all__ = ["by_id", "ensure_signed_in", "expect", "fill_field", "mail_for", "open_app", "shot", "sign_in_ui",
           "wedge_scan"]
