"""`store-associate`: serve, seed, app, demo, scan."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Store associate: backend, device app and tools.", no_args_is_help=True, add_completion=False)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def _need_free_port(host: str, port: int, what: str, option: str) -> None:
    if not _port_free(host, port):
        typer.secho(
            f"Port {port} on {host} is already in use, so the {what} cannot start there. "
            f"Stop whatever uses it, or pick another port with {option}.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "",
    port: Annotated[int, typer.Option(help="TCP port")] = 0,
    database_url: Annotated[str, typer.Option(help="overrides STORE_ASSOCIATE_DATABASE_URL")] = "",
    workers: Annotated[int, typer.Option(help="server processes (PostgreSQL only); 0: STORE_ASSOCIATE_WORKERS")] = 0,
) -> None:
    """Run the backend (FastAPI). OpenAPI docs at /docs."""
    import uvicorn

    from .config import get_settings
    from .server.app import create_app

    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
        os.environ["STORE_ASSOCIATE_DATABASE_URL"] = database_url  # worker processes read their settings anew
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        typer.secho(
            "More than one server process needs PostgreSQL: on SQLite only one process may write, and "
            "pokes would not reach devices connected to another process. Use --workers 1.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    _need_free_port(host, port, "backend", "--port")
    typer.echo(f"Backend on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    # Event streams stay open for minutes; on shutdown they are cut after a few seconds (devices reconnect).
    if workers > 1:
        uvicorn.run(
            "store_associate.server.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)


@app.command()
def seed(
    seed_value: Annotated[int, typer.Option("--seed", help="same seed, same chain")] = 42,
    locations: Annotated[int, typer.Option(help="stores + warehouses (27 = 25 + 2)")] = 27,
    skus: Annotated[int, typer.Option(help="products")] = 2000,
    stocked_per_location: Annotated[int, typer.Option(help="SKUs each location carries (0 = all)")] = 0,
    database_url: Annotated[str, typer.Option(help="overrides STORE_ASSOCIATE_DATABASE_URL")] = "",
) -> None:
    """Fill the database with a generated chain (replaces catalogue, stores and stock)."""
    from .config import get_settings
    from .server.db import make_engine, upgrade
    from .server.seed import seed as run_seed

    url = database_url or get_settings().database_url
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

    from .config import get_settings
    from .domain.permissions import Role
    from .server.access import DEVICE_KINDS, Principal, create_enrolment_code
    from .server.db import make_engine, upgrade
    from .server.models import Store

    if kind not in DEVICE_KINDS:
        typer.secho(f"--kind must be one of {', '.join(DEVICE_KINDS)}.", fg="red", err=True)
        raise typer.Exit(2)
    engine = make_engine(database_url or get_settings().database_url)
    upgrade(engine)
    with Session(engine) as session:
        if session.get(Store, store) is None:
            typer.secho(f"No store has the code {store!r}. See GET /api/v1/stores.", fg="red", err=True)
            raise typer.Exit(2)
        code, expires = create_enrolment_code(
            session, Principal(role=Role.ADMIN, store_code=None, staff_number="console"), store, kind, minutes
        )
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
    from .config import get_settings

    settings = get_settings()
    env = {
        "STORE_ASSOCIATE_SERVER_URL": server_url or settings.server_url,
        "STORE_ASSOCIATE_STORE_CODE": store or settings.store_code,
        "STORE_ASSOCIATE_APP_PORT": str(port or settings.app_port),
        "STORE_ASSOCIATE_DEVICE_DB": device_db or str(settings.device_db),
    }
    os.environ.update(env)
    get_settings.cache_clear()  # the device reads its settings from these variables
    from .ui.app import device
    from .ui.app import serve as serve_ui

    if enrolment_code and not device().auth.enrolled:
        outcome = device().enrol(enrolment_code, "provisioned device")
        if outcome.value != "ok":
            typer.secho(
                f"Enrolment failed ({outcome.value}): check the code and that the backend at "
                f"{env['STORE_ASSOCIATE_SERVER_URL']} is reachable.",
                fg="red",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"Device enrolled in store {device().store_code}.")
    if web:
        _need_free_port("127.0.0.1", int(env["STORE_ASSOCIATE_APP_PORT"]), "app", "--port")
        typer.echo(f"App on http://127.0.0.1:{env['STORE_ASSOCIATE_APP_PORT']}")
    serve_ui(web=web)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="app web port")] = 8550,
    api_port: Annotated[int, typer.Option(help="backend port")] = 8765,
    data_dir: Annotated[Path, typer.Option(help="where the demo databases live")] = Path("var/demo"),
    reseed: Annotated[bool, typer.Option(help="regenerate the demo chain")] = False,
) -> None:
    """Backend on embedded SQLite with demo data, plus the app in the browser."""
    from .server.db import make_engine, upgrade
    from .server.seed import seed as run_seed

    _need_free_port("127.0.0.1", api_port, "backend", "--api-port")
    _need_free_port("127.0.0.1", port, "app", "--port")
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
    env = {**os.environ, "STORE_ASSOCIATE_DATABASE_URL": url}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "store_associate", "serve", "--port", str(api_port), "--host", "127.0.0.1"],
        env=env,
    )
    try:
        _wait_http(f"http://127.0.0.1:{api_port}/health", server)
        store = examples["store"]
        from sqlmodel import Session

        from .domain.permissions import Role
        from .server.access import Principal, create_enrolment_code

        engine = make_engine(url)
        with Session(engine) as session:
            console = Principal(role=Role.ADMIN, store_code=None, staff_number="console")
            own_code, _ = create_enrolment_code(session, console, store, "tablet", 60)
            spare_code, _ = create_enrolment_code(session, console, store, "kiosk", 24 * 60)
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
        from .server.demo_feed import DemoFeed

        feed = DemoFeed(make_engine(url), f"http://127.0.0.1:{api_port}", examples["web_shop_key"], store)
        feed.start()
        run_app(
            server_url=f"http://127.0.0.1:{api_port}",
            store=store,
            port=port,
            web=True,
            device_db=str(device_db),
            enrolment_code=own_code,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            typer.secho("The backend stopped while starting; see the messages above.", fg="red", err=True)
            raise typer.Exit(1)
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    typer.secho(f"The backend did not answer at {url} within {timeout:.0f} s.", fg="red", err=True)
    raise typer.Exit(1)


@app.command()
def scan(images: Annotated[list[Path], typer.Argument(help="image files to read")]) -> None:
    """Print what each image holds: text, symbology, GS1 meaning and (with a backend) the product."""
    from .device.scanner import local_product_lookup
    from .scan.cli import scan_images

    raise typer.Exit(scan_images(images, lookup=local_product_lookup()))


def main() -> None:
    app()
