"""Shared fixtures: real databases (SQLite files, the PostgreSQL server) and real servers on localhost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
PG_ADMIN_URL = os.environ.get("STORE_ASSOCIATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Poll until the URL answers 200 (the server is up), or fail with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling interval for readiness, not synchronisation of test logic
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the running PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"sa_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the machine guarantees the server
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'server.db'}"
    else:
        with postgres_database() as url:
            yield url


@dataclass
class RunningServer:
    url: str
    database_url: str
    examples: dict
    proc: subprocess.Popen
    log: Path

    def enrolment_code(self, store: str, kind: str = "tablet", minutes: int = 60) -> str:
        """What `store-associate enrolment-code` does on the server's own machine."""
        return make_enrolment_code(self.database_url, store, kind, minutes)

    def enrol(self, store: str, kind: str = "tablet") -> dict[str, str]:
        """A freshly enrolled device: its headers (no one signed in yet)."""
        r = httpx.post(
            f"{self.url}/api/v1/devices/enrol", json={"code": self.enrolment_code(store, kind), "name": f"test {kind}"}
        )
        r.raise_for_status()
        return {"X-Device-Token": r.json()["device_token"]}

    def sign_in(self, role: str = "associate", store: str | None = None, kind: str = "tablet") -> dict[str, str]:
        """Headers of a person of `role` signed in on a new device of `store` (their own by default)."""
        person = self.person(role, store)
        device = self.enrol(person["store"] or store or self.examples["store"], kind)
        r = httpx.post(
            f"{self.url}/api/v1/auth/sign-in",
            headers=device,
            json={"staff_number": person["staff_number"], "pin": person["pin"]},
        )
        r.raise_for_status()
        return {**device, "Authorization": f"Bearer {r.json()['session_token']}"}

    def sign_in_on(self, device: dict[str, str], role: str = "associate", store: str | None = None) -> str:
        """Sign a person of `role` in on an enrolled device (the real flow: staff number and PIN) and return
        their staff number. The device's headers stay without the session: what it pushes afterwards is
        named after this person, as a device does once the network is gone or the person signed out, and
        the server accepts the name because this sign-in happened on this device."""
        person = self.person(role, store)
        r = httpx.post(
            f"{self.url}/api/v1/auth/sign-in",
            headers=device,
            json={"staff_number": person["staff_number"], "pin": person["pin"]},
        )
        r.raise_for_status()
        return person["staff_number"]

    def place_order(self, lines: list[dict], customer: str = "Robin Buyer", promised_at=None) -> dict:  # noqa: ANN001
        """A web-shop order for the demo store, as the web shop sends it."""
        body = {"store": "NYC-01", "customer": {"name": customer, "email": "shopper@example.com"}, "lines": lines}
        if promised_at:
            body["promised_at"] = promised_at.isoformat()
        r = httpx.post(
            f"{self.url}/api/v1/orders",
            json=body,
            headers={"X-Api-Key": self.examples["web_shop_key"], "Idempotency-Key": uuid.uuid4().hex},
        )
        r.raise_for_status()
        return r.json()

    def gtin(self, sku: str) -> str:
        """A code printed on one unit of the SKU, as a scanner would read it."""
        codes = httpx.get(f"{self.url}/api/v1/products/{sku}", headers=self.sign_in("associate")).json()["codes"]
        return next(c["code"] for c in codes if c["pack_qty"] == 1)

    def person(self, role: str, store: str | None = None) -> dict:
        store = store or (None if role == "admin" else self.examples["store"])
        return next(p for p in self.examples["sign_ins"] if p["role"] == role and p["store"] == store)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def make_enrolment_code(database_url: str, store: str, kind: str = "tablet", minutes: int = 60) -> str:
    from sqlmodel import Session

    from store_associate.domain.permissions import Role
    from store_associate.server.access import Principal
    from store_associate.server.db import make_engine
    from store_associate.server.enrolment import create_enrolment_code

    engine = make_engine(database_url)
    with Session(engine) as session:
        code, _ = create_enrolment_code(
            session, Principal(role=Role.ADMIN, store_code=None, staff_number="console"), store, kind, minutes
        )
        session.commit()  # (access writes, the caller commits)
    engine.dispose()
    return code


def seed_database(
    database_url: str, skus: int = 400, locations: int = 27, sales_per_day: float = 1, pickups_per_store: int = 1
) -> dict:
    """A seeded chain; its examples. The 90 days of sales are thin here (one a store a day, one collected web order
    a store: about a second more per seed, not a minute); the example receipts are there whatever the volume."""
    from store_associate.server.db import make_engine, upgrade
    from store_associate.server.seed import seed

    engine = make_engine(database_url)
    upgrade(engine)
    summary = seed(engine, 42, locations, skus, sales_per_day=sales_per_day, pickups_per_store=pickups_per_store)
    engine.dispose()
    return summary.examples


def start_server(
    database_url: str, examples: dict, port: int | None = None, extra_env: dict | None = None, log: Path | None = None
) -> RunningServer:
    """A backend process on localhost. Its output goes to `log` (appended: a restart adds to it), by default
    a new file: a pipe nobody reads fills up, and then the server blocks mid-request."""
    port = port or free_port()
    env = {**os.environ, "STORE_ASSOCIATE_DATABASE_URL": database_url, **(extra_env or {})}
    log = log or Path(tempfile.mkdtemp(prefix="sa-server-")) / "server.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "store_associate", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc)
    except Exception:
        proc.kill()
        raise
    return RunningServer(url, database_url, examples, proc, log)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A seeded backend on each database, in its own process, on localhost."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    with database(request.param, tmp) as url:
        examples = seed_database(url)
        running = start_server(url, examples)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("server-sqlite-only")
    url = f"sqlite:///{tmp / 'server.db'}"
    examples = seed_database(url)
    running = start_server(url, examples)
    try:
        yield running
    finally:
        running.stop()


class Inbox:
    """A real SMTP server's mailbox (aiosmtpd on localhost): what the server's sender delivered."""

    def __init__(self) -> None:
        self.messages: list = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's hook
        from email import message_from_bytes, policy

        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, n: int, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0 or not self.arrived.wait(left):
                    break
        return list(self.messages)


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture()
def associate_device(sqlite_server: RunningServer, tmp_path: Path) -> Iterator[object]:
    """A device enrolled in NYC-01 on the SQLite server, with its associate signed in (not yet synced)."""
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    d = Device(Settings(server_url=sqlite_server.url, device_db=tmp_path / "d.db", http_timeout_seconds=2))
    d.enrol(sqlite_server.enrolment_code("NYC-01"), "t")
    person = sqlite_server.person("associate")
    d.auth.sign_in(person["staff_number"], person["pin"])
    yield d
    d.close()


def go_offline(device):  # noqa: ANN001, ANN201 - a Device; returns its real SyncClient
    """Point the device's sync at a port nobody listens on (the network gone); returns the real client."""
    from store_associate.device.sync_client import SyncClient

    dead = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    dead.device_token = device.client.device_token
    real, device.engine.client = device.engine.client, dead
    return real
