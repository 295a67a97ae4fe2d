"""Settings reach every part of an app from `create_app(settings)`: two apps with different settings serve side
by side in one process (real uvicorn servers, real HTTP), each with its own database, limits and windows; and
the app's background work starts with its lifespan and is stopped, every thread of it, when it shuts down."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server.app import create_app
from store_associate.server.models import CustomerOrder
from tests.conftest import database, free_port, make_enrolment_code, seed_database

BACKGROUND = {"notify", "order-clock", "demo-feed", "poke-listener"}  # the names of the app's background threads


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """The app for these settings, served by uvicorn in a thread of this process on a socket that listens
    before the app starts (a request made meanwhile waits for it), and shut down as a server is: lifespan and all."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    app = create_app(settings.model_copy(update={"host": "127.0.0.1", "port": port}))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"test-server-{port}")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()
        app.state.engine.dispose()
    assert not thread.is_alive(), "the server did not shut down"


def signed_in(url: str, database_url: str, examples: dict) -> tuple[dict[str, str], dict]:
    """A device enrolled with a code made in this database, and its associate signed in: headers, sign-in answer."""
    store = examples["store"]
    r = httpx.post(
        f"{url}/api/v1/devices/enrol",
        json={"code": make_enrolment_code(database_url, store), "name": "settings test"},
        timeout=30,
    )
    r.raise_for_status()
    device = {"X-Device-Token": r.json()["device_token"]}
    person = next(p for p in examples["sign_ins"] if p["role"] == "associate" and p["store"] == store)
    r = httpx.post(
        f"{url}/api/v1/auth/sign-in",
        headers=device,
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
        timeout=30,
    )
    r.raise_for_status()
    return {**device, "Authorization": f"Bearer {r.json()['session_token']}"}, r.json()


def chain_hours(url: str, headers: dict[str, str], store: str) -> float:
    r = httpx.get(f"{url}/api/v1/stores/{store}/pickup-window", headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()["chain_hours"]


def sign_in_status(url: str, size: int) -> int:
    """What the server says to a sign-in body of `size` bytes (its size limit comes before anything else)."""
    body = b'{"staff_number": "1", "pin": "' + b"9" * (size - 31) + b'"}'
    return httpx.post(
        f"{url}/api/v1/auth/sign-in", content=body, headers={"Content-Type": "application/json"}, timeout=30
    ).status_code


def background_threads(other_than: set[threading.Thread] = frozenset()) -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in BACKGROUND and t not in other_than}


def test_two_apps_in_one_process_each_keep_their_own_settings(tmp_path: Path):
    first_db, second_db = tmp_path / "first.db", tmp_path / "second.db"
    examples = seed_database(f"sqlite:///{first_db}", skus=60, locations=3)
    shutil.copyfile(first_db, second_db)  # the same chain, in a database of its own
    first = Settings(
        database_url=f"sqlite:///{first_db}", max_request_bytes=2_000, pickup_window_days=2, offline_signin_days=3
    )
    second = Settings(
        database_url=f"sqlite:///{second_db}", max_request_bytes=200_000, pickup_window_days=9, offline_signin_days=11
    )
    store = examples["store"]
    with serving(first) as (a, _), serving(second) as (b, _):
        a_headers, a_answer = signed_in(a, first.database_url, examples)
        b_headers, b_answer = signed_in(b, second.database_url, examples)
        # Asked in turns: a setting read from anything shared (a cached global, the environment) would give
        # both the same answer.
        assert (a_answer["offline_signin_days"], b_answer["offline_signin_days"]) == (3, 11)
        assert chain_hours(a, a_headers, store) == 2 * 24
        assert chain_hours(b, b_headers, store) == 9 * 24
        assert chain_hours(a, a_headers, store) == 2 * 24
        assert sign_in_status(a, 5_000) == 413
        assert sign_in_status(b, 5_000) not in (413, 500)
        assert sign_in_status(a, 1_000) != 413
        # Each app has its own database: a code made in the first one's is unknown to the second.
        r = httpx.post(
            f"{b}/api/v1/devices/enrol",
            json={"code": make_enrolment_code(first.database_url, store), "name": "wrong server"},
            timeout=30,
        )
        assert r.status_code in (400, 403, 404, 422), r.text
        assert httpx.get(f"{a}/api/v1/auth/me", headers=b_headers, timeout=30).status_code == 401
        assert httpx.get(f"{b}/api/v1/auth/me", headers=b_headers, timeout=30).status_code == 200


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[pytest.mark.postgres],
        ),
    ],
)
def test_the_lifespan_starts_the_background_work_and_stops_all_of_it(kind: str, tmp_path: Path):
    with database(kind, tmp_path) as url:
        examples = seed_database(url, skus=60, locations=3)
        settings = Settings(
            database_url=url,
            smtp_host="127.0.0.1",
            smtp_port=free_port(),  # nobody listens: the sender's rounds fail, and it keeps running
            order_clock_seconds=3600,
            demo_store=examples["store"],
            demo_web_shop_key=examples["web_shop_key"],
        )
        others = background_threads()  # of other apps in this process, if any
        built = create_app(settings)
        assert not background_threads(others), "building an app starts nothing"
        built.state.engine.dispose()
        with serving(settings) as (served, app):
            assert httpx.get(f"{served}/health", timeout=30).status_code == 200  # answered: the lifespan has started
            # The poke listener only on PostgreSQL: on SQLite the one process pokes its own streams.
            mine = background_threads(others)
            assert {t.name for t in mine} == BACKGROUND - ({"poke-listener"} if kind == "sqlite" else set())
            assert app.state.sender is not None  # routes wake it after a step that queued an e-mail
            # The demo's shoppers send their first orders to this server's own intake at once.
            deadline = time.monotonic() + 60
            while not placed(app) and time.monotonic() < deadline:
                time.sleep(0.05)  # polling interval, for orders that arrive over HTTP
            assert placed(app)
        assert not [t.name for t in mine if t.is_alive()], "every thread of the app ends with it"
        assert app.state.sender is None


def placed(app: FastAPI) -> int:
    with Session(app.state.engine) as session:
        return session.execute(select(func.count()).select_from(CustomerOrder)).scalar_one()


def test_the_data_folder_is_read_when_settings_are_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A packaged app learns its storage folder from Flet at start (FLET_APP_STORAGE_DATA): the settings made
    then put the databases there, whatever the environment was when the module was imported."""
    monkeypatch.setenv("FLET_APP_STORAGE_DATA", str(tmp_path))
    monkeypatch.delenv("STORE_ASSOCIATE_DEVICE_DB", raising=False)
    monkeypatch.delenv("STORE_ASSOCIATE_DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.device_db == tmp_path / "device.db"
    assert settings.database_url == f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.delenv("FLET_APP_STORAGE_DATA")
    assert Settings(_env_file=None).device_db == Path.cwd() / "var" / "device.db"
