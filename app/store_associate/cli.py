"""`store-associate`: serve, seed, app, demo, scan.

Each command reads the settings once (`Settings()`: environment variables, .env), lays its options over them,
and hands the object to what it starts: `create_app(settings)` in every server process, `Device(settings)`.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .config import Settings

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

app = typer.Typer(help="Store associate: backend, device app and tools.", no_args_is_help=True, add_completion=False)


def _bind(host: str, port: int, what: str, option: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        typer.secho(
            f"Port {port} on {host} is already in use, so the {what} cannot start there. "
            f"Stop whatever uses it, or pick another port with {option}.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None
    return sock


def _need_free_port(host: str, port: int, what: str, option: str) -> None:
    _bind(host, port, what, option).close()


def _listen(host: str, port: int, option: str) -> socket.socket:
    """The backend's socket, bound and listening before the app starts: binding is the check that the port is
    free, and a request that arrives while the app is still starting (the demo's device and shoppers) waits in
    the queue instead of being refused. Every server process serves this one socket."""
    sock = _bind(host, port, "backend", option)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _backend(settings: Settings) -> uvicorn.Config:
    """How uvicorn runs the backend. The app is made in the process that serves it, by a factory that holds
    the settings (pickled to each worker process): they travel as an object, never through the environment."""
    import uvicorn

    return uvicorn.Config(
        partial(_server_app, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=_log_config(settings.log_level),
        # Event streams stay open for minutes; on shutdown they are cut after a few seconds (devices reconnect).
        timeout_graceful_shutdown=3,
        # A starting worker answers pings only once its factory is unpickled: on a busy machine uvicorn's 5 s
        # default had workers killed as hung while they were still starting.
        timeout_worker_healthcheck=20,
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with our own records (store_associate.*) on its handler at the settings' level:
    without a handler, Python prints only warnings and above, and an operator who asks for INFO gets none."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["store_associate"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def _server_app(settings: Settings) -> FastAPI:
    # The server's modules are imported here, not when a worker unpickles this factory: a worker answers the
    # supervisor's health pings only after that, and importing FastAPI and the models takes seconds.
    from .server.app import create_app

    return create_app(settings)


def _given(**options: Any) -> dict[str, Any]:
    """The options given on the command line (an empty or zero default: not given, the setting stands)."""
    return {name: value for name, value in options.items() if value}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "",
    port: Annotated[int, typer.Option(help="TCP port")] = 0,
    database_url: Annotated[str, typer.Option(help="overrides STORE_ASSOCIATE_DATABASE_URL")] = "",
    workers: Annotated[int, typer.Option(help="server processes (PostgreSQL only); 0: STORE_ASSOCIATE_WORKERS")] = 0,
) -> None:
    """Run the backend (FastAPI). OpenAPI docs at /docs."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    settings = Settings().model_copy(update=_given(host=host, port=port, database_url=database_url, workers=workers))
    if settings.workers > 1 and not settings.database_url.startswith("postgresql"):
        typer.secho(
            "More than one server process needs PostgreSQL: on SQLite only one process may write, and "
            "pokes would not reach devices connected to another process. Use --workers 1.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    sock = _listen(settings.host, settings.port, "--port")
    where = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Backend on {where}  (API docs: {where}/docs)")
    config = _backend(settings)
    try:
        if settings.workers > 1:
            Multiprocess(config, sockets=[sock]).run()  # uvicorn's supervisor: restarts a worker that dies
            return
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        return
    finally:
        sock.close()
    if not server.started:
        raise typer.Exit(3)  # the app did not start; its error is above


@app.command()
def seed(
    seed_value: Annotated[int, typer.Option("--seed", help="same seed, same chain")] = 42,
    locations: Annotated[int, typer.Option(help="stores + warehouses (27 = 25 + 2)")] = 27,
    skus: Annotated[int, typer.Option(help="products")] = 2000,
    stocked_per_location: Annotated[int, typer.Option(help="SKUs each location carries (0 = all)")] = 0,
    database_url: Annotated[str, typer.Option(help="overrides STORE_ASSOCIATE_DATABASE_URL")] = "",
) -> None:
    """Fill the database with a generated chain (replaces catalogue, stores and stock)."""
    from .server.db import make_engine, upgrade
    from .server.seed import seed as run_seed

    url = database_url or Settings().database_url
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    summary = run_seed(engine, seed_value, locations, skus, stocked_per_location or None)
    typer.echo(
        json.dumps({**summary.__dict__, "seconds": round(time.perf_counter() - started, 1)}, indent=2, default=str)
    )


@app.command("enrolment-code")
def enrolment_code(
    store: Annotated[str, typer.Option(help="store code the device will belong to")],
    kind: Annotated[str, typer.Option(help="tablet, desktop or kiosk")] = "tablet",
    minutes: Annotated[int, typer.Option(help="how long the code is valid")] = 24 * 60,
    database_url: Annotated[str, typer.Option(help="overrides STORE_ASSOCIATE_DATABASE_URL")] = "",
) -> None:
    """Make a one-time enrolment code from the server's own console (the first device of a store)."""
    from sqlmodel import Session

    from .domain.permissions import Role
    from .server.access import Principal
    from .server.db import make_engine, upgrade
    from .server.enrolment import DEVICE_KINDS, create_enrolment_code
    from .server.models import Store

    if kind not in DEVICE_KINDS:
        typer.secho(f"--kind must be one of {', '.join(DEVICE_KINDS)}.", fg="red", err=True)
        raise typer.Exit(2)
    engine = make_engine(database_url or Settings().database_url)
    upgrade(engine)
    with Session(engine) as session:
        if session.get(Store, store) is None:
            typer.secho(f"No store has the code {store!r}. See GET /api/v1/stores.", fg="red", err=True)
            raise typer.Exit(2)
        code, expires = create_enrolment_code(
            session, Principal(role=Role.ADMIN, store_code=None, staff_number="console"), store, kind, minutes
        )
        session.commit()  # (access writes, the caller commits)
    typer.echo(f"{code}  (store {store}, {kind}, valid until {expires:%Y-%m-%d %H:%M} UTC, works once)")


@app.command("app")
def run_app(
    server_url: Annotated[str, typer.Option(help="backend URL")] = "",
    store: Annotated[str, typer.Option(help="store code this device belongs to")] = "",
    port: Annotated[int, typer.Option(help="web port")] = 0,
    web: Annotated[bool, typer.Option(help="serve in the browser instead of a desktop window")] = True,
    device_db: Annotated[str, typer.Option(help="local database file")] = "",
    enrolment_code: Annotated[str, typer.Option(help="enrol this device with this code first (provisioning)")] = "",
) -> None:
    """Run the device app (web mode serves it at http://127.0.0.1:PORT)."""
    given = _given(server_url=server_url, store_code=store, app_port=port, device_db=device_db and Path(device_db))
    _run_device(Settings().model_copy(update=given), enrolment_code, web)


def _run_device(settings: Settings, enrolment_code: str, web: bool) -> None:
    from .device.runtime import Device
    from .device.store.schema import NewerDatabaseError
    from .ui.app import serve as serve_ui

    if web:
        _need_free_port("127.0.0.1", settings.app_port, "app", "--port")
    try:
        device = Device(settings)
    except NewerDatabaseError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    if enrolment_code and not device.auth.enrolled:
        outcome = device.enrol(enrolment_code, "provisioned device")
        if outcome.value != "ok":
            device.close()
            typer.secho(
                f"Enrolment failed ({outcome.value}): check the code and that the backend at "
                f"{settings.server_url} is reachable.",
                fg="red",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"Device enrolled in store {device.store_code}.")
    if web:
        typer.echo(f"App on http://127.0.0.1:{settings.app_port}")
    serve_ui(device, web=web)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="app web port")] = 8550,
    api_port: Annotated[int, typer.Option(help="backend port")] = 8765,
    data_dir: Annotated[Path, typer.Option(help="where the demo databases live")] = Path("var/demo"),
    reseed: Annotated[bool, typer.Option(help="regenerate the demo chain")] = False,
) -> None:
    """Backend on embedded SQLite with demo data, plus the app in the browser.

    The backend runs in a thread of this process (uvicorn's server, with its lifespan: the demo's shoppers start
    and stop with it), so that its settings are handed over as an object and one Ctrl+C ends everything."""
    _need_free_port("127.0.0.1", port, "app", "--port")
    sock = _listen("127.0.0.1", api_port, "--api-port")
    try:
        _demo(Settings(), sock, port, api_port, data_dir, reseed)
    finally:
        sock.close()


def _demo(settings: Settings, sock: socket.socket, port: int, api_port: int, data_dir: Path, reseed: bool) -> None:
    import uvicorn

    from .server.db import make_engine, upgrade
    from .server.seed import seed as run_seed

    data_dir.mkdir(parents=True, exist_ok=True)
    db = (data_dir / "server.db").resolve()
    url = f"sqlite:///{db}"
    marker = data_dir / "seed.json"
    if reseed or not marker.exists():
        for old in data_dir.glob("device.db*"):
            old.unlink()  # its enrolment belonged to the chain being replaced
        engine = make_engine(url)
        upgrade(engine)
        summary = run_seed(engine)
        marker.write_text(json.dumps(summary.__dict__, default=str, indent=2))
        engine.dispose()
    examples = json.loads(marker.read_text())["examples"]
    device_db = (data_dir / "device.db").resolve()
    store = examples["store"]
    backend = uvicorn.Server(
        _backend(
            settings.model_copy(
                update={
                    "database_url": url,
                    "host": "127.0.0.1",
                    "port": api_port,
                    "workers": 1,
                    "demo_store": store,
                    "demo_web_shop_key": examples["web_shop_key"],
                }
            )
        )
    )
    thread = threading.Thread(target=backend.run, kwargs={"sockets": [sock]}, name="backend", daemon=True)
    thread.start()
    try:
        _wait_started(backend, thread)
        from sqlmodel import Session

        from .domain.permissions import Role
        from .server.access import Principal
        from .server.enrolment import create_enrolment_code

        engine = make_engine(url)
        with Session(engine) as session:
            console = Principal(role=Role.ADMIN, store_code=None, staff_number="console")
            own_code, _ = create_enrolment_code(session, console, store, "tablet", 60)
            spare_code, _ = create_enrolment_code(session, console, store, "kiosk", 24 * 60)
            session.commit()  # (access writes, the caller commits)
        engine.dispose()
        typer.secho("\nStore Associate demo is running.", bold=True)
        typer.echo(f"  App:      http://127.0.0.1:{port}   (open it in a browser)")
        typer.echo(f"  Backend:  http://127.0.0.1:{api_port}/docs")
        typer.echo(f"  Device:   this demo tablet is enrolled in store {store}")
        typer.echo("  Sign in with a staff number and PIN (a manager and an associate per store):")
        for p in examples["sign_ins"]:
            if p["role"] == "admin":
                typer.echo(f"    admin (any store)  {p['staff_number']} / PIN {p['pin']}")
        people: dict[str, dict[str, str]] = {}
        for p in examples["sign_ins"]:
            if p["store"]:
                people.setdefault(p["store"], {})[p["role"]] = f"{p['staff_number']} / PIN {p['pin']}"
        for code, roles in people.items():
            typer.echo(f"    {code:8} manager {roles.get('manager', '-'):16} associate {roles.get('associate', '-')}")
        typer.echo(f"  Enrolment code for another device of {store} (a kiosk, valid 24 h): {spare_code}")
        typer.echo(
            f"    e.g. store-associate app --port {port + 1} --device-db var/demo/kiosk.db "
            f"--server-url http://127.0.0.1:{api_port}"
        )
        typer.echo("  Try these codes (type them and press Enter, or use a keyboard-wedge scanner):")
        if examples.get("in_stock_here"):
            e = examples["in_stock_here"]
            typer.echo(f"    {e['gtin']}  {e['name']} (in stock here)")
        if examples.get("out_of_stock_here"):
            e = examples["out_of_stock_here"]
            typer.echo(f"    {e['gtin']}  {e['name']} (out of stock here, look at other stores)")
        if examples.get("upce"):
            typer.echo(f"    {examples['upce'][0]}  a UPC-E code")
        typer.echo("    4006381333932  not a valid code (wrong check digit)")
        typer.echo("  New web-shop orders for the store arrive about once a minute (Orders screen).")
        typer.echo("  Stop with Ctrl+C.\n")
        device = settings.model_copy(
            update={
                "server_url": f"http://127.0.0.1:{api_port}",
                "store_code": store,
                "app_port": port,
                "device_db": device_db,
            }
        )
        _run_device(device, own_code, web=True)
    finally:
        backend.should_exit = True  # the lifespan then stops the shoppers, the order clock and the mail sender
        thread.join(timeout=30)


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            typer.secho("The backend stopped while starting; see the messages above.", fg="red", err=True)
            raise typer.Exit(1)
        if time.monotonic() > deadline:
            typer.secho(f"The backend did not start within {timeout:.0f} s.", fg="red", err=True)
            raise typer.Exit(1)
        thread.join(0.1)  # ends early if the backend gives up


@app.command()
def scan(images: Annotated[list[Path], typer.Argument(help="image files to read")]) -> None:
    """Print what each image holds: text, symbology, GS1 meaning and (with a backend) the product."""
    from .device.scanner import local_product_lookup
    from .scan.cli import scan_images

    raise typer.Exit(scan_images(images, lookup=local_product_lookup(Settings())))


def main() -> None:
    app()
