"""Pickup speed: web-shop order intake over HTTP (SQLite, PostgreSQL) and the device's queue screen data
with 500 open orders, with and without order steps waiting in the outbox.

    python tests/benchmarks/bench_pickup.py [--orders 2000] [--clients 16] [--offered 100] [--sustain-s 30]
                                            [--open-orders 500] [--pending-steps 200] [--samples 200]
                                            [--no-postgres] [--pg-workers 2] [--only intake|queue]

Everything runs for real: server processes on localhost, SQLite files, the PostgreSQL server, the device
runtime (enrolled, signed in, pulled) in this process. Prints one JSON object with each figure beside its
target (issue "pickup"):

  intake        >= 100 orders/s sustained, on SQLite and on PostgreSQL (POST /api/v1/orders, X-Api-Key,
                a fresh Idempotency-Key per order), measured twice on one server:
                capacity   `--clients` connections each sending its next order when answered: >= 100/s
                sustained  orders arriving at `--offered` a second for `--sustain-s` s whatever the server
                           does: every quarter of the run completes >= 97 a second, latency (from when the
                           order was due) p95 <= 1 s
  queue data    Orders.queues() (what the queue screen's view-model calls) p95 <= 20 ms with 500 open orders:
                with no step pending; with 200 steps pending on 100 orders, drawn again with nothing changed
                and drawn after each further step (the first draw after a start, nothing laid over or parsed
                yet, is reported beside them)

A missed target comes with the top of a cProfile of the slow call, to show where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

import httpx  # noqa: E402
import psutil  # noqa: E402

from tests.conftest import free_port, postgres_database, seed_database  # noqa: E402
from tests.sync.scenarios import start_server, stop_server  # noqa: E402

STORE = "NYC-01"
TARGET_INTAKE_PER_S = 100
TARGET_QUEUE_P95_MS = 20.0
TARGET_SUSTAINED_P95_MS = 1000.0  # a checkout that waits a second for its order number still feels instant
NAMES = ["Robin Buyer", "José Núñez", "Zoë Ångström", "محمد عبد الله", "Łucja Wałęsa", "Sam Lee", "Ana Souza"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(pct(ms, 95), 2),
        "max_ms": round(max(ms), 2),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextlib.contextmanager
def backend(kind: str, tmp: Path, skus: int) -> Iterator[tuple[str, dict]]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{kind}-{time.monotonic_ns()}.db'}"
        yield url, seed_database(url, skus=skus, locations=3)
    else:
        with postgres_database() as url:
            yield url, seed_database(url, skus=skus, locations=3)


def stocked_skus(database_url: str, limit: int) -> list[str]:
    from sqlalchemy import text

    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text("SELECT sku FROM inventory_level WHERE store_code=:s AND on_hand > 5 ORDER BY sku LIMIT :n"),
                {"s": STORE, "n": limit},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return list(rows)


def server_counts(database_url: str, prefix: str) -> dict:
    from sqlalchemy import text

    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        orders = conn.execute(
            text("SELECT count(*) FROM customer_order WHERE idempotency_key LIKE :p"), {"p": prefix + "%"}
        ).scalar_one()
        units = conn.execute(
            text(
                "SELECT coalesce(sum(l.qty), 0) FROM order_line l JOIN customer_order o"
                " ON o.number = l.order_number WHERE o.idempotency_key LIKE :p"
            ),
            {"p": prefix + "%"},
        ).scalar_one()
    engine.dispose()
    return {"orders": int(orders), "units": int(units)}


def order_bodies(skus: list[str], count: int, seed: int, now: datetime) -> list[dict]:
    rng = random.Random(seed)
    bodies = []
    for i in range(count):
        lines = [{"sku": s, "qty": rng.randint(1, 3)} for s in rng.sample(skus, rng.randint(1, 4))]
        # A tenth due soon or already late (overdue in the queue), as in a busy store.
        promised = now + timedelta(minutes=rng.randint(-60, 600) if rng.random() < 0.1 else rng.randint(30, 2880))
        bodies.append(
            {
                "store": STORE,
                "customer": {"name": rng.choice(NAMES), "email": f"c{i}@example.com"},
                "lines": lines,
                "promised_at": promised.isoformat(),
            }
        )
    return bodies


def place(
    server_url: str, api_key: str, bodies: list[dict], clients: int, key_prefix: str, rate: float | None = None
) -> dict:
    """POST every body once, from `clients` threads. A transport error or 5xx is retried with the same
    Idempotency-Key (what a web shop does), so a retry never makes a second order.

    Without `rate` each thread sends its next order when the last is answered (a closed loop: the rate is
    what the server manages with that many connections). With `rate`, order i is due at i/rate seconds
    whatever the server does (an open loop, as shoppers check out), and its latency counts from when it was
    due: a server that falls behind shows it as a growing latency, not a politely slower sender.

    The web shop runs elsewhere in real life; here it shares the 2 cores with the server, so it is written
    on the standard library's http.client (one keep-alive connection a thread), which costs a fraction of
    httpx's CPU a request. Its CPU is reported beside the server's."""
    host, port = server_url.removeprefix("http://").split(":")
    next_index = iter(range(len(bodies)))
    take = threading.Lock()
    latencies: list[float] = []
    done_at: list[float] = []
    statuses: Counter[int] = Counter()
    retries = [0]
    errors: list[str] = []
    payloads = [json.dumps(b).encode() for b in bodies]

    def run() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while True:
                with take:
                    i = next(next_index, None)
                if i is None:
                    return
                key = f"{key_prefix}{i}-{uuid.uuid4().hex[:12]}"
                headers = {"X-Api-Key": api_key, "Idempotency-Key": key, "Content-Type": "application/json"}
                sent = time.perf_counter()  # latency as the web shop sees it, retries included
                if rate is not None:
                    due = started + i / rate
                    if due > sent:
                        time.sleep(due - sent)  # pacing the load generator, not waiting for a result
                    sent = due
                for _attempt in range(5):
                    try:
                        conn.request("POST", "/api/v1/orders", body=payloads[i], headers=headers)
                        r = conn.getresponse()
                        status, text = r.status, r.read()
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        conn = http.client.HTTPConnection(host, int(port), timeout=30)
                        retries[0] += 1
                        continue
                    if status >= 500:
                        retries[0] += 1
                        continue
                    break
                else:
                    errors.append(f"order {i}: gave up after 5 attempts")
                    continue
                now = time.perf_counter()
                latencies.append(now - sent)
                done_at.append(now)
                statuses[status] += 1
                if status != 201 and len(errors) < 5:
                    errors.append(f"{status}: {text[:200]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter() + (0.05 if rate else 0.0)  # open loop: the threads are started by then
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    # Sustained: the slowest quarter of the run (by completion time) must hold the rate too.
    quarter = seconds / 4
    windows = [
        sum(1 for d in done_at if started + k * quarter <= d < started + (k + 1) * quarter) / quarter for k in range(4)
    ]
    by_quarter = [
        [
            lat
            for lat, d in zip(latencies, done_at, strict=True)
            if started + k * quarter <= d < started + (k + 1) * quarter
        ]
        for k in range(4)
    ]
    return {
        "seconds": seconds,
        "latencies": latencies,
        "statuses": dict(statuses),
        "retries": retries[0],
        "errors": errors,
        "created": statuses.get(201, 0),
        "quarter_rates": windows,
        "quarter_p95_ms": [round(pct(q, 95) * 1000, 1) if q else None for q in by_quarter],
    }


# --- intake ------------------------------------------------------------------------------------------------


def bench_intake(kind: str, tmp: Path, args: argparse.Namespace) -> dict:
    """Two runs on one server: its capacity (a closed loop of `--clients` connections) and whether it holds
    `--offered` orders a second for `--sustain-s` seconds (an open loop)."""
    workers = args.pg_workers if kind == "postgres" else 1
    with backend(kind, tmp, skus=args.skus) as (url, examples):
        os.environ["STORE_ASSOCIATE_WORKERS"] = str(workers)  # the server process reads it; SQLite takes one
        try:
            server = start_server(url, examples, free_port(), tmp / f"server-{kind}-intake.log")
        finally:
            os.environ.pop("STORE_ASSOCIATE_WORKERS", None)
        try:
            skus = stocked_skus(url, 300)
            now = datetime.now(UTC)
            api_key = examples["web_shop_key"]
            place(server.url, api_key, order_bodies(skus, 20, 1, now), 1, "warm-")  # connections, caches
            proc = psutil.Process(server.proc.pid)
            procs = [proc, *proc.children(recursive=True)]  # uvicorn's worker processes, if any

            def cpu() -> float:
                return sum(sum(p.cpu_times()[:2]) for p in procs)

            def run(name: str, count: int, clients: int, rate: float | None, seed: int) -> dict:
                prefix = f"bench-{kind}-{name}-"
                bodies = order_bodies(skus, count, seed, now)
                cpu_before, own_before, load_before = cpu(), time.process_time(), load()
                res = place(server.url, api_key, bodies, clients, prefix, rate)
                made = max(1, res["created"])
                planned_units = sum(ln["qty"] for b in bodies for ln in b["lines"])
                return {
                    "orders": count,
                    "created": res["created"],
                    "seconds": round(res["seconds"], 2),
                    "orders_per_s": round(res["created"] / res["seconds"], 1),
                    "quarter_orders_per_s": [round(r, 1) for r in res["quarter_rates"]],
                    "latency": summary_ms(res["latencies"]),
                    "quarter_p95_ms": res["quarter_p95_ms"],
                    # CPU per order: unlike the rate, it holds whatever else loads the machine.
                    "server_cpu_ms_per_order": round((cpu() - cpu_before) * 1000 / made, 2),
                    "web_shop_client_cpu_ms_per_order": round((time.process_time() - own_before) * 1000 / made, 2),
                    "statuses": res["statuses"],
                    "retries": res["retries"],
                    "errors": res["errors"][:5],
                    "sane": server_counts(url, prefix) == {"orders": count, "units": planned_units},
                    "load_avg_1_5_15": {"before": load_before, "after": load()},
                }

            capacity = {"clients": args.clients, **run("capacity", args.orders, args.clients, None, 2)}
            sustained = {
                "offered_per_s": args.offered,
                "connections": 64,
                **run("sustained", int(args.offered * args.sustain_s), 64, args.offered, 3),
            }
        finally:
            stop_server(server, hard=False)
        capacity["ok"] = capacity["orders_per_s"] >= TARGET_INTAKE_PER_S and not capacity["errors"]
        # Held: every quarter completes (nearly) what arrived in it, and waits stay short to the end.
        sustained["ok"] = (
            not sustained["errors"]
            and min(sustained["quarter_orders_per_s"]) >= 0.97 * TARGET_INTAKE_PER_S
            and sustained["latency"]["p95_ms"] <= TARGET_SUSTAINED_P95_MS
        )
        profile = {}
        if not capacity["ok"] or args.profile:
            profile = profile_intake_in_process(url, api_key, order_bodies(skus, args.profile_orders + 5, 4, now))
    return {
        "database": kind,
        "server_processes": workers,
        "capacity": capacity,
        "sustained": sustained,
        "target_orders_per_s": TARGET_INTAKE_PER_S,
        "target_sustained_p95_ms": TARGET_SUSTAINED_P95_MS,
        "ok": capacity["ok"] and sustained["ok"],
        "sane": capacity["sane"] and sustained["sane"],
        **({"profile_in_process": profile} if profile else {}),
    }


# --- queue data on the device --------------------------------------------------------------------------------


def make_device(server, path: Path, name: str):  # noqa: ANN201
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    device = Device(Settings(server_url=server.url, device_db=path, store_code=STORE, http_timeout_seconds=30))
    assert device.enrol(server.enrolment_code(STORE), name).value == "ok"
    person = server.person("associate")
    assert device.auth.sign_in(person["staff_number"], person["pin"]).outcome.value == "ok"
    return device


def time_calls(fn, samples: int, budget_s: float = 30.0) -> list[float]:  # noqa: ANN001
    """`samples` timed calls after a warm-up; a call far over its target stops after `budget_s` (n says so)."""
    for _ in range(3):
        fn()  # warm the page cache and SQLite's statement cache
    out: list[float] = []
    started = time.perf_counter()
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if len(out) >= 20 and time.perf_counter() - started > budget_s:
            break
    return out


def profile_rows(prof: cProfile.Profile, calls: int, top: int, skip_wrappers: bool = False) -> dict:
    """The top entries by cumulative and by own time, per call of what was profiled."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    entries = stats.stats.items()  # type: ignore[attr-defined]

    def row(key: tuple, value: tuple) -> str:
        file, line, func = key
        _cc, nc, tt, ct, _callers = value
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}({func})" if line else func
        return f"cum {ct / calls * 1000:8.2f} ms  self {tt / calls * 1000:7.2f} ms  calls {nc / calls:>8.1f}  {where}"

    by_cum = sorted(entries, key=lambda kv: kv[1][3], reverse=True)
    # The chain of wrappers around everything (client, ASGI, middleware) says nothing: start below it.
    ceiling = 0.9 * by_cum[0][1][3] if by_cum and skip_wrappers else float("inf")
    return {
        "per_call_total_ms": round(stats.total_tt / calls * 1000, 2),  # type: ignore[attr-defined]
        "by_cumulative": [row(k, v) for k, v in by_cum if v[3] < ceiling][:top],
        "project_code": [row(k, v) for k, v in by_cum if "store_associate" in k[0]][:top],
        "by_self": [row(k, v) for k, v in sorted(entries, key=lambda kv: kv[1][2], reverse=True)[:top]],
    }


def profile_top(fn, calls: int = 10, top: int = 15) -> dict[str, list[str]]:  # noqa: ANN001
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    return profile_rows(prof, calls, top)


def profile_intake_in_process(database_url: str, api_key: str, bodies: list[dict], top: int = 20) -> dict:
    """The whole request path (middleware, validation, auth, intake, commit, response) in this thread.

    The server process runs sync endpoints in a thread pool, which cProfile does not follow; here
    anyio's run_sync runs them inline, and the app is driven over ASGI, so every frame is seen."""
    import asyncio

    import anyio.to_thread

    from store_associate.config import Settings
    from store_associate.server.app import create_app

    async def inline(func, *args, **_kw):  # noqa: ANN001, ANN202
        return func(*args)

    app = create_app(Settings(database_url=database_url))
    real = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]

    async def drive() -> tuple[cProfile.Profile, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"X-Api-Key": api_key}
        ) as client:
            for body in bodies[:5]:  # warm-up
                await client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            prof = cProfile.Profile()
            ok = 0
            prof.enable()
            for body in bodies[5:]:
                r = await client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
                ok += r.status_code == 201
            prof.disable()
            return prof, ok

    try:
        t0 = time.perf_counter()
        prof, ok = asyncio.run(drive())
        seconds = time.perf_counter() - t0
    finally:
        anyio.to_thread.run_sync = real  # type: ignore[assignment]
        # The app's LISTEN thread (PostgreSQL) would outlive the database dropped next and keep reconnecting.
        app.state.poker._stop.set()
        listener = getattr(app.state.poker, "_listener", None)
        if listener is not None:
            listener.join(5)
        app.state.engine.dispose()
    n = len(bodies) - 5
    return {
        "orders": n,
        "created": ok,
        "profiled_orders_per_s": round(n / seconds, 1),
        **profile_rows(prof, n, top, skip_wrappers=True),
    }


def bench_queue(tmp: Path, args: argparse.Namespace) -> dict:
    from store_associate.device.orders import Orders, Refused
    from store_associate.device.runtime import AcknowledgeOrder, PickLine
    from store_associate.device.sync_client import SyncClient

    with backend("sqlite", tmp, skus=args.skus) as (url, examples):
        server = start_server(url, examples, free_port(), tmp / "server-queue.log")
        try:
            skus = stocked_skus(url, 300)
            bodies = order_bodies(skus, args.open_orders, 3, datetime.now(UTC))
            placed = place(server.url, examples["web_shop_key"], bodies, args.clients, "queue-")
            assert placed["created"] == args.open_orders, placed["errors"]
            device = make_device(server, tmp / "queue-device.db", "queue")
            pulled = time.perf_counter()
            pages = device.engine.sync_once().pulled_pages  # pulls until caught up
            pull_s = time.perf_counter() - pulled
        finally:
            stop_server(server, hard=False)
        # From here the device is on its own, as on the shop floor with the network gone.
        dead = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
        dead.device_token = device.engine.client.device_token
        device.engine.client = dead
        held = len(device.store.orders.all())
        orders = device.orders
        load_before = load()
        clean = time_calls(orders.queues, args.samples)
        clean_profile = (
            profile_top(orders.queues, calls=10)
            if summary_ms(clean)["p95_ms"] > TARGET_QUEUE_P95_MS or args.profile
            else {}
        )
        parts_clean = {
            "store_orders": summary_ms(time_calls(device.store.orders.all, args.samples // 2)),
            "outbox_pending_entries": summary_ms(
                time_calls(lambda: device.outbox.entries(("pending",), limit=10_000), args.samples // 2)
            ),
        }

        # Steps recorded offline: acknowledge then pick line 1, on the earliest-promised orders.
        refused = 0
        numbers = [o.number for o in orders.queues()["new"]][: args.pending_steps // 2]
        step_times = []
        for n in numbers:
            for cmd in (AcknowledgeOrder(order=n), PickLine(order=n, line_no=1, qty=1)):
                t0 = time.perf_counter()
                try:
                    orders.do(cmd)
                except Refused:  # counted: the benchmark's steps should all be allowed
                    refused += 1
                step_times.append(time.perf_counter() - t0)
        pending = device.outbox.pending_count()
        # Steady: the screen drawn again (a poke, a pull, a tick) with nothing changed since.
        busy = time_calls(orders.queues, args.samples)
        queues = orders.queues()

        def restarted() -> None:  # the first draw after the app starts: what the device kept is read back
            Orders(device.store, device.outbox, device.record).queues()

        def relaid() -> None:  # nothing kept (the first start after an update): every order laid over again
            fresh = Orders(device.store, device.outbox, device.record)
            fresh._laid = {}
            fresh.queues()

        cold_times = time_calls(restarted, args.samples)
        relaid_times = time_calls(relaid, args.samples)
        cold_profile = profile_top(restarted, calls=5) if args.profile else {}
        # After a tap: one more step (an order acknowledged) recorded, then the screen drawn.
        after_step: list[float] = []
        for n in [o.number for o in queues["new"] if o.number not in set(numbers)][: args.samples]:
            orders.do(AcknowledgeOrder(order=n))
            t0 = time.perf_counter()
            orders.queues()
            after_step.append(time.perf_counter() - t0)
        parts_busy = {
            "outbox_pending_entries": summary_ms(
                time_calls(lambda: device.outbox.entries(("pending",), limit=10_000), args.samples // 2)
            ),
            "shown_one_order": summary_ms(time_calls(lambda: orders.shown(numbers[0]), args.samples // 2)),
        }
        load_after = load()
        clean_s, busy_s, cold_s, step_s = (
            summary_ms(clean),
            summary_ms(busy),
            summary_ms(cold_times),
            summary_ms(after_step),
        )
        # The target holds on every draw a clerk waits for, the first after a start included. Laying every
        # order over again with nothing kept happens once after an app update that changes the pickup rules:
        # reported beside them, not held to the p95.
        missed = max(clean_s["p95_ms"], busy_s["p95_ms"], step_s["p95_ms"], cold_s["p95_ms"]) > TARGET_QUEUE_P95_MS
        profile = {}
        if missed or args.profile:
            profile = {
                "queues_no_pending": clean_profile,
                "queues_with_pending_steps_first_draw": cold_profile or profile_top(restarted, calls=5),
                "queues_with_pending_steps_all_laid_over_again": profile_top(relaid, calls=5),
            }
        device.close()
    return {
        "open_orders_on_device": held,
        "device_pull_s": round(pull_s, 2),
        "pull_pages": pages,
        "queues_no_pending": clean_s,
        "queues_with_pending_steps": busy_s,
        "queues_with_pending_steps_first_draw": cold_s,
        "queues_after_one_more_step": step_s,
        "queues_with_pending_steps_all_laid_over_again": summary_ms(relaid_times),
        "pending_steps": pending,
        "steps_refused": refused,
        "record_step": summary_ms(step_times),
        "queue_sizes": {k: len(v) for k, v in queues.items()},
        "parts_no_pending": parts_clean,
        "parts_with_pending": parts_busy,
        "target_p95_ms": TARGET_QUEUE_P95_MS,
        "ok": not missed,
        "sane": held == args.open_orders and pending == 2 * len(numbers) and refused == 0,
        "load_avg_1_5_15": {"before": load_before, "after": load_after},
        **({"profile": profile} if profile else {}),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=int, default=2000, help="orders in the capacity run")
    p.add_argument(
        "--clients",
        type=int,
        default=16,
        help="web-shop connections in the capacity run (each sends its next order when answered)",
    )
    p.add_argument("--offered", type=float, default=100.0, help="orders a second arriving in the sustained run")
    p.add_argument("--sustain-s", type=float, default=30.0, help="length of the sustained run")
    p.add_argument("--skus", type=int, default=400, help="products seeded")
    p.add_argument("--open-orders", type=int, default=500)
    p.add_argument("--pending-steps", type=int, default=200)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--profile", action="store_true", help="profile even where the target is met")
    p.add_argument("--profile-orders", type=int, default=100, help="orders in the in-process intake profile")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument(
        "--pg-workers",
        type=int,
        default=2,
        help="server processes on PostgreSQL (a chain that outgrows one process runs several)",
    )
    p.add_argument("--only", choices=["intake", "queue"], default=None)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop servers, drop databases on the way out
    kinds = ["sqlite"] + ([] if args.no_postgres else ["postgres"])
    out: dict = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg_1_5_15": load()},
        "targets": {"intake_orders_per_s": TARGET_INTAKE_PER_S, "queue_p95_ms": TARGET_QUEUE_P95_MS},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-pickup-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "intake"):
            out["intake"] = {kind: bench_intake(kind, tmp, args) for kind in kinds}
        if args.only in (None, "queue"):
            out["queue"] = bench_queue(tmp, args)
    out["verdict"] = {
        **{f"intake_{k}_ok": v["ok"] and v["sane"] for k, v in out.get("intake", {}).items()},
        **({"queue_ok": out["queue"]["ok"] and out["queue"]["sane"]} if "queue" in out else {}),
    }
    out["time_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
