"""The device app in web mode on localhost, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
SHOTS = ARTIFACTS / "e2e"

# Every e2e deadline comes from here. The figures in within() calls are what an idle machine needs at most;
# SLOW stretches them so they hold when both cores of a small CI runner are busy with other work (measured:
# tests/cpu_hog.py on every core). Each wait ends the moment its condition holds, so a large factor costs
# time only when something is really broken. Raise STORE_ASSOCIATE_E2E_SLOW on slower machines.
SLOW = float(os.environ.get("STORE_ASSOCIATE_E2E_SLOW", "3"))


def within(idle_seconds: float) -> int:
    """A deadline in milliseconds (Playwright's unit) for what takes at most idle_seconds on an idle machine."""
    return round(idle_seconds * SLOW * 1000)


UI = within(10)  # a tap, a scan or a submitted field to what the screen shows (the default of every wait)
SYNC = within(30)  # through the server and back: sign-in, a sync round, a poke, a camera starting
START = within(60)  # a new browser context to the app's first usable frame; a process to answer HTTP
MAIL = within(60)  # the server's sender delivering a customer e-mail
TYPED = within(3)  # typed keys to show in a field, before it is cleared and typed again
TEST_TIMEOUT = max(300, round(120 * SLOW))  # pytest-timeout's per-test limit for e2e tests (seconds)

expect.set_options(timeout=UI)


FAILURES = ARTIFACTS / "e2e-failures"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


_FAILED = pytest.StashKey[bool]()
ANSWER = 5_000  # ms a page gets to answer before its evidence is skipped


def _answers(page: Page) -> bool:
    """Whether the page's script still runs. page.evaluate has no deadline: on a page whose renderer hangs it
    waits for ever, and inside a report hook that ends the whole run (pytest-timeout fires there and pytest
    stops with an internal error) instead of reporting this one failure. wait_for_function has a deadline."""
    try:
        page.wait_for_function("() => true", timeout=ANSWER)
    except Exception:  # a timeout, a closed page or a dead browser: no evidence from this page either way
        return False
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """What a failed e2e test leaves for whoever reads the CI run, in FAILURES/<test>: each open page as it
    was when the test failed (and which element had the keyboard focus), then the app's and server's logs
    (the test's tmp_path is rotated away by later pytest runs)."""
    report = yield
    if Path(__file__).parent not in item.path.parents:
        return report
    folder = FAILURES / re.sub(r"[^\w.-]+", "_", item.name)
    item.stash[_FAILED] = item.stash.get(_FAILED, False) or report.failed
    # Evidence is a courtesy: gathering it never hides the failure itself, and one piece missing (a page
    # that no longer answers) does not stop the others.
    if report.when == "setup":
        shutil.rmtree(folder, ignore_errors=True)  # a previous run's evidence is not this run's
    if report.failed and report.when == "call":
        folder.mkdir(parents=True, exist_ok=True)
        browser = item.funcargs.get("browser")
        pages = [pg for c in (browser.contexts if browser else []) for pg in c.pages]
        for i, pg in enumerate(pages):
            if not _answers(pg):
                (folder / f"page-{i}.txt").write_text(f"{pg.url}\nthe page did not answer within {ANSWER} ms\n")
                continue
            with suppress(Exception):
                focus = pg.evaluate(
                    "() => { const e = document.activeElement; return e ? e.tagName + ' '"
                    " + (e.getAttribute('aria-label') || e.className || '') : null; }"
                )
                (folder / f"page-{i}.txt").write_text(f"{pg.url}\nfocus: {focus}\n")
            with suppress(Exception):
                pg.screenshot(path=folder / f"page-{i}.png", full_page=True, timeout=UI)
    tmp = item.funcargs.get("tmp_path")
    if report.when == "teardown" and item.stash[_FAILED] and tmp is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for log in Path(tmp).rglob("*.log"):  # complete now: the app and server were stopped
            with suppress(OSError):
                shutil.copyfile(log, folder / log.name)
    return report


@pytest.fixture(scope="session")
def _chromium() -> Iterator[dict[str, Browser]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `bash dev setup` (apt-get install chromium).")
    with sync_playwright() as p:
        held: dict = {"playwright": p}
        yield held
        if held.get("browser") is not None and held["browser"].is_connected():
            held["browser"].close()


@pytest.fixture()
def browser(_chromium: dict) -> Iterator[Browser]:
    """One Chromium for the session, launched again if it died. Every context a test opened is closed after
    it, so a page, a dialog or a download left behind by a failed test never reaches the next one."""
    b = _chromium.get("browser")
    if b is None or not b.is_connected():
        b = _chromium["browser"] = _chromium["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=START
        )
    yield b
    for context in list(b.contexts):
        with suppress(Exception):  # already closed, or the browser died: the next test launches another
            context.close()


@dataclass
class AppUnderTest:
    url: str
    backend: RunningServer
    proc: subprocess.Popen
    log: Path
    device_db: Path


@dataclass(frozen=True)
class Seeded:
    """Databases made once per session; each test serves its own copies of them.

    path: the seeded server database. enrolled_server and device: the same, with one tablet of NYC-01
    enrolled on it, and that tablet's own database (enrolled, never synced, nobody signed in), so a test's
    server and app can start side by side: the app needs no server until a browser opens it."""

    path: Path
    examples: dict
    enrolled_server: Path
    device: Path


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    from store_associate.config import Settings
    from store_associate.device.auth import Enrol
    from store_associate.device.runtime import Device

    tmp = tmp_path_factory.mktemp("e2e-seed")
    path = tmp / "server.db"
    examples = seed_database(f"sqlite:///{path}")  # the engine is disposed: no WAL left beside the file
    enrolled, device_db = tmp / "enrolled-server.db", tmp / "device.db"
    copy_sqlite(path, enrolled)
    server = start_server(f"sqlite:///{enrolled}", examples, log=tmp / "server.log")
    try:
        device = Device(Settings(server_url=server.url, device_db=device_db, store_code="NYC-01"))
        try:
            # What `store-associate app --enrolment-code` does at start (and named as it names the device).
            assert device.enrol(server.enrolment_code("NYC-01"), "provisioned device") is Enrol.OK
        finally:
            device.close()
    finally:
        stop_process(server.proc)
    return Seeded(path, examples, enrolled, device_db)


def copy_sqlite(src: Path, dst: Path) -> None:
    """A closed SQLite database to a new place (with its write-ahead log, should one be left)."""
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + "-wal"))


def stop_process(*procs: subprocess.Popen) -> None:
    """Terminate (all at once: each takes a moment to shut down), and kill what does not end in time: a
    test's teardown never leaves a process behind."""
    running = [p for p in procs if p.poll() is None]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + START / 1000
    for p in running:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def fresh_backend(tmp: Path, seeded: Seeded, extra_env: dict | None = None) -> RunningServer:
    """A server of this test's own: a copy of the seeded database (no order, no lockout, no device of any
    other test), so what one test leaves behind never decides another's outcome."""
    path = tmp / "server.db"
    copy_sqlite(seeded.path, path)
    return start_server(f"sqlite:///{path}", seeded.examples, extra_env=extra_env, log=tmp / "server.log")


def launch_app(
    backend_url: str, store: str, device_db: Path, log: Path, enrolment_code: str = "", extra_env: dict | None = None
) -> tuple[str, subprocess.Popen]:
    """The app process, started; its URL answers once wait_app returns."""
    port = free_port()
    env = {**os.environ, "FLET_WEB_NO_CDN": "1", **(extra_env or {})}
    env.pop("DISPLAY", None)
    args = ["--enrolment-code", enrolment_code] if enrolment_code else []
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "store_associate",
                "app",
                "--port",
                str(port),
                "--server-url",
                backend_url,
                "--store",
                store,
                "--device-db",
                str(device_db),
                *args,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return f"http://127.0.0.1:{port}", proc


def wait_app(url: str, proc: subprocess.Popen) -> None:
    try:
        wait_http(url + "/", proc, timeout=START / 1000)
    except Exception:
        stop_process(proc)
        raise


def start_app(
    backend_url: str, store: str, device_db: Path, log: Path, enrolment_code: str = "", extra_env: dict | None = None
) -> tuple[str, subprocess.Popen]:
    url, proc = launch_app(backend_url, store, device_db, log, enrolment_code, extra_env)
    wait_app(url, proc)
    return url, proc


@pytest.fixture()
def app_under_test(tmp_path: Path, seeded: Seeded) -> Iterator[AppUnderTest]:
    """This test's own server and enrolled app (a new device: nobody signed in, nothing synced yet)."""
    with served_app(tmp_path, seeded) as app:
        yield app


@contextmanager
def served_app(
    tmp: Path, seeded: Seeded, extra_env: dict | None = None, app_env: dict | None = None
) -> Iterator[AppUnderTest]:
    """A backend on its own copy of the seeded database and the app for NYC-01 enrolled on it (its own copy
    of the session's enrolled tablet), both stopped afterwards, also when the test failed half-way. The two
    start side by side: the app needs the server only once a browser opens it. extra_env is the server's,
    app_env the app's."""
    device_db, log = tmp / "device.db", tmp / "app.log"
    copy_sqlite(seeded.device, device_db)
    server_port = free_port()
    app_url, proc = launch_app(f"http://127.0.0.1:{server_port}", "NYC-01", device_db, log, extra_env=app_env)
    server: RunningServer | None = None
    try:
        path = tmp / "server.db"
        copy_sqlite(seeded.enrolled_server, path)
        server = start_server(
            f"sqlite:///{path}", seeded.examples, port=server_port, extra_env=extra_env, log=tmp / "server.log"
        )
        wait_app(app_url, proc)
        yield AppUnderTest(app_url, server, proc, log, device_db)
    finally:
        # server.proc now: the test may have replaced it (a restarted server).
        stop_process(proc, *([server.proc] if server is not None else []))


@contextmanager
def served_app_with_mail(tmp: Path, seeded: Seeded) -> Iterator[tuple[RunningServer, str, Inbox]]:
    """served_app, its customer e-mails delivered to a local SMTP server whose inbox is yielded."""
    with (
        smtp_server() as (inbox, port),
        served_app(
            tmp, seeded, {"STORE_ASSOCIATE_SMTP_HOST": "127.0.0.1", "STORE_ASSOCIATE_SMTP_PORT": str(port)}
        ) as app,
    ):
        yield app.backend, app.url, inbox


def open_app(
    browser: Browser, url: str, width: int = 1280, height: int = 900, permissions: list[str] | None = None
) -> Page:
    """Open the app in a browser context of its own and switch on Flutter's semantics tree so controls appear
    in the DOM. The context's waits default to UI; loading the app may take START."""
    context = browser.new_context(viewport={"width": width, "height": height}, permissions=permissions or [])
    context.set_default_timeout(UI)
    context.set_default_navigation_timeout(START)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("!document.getElementById('loading')", timeout=START)
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=START)
    placeholder.dispatch_event("click")
    page.locator("flt-semantics").first.wait_for(state="attached", timeout=START)
    return page


def at_product_signed_in(browser: Browser, server: RunningServer, url: str) -> tuple[Page, dict]:
    """The app open, the store's associate signed in and synced, the in-stock example product scanned.
    Returns the page and the example (sku, gtin, name)."""
    ex = server.examples["in_stock_here"]
    page = open_app(browser, url)
    ensure_signed_in(page, server.person("associate"))
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=SYNC)
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"])
    return page, ex


def by_id(page: Page, identifier: str) -> Locator:
    return page.locator(f'[flt-semantics-identifier="{identifier}"]')


# The field with the keyboard focus is the semantics <input> labelled like the field, or Flutter's own
# (unlabelled) editing element: Flutter uses that one when it focused a field before the field's semantics
# node existed (a dialog's autofocus on a busy machine), and a tap on the field then leaves it in place.
_FOCUSED = """l => { const e = document.activeElement;
    if (!e || e.tagName !== 'INPUT') return false;
    const label = e.getAttribute('aria-label') || '';
    return label.startsWith(l) || (!label && e.classList.contains('flt-text-editing')); }"""
# Resolves once two frames were drawn. Awaited by wait_for_function, which has a deadline: a page that draws no
# frame (hidden, or its renderer hung) fails the wait instead of holding the test until pytest-timeout.
_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
_HOLDS = "t => !!document.activeElement && document.activeElement.value === t"


def _read(page: Page, function: str, timeout: int = UI) -> object:
    """What a JavaScript function returns in the page, within `timeout` ms (page.evaluate would wait for ever on
    a hung page). Wrapped in an array because wait_for_function waits for a truthy value."""
    return page.wait_for_function(f"() => [({function})()]", timeout=timeout).json_value()[0]


def _type_checked(page: Page, text: str, what: str) -> None:
    """Type into the focused field until it holds exactly `text`. Flutter can drop the first keys while its
    text input attaches; a retry first clears the field and sees it empty, so keys never add up."""
    for _ in range(3):
        page.keyboard.press("Control+A")
        page.keyboard.press("Backspace")
        try:
            page.wait_for_function(_HOLDS, arg="", timeout=TYPED)
        except PlaywrightTimeoutError:
            continue  # not cleared yet (the field was still attaching): clear again
        page.keyboard.type(text)
        try:
            page.wait_for_function(_HOLDS, arg=text, timeout=TYPED)
            return
        except PlaywrightTimeoutError:
            continue  # keys lost while the input attached: clear and type again
    value = _read(page, "() => document.activeElement && document.activeElement.value")
    raise AssertionError(f"could not type {text!r} into {what!r} (it holds {value!r})")


def wedge_scan(page: Page, code: str, field_label: str = "Scan or type a code") -> None:
    """What a keyboard-wedge scanner does: characters into the focused field, then Enter. No mouse: the app
    must have put the focus in the field; the typed value is checked before Enter."""
    page.wait_for_function(_FOCUSED, arg=field_label, timeout=UI)
    _type_checked(page, code, field_label)
    page.keyboard.press("Enter")


def fill_field(page: Page, label: str, text: str) -> None:
    """Click a field until it has the keyboard focus (a first frame may still be laying out, or a screen
    still sliding in), then type into it (Flutter needs the field focused before keys arrive)."""
    field = page.get_by_label(label).first
    deadline = time.monotonic() + UI / 1000
    while True:
        field.click(timeout=UI)
        # Two frames drawn: Flutter has handled the tap and moved its focus (until then the previous field
        # still has it, and the keys would go there).
        page.wait_for_function(_FRAMES, timeout=UI)
        try:
            page.wait_for_function(_FOCUSED, arg=label, timeout=TYPED)
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise AssertionError(f"the field {label!r} did not take the focus") from None
    _type_checked(page, text, label)


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
    before = _read(
        page, "() => (document.querySelector('[flt-semantics-identifier=\"signin-message\"]') || {}).id || ''"
    )
    page.keyboard.press("Enter")
    page.wait_for_function(_ANSWERED, arg=before, timeout=SYNC)


def ensure_signed_in(page: Page, person: dict) -> None:
    """Sign the person in unless the device still has them. The web app shares one device (and its
    signed-in session) between browser tabs, and a new tab draws its first screen a moment after the
    semantics tree appears: wait for either the person or the sign-in form before deciding."""
    by_id(page, "user-name").or_(page.get_by_label("Staff number")).first.wait_for(timeout=START)
    if by_id(page, "user-name").count() == 0:
        sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=SYNC)


def mail_for(inbox: Inbox, number: str, subject_part: str) -> EmailMessage:
    """The e-mail about the order, waiting (up to MAIL) for the server's sender to deliver it."""
    deadline = time.monotonic() + MAIL / 1000
    while True:
        messages = list(inbox.messages)
        found = [m for m in messages if number in m["Subject"] and subject_part in m["Subject"]]
        if found:
            return found[-1]
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"no e-mail about {number} ({subject_part}) within {MAIL / 1000:.0f} s: "
                f"{[m['Subject'] for m in messages]}"
            )
        inbox.wait_for(len(messages) + 1, timeout=left)  # returns at the next delivery


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.wait_for_load_state("networkidle")  # product images are fetched after the frame that shows them
    # Settled means two frames alike: a dialog fading in or a page sliding would otherwise be caught half-way.
    previous = b""
    for _ in range(30):
        page.wait_for_function(_FRAMES, timeout=UI)
        image = page.screenshot(full_page=True)
        if image == previous:
            break
        previous = image
    path.write_bytes(image)
    return path


__all__ = [
    "MAIL",
    "START",
    "SYNC",
    "UI",
    "by_id",
    "ensure_signed_in",
    "expect",
    "fill_field",
    "mail_for",
    "open_app",
    "shot",
    "sign_in_ui",
    "wedge_scan",
    "within",
]
