"""Sync speed: push apply rate (SQLite, PostgreSQL) beside the database's raw insert rate, 10,000 offline
mutations converging, the first pull of a 100,000-SKU store, and poke latency.

    python tests/benchmarks/bench_sync.py [--push-total 10000] [--batch 500] [--writers 4]
                                          [--offline 10000] [--pull-skus 100000] [--pokes 100]
                                          [--no-postgres]

Everything runs for real: server processes on localhost, SQLite files, the PostgreSQL server, the
device runtime in this process. Prints one JSON object with each figure beside its target (issue 6):

  push apply rate   >= 2,000 mutations/s on SQLite, and >= 50 % of the same database's raw insert rate:
                    the rate at which it takes the very rows a mutation writes, raw (see raw_insert_rate)
  offline backlog   10,000 mutations recorded offline converge (pending 0, figures equal) in <= 10 s
  first pull        a fresh device pulls a store of 100,000 SKUs in <= 10 s
  poke latency      p95 <= 1 s from device A's push to 'changed' on device B's event stream
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

import httpx  # noqa: E402

from tests.conftest import free_port, postgres_database, seed_database  # noqa: E402
from tests.sync.scenarios import start_server, stop_server  # noqa: E402

STORE = "NYC-01"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextlib.contextmanager
def backend(kind: str, tmp: Path, skus: int, locations: int = 3) -> Iterator[tuple[str, dict]]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{kind}-{skus}-{time.monotonic_ns()}.db'}"
        yield url, seed_database(url, skus=skus, locations=locations)
    else:
        with postgres_database() as url:
            yield url, seed_database(url, skus=skus, locations=locations)


def skus_of(database_url: str, limit: int) -> list[str]:
    from sqlalchemy import text

    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sku FROM product ORDER BY sku LIMIT :n"), {"n": limit}).scalars().all()
    engine.dispose()
    return list(rows)


def on_hand(database_url: str, skus: list[str]) -> dict[str, int]:
    from sqlalchemy import text

    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sku, on_hand FROM inventory_level WHERE store_code=:s"), {"s": STORE}).all()
    engine.dispose()
    wanted = set(skus)
    return {sku: n for sku, n in rows if sku in wanted}


def mutation(i: int, sku: str, staff: str) -> dict:
    return {
        "id": i,
        "name": "adjust_stock",
        "version": 1,
        "staff_number": staff,
        "args": {"sku": sku, "delta": 1, "reason": "found"},
        "created_at": datetime.now(UTC).isoformat(),
    }


# --- push apply rate -------------------------------------------------------------------------------------


def raw_insert_rate(database_url: str, total: int, batch: int, skus: list[str]) -> float:
    """The ceiling, in mutations per second: the same rows a pushed stock mutation writes, written raw.

    An applied adjust_stock writes one inventory_movement row (the ledger), one inventory_level update
    (on hand, updated_at, version) and one mutation_log row; each batch also moves the version counter
    and the device's sync row once. Here exactly those rows are written with executemany through the
    same engine and driver (make_engine: SQLite with BEGIN IMMEDIATE and WAL, or psycopg), in
    transactions of `batch` mutations, one commit each, over the same SKUs as the push phases. No
    HTTP, no validation, no rules: what the database can take. (An earlier version of this ceiling
    inserted one small ledger row per "mutation" in a single transaction, a third of the work.)"""
    from sqlalchemy import text

    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    device = "bench-raw"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM mutation_log WHERE device_id = :d"), {"d": device})
    movement = text(
        "INSERT INTO inventory_movement (store_code, sku, field, delta, reason, reference, device_id, mutation_id,"
        " created_at) VALUES (:store_code, :sku, 'on_hand', 0, 'bench', :reference, :device_id, :mutation_id,"
        " :created_at)"
    )
    level = text(
        "UPDATE inventory_level SET on_hand = on_hand + 0, updated_at = :updated_at, version = version"
        " WHERE store_code = :store_code AND sku = :sku"
    )
    logged = text(
        "INSERT INTO mutation_log (device_id, mutation_id, store_code, name, version, args, staff_number, status,"
        " reason, detail, created_at, applied_at) VALUES (:device_id, :mutation_id, :store_code, 'adjust_stock', 1,"
        " :args, '1001', 'applied', '', '', :created_at, :applied_at)"
    )
    counter = text("UPDATE sync_counter SET value = value + 0 WHERE id = 1")
    state = text("UPDATE device_sync_state SET pending = pending WHERE device_id = :d")
    started = time.perf_counter()
    for first in range(1, total + 1, batch):
        now = datetime.now(UTC)
        ids = range(first, min(total, first + batch - 1) + 1)
        rows = [
            {
                "store_code": STORE,
                "sku": skus[i % len(skus)],
                "reference": f"{device}:{i}",
                "device_id": device,
                "mutation_id": i,
                "created_at": now,
                "updated_at": now,
                "applied_at": now,
                "args": json.dumps({"sku": skus[i % len(skus)], "delta": 1, "reason": "found"}),
            }
            for i in ids
        ]
        with engine.begin() as conn:
            conn.execute(counter)
            conn.execute(level, rows)
            conn.execute(movement, rows)
            conn.execute(logged, rows)
            conn.execute(state, {"d": device})
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM inventory_movement WHERE reason = 'bench'"))
        conn.execute(text("DELETE FROM mutation_log WHERE device_id = :d"), {"d": device})
    engine.dispose()
    return total / seconds


def push_rate(server, total: int, batch: int, writers: int, skus: list[str], cap_s: float) -> dict:
    """`writers` enrolled devices push `total` mutations together, in batches of `batch`, over HTTP.
    A phase stops sending after `cap_s` seconds (concurrent pushes can stall on server errors); the
    rate is what the server applied in the time taken."""
    devices = [server.enrol(STORE) for _ in range(writers)]
    for d in devices:  # the person each device's mutations name signed in on it
        staff = server.sign_in_on(d, "associate")
    per_device = total // writers
    before = on_hand(server.database_url, skus)
    retries, errors, sent = [0], [], [0] * writers
    deadline = time.perf_counter() + cap_s

    def run(headers: dict, offset: int, k: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            i = 1
            while i <= per_device and time.perf_counter() < deadline:
                ids = range(i, min(per_device, i + batch - 1) + 1)
                body = {"mutations": [mutation(j, skus[(offset + j) % len(skus)], staff) for j in ids]}
                try:
                    r = client.post("/api/v1/sync/push", json=body)
                except httpx.TransportError:  # the server closed the connection after an error: again
                    retries[0] += 1
                    continue
                if r.status_code >= 500:  # what a device does: send the same batch again
                    retries[0] += 1
                    continue
                if r.status_code != 200:
                    errors.append(r.text[:200])
                    return
                i = r.json()["last_applied"] + 1
                sent[k] = i - 1

    threads = [threading.Thread(target=run, args=(h, k * 7, k)) for k, h in enumerate(devices)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    after = on_hand(server.database_url, skus)
    applied = sum(after.values()) - sum(before.values())
    return {
        "writers": writers,
        "batch": batch,
        "planned": per_device * writers,
        "applied": applied,
        "seconds": round(seconds, 2),
        "capped": applied < per_device * writers,
        "mutations_per_s": round(applied / seconds),
        "server_error_retries": retries[0],
        "errors": errors[:3],
        "sane": applied == sum(sent) and not errors,
    }


def bench_push(kind: str, tmp: Path, args: argparse.Namespace) -> dict:
    with backend(kind, tmp, skus=2000) as (url, examples):
        server = start_server(url, examples, free_port(), tmp / f"server-{kind}-push.log")
        try:
            skus = skus_of(url, 500)
            ceiling = raw_insert_rate(url, args.push_total, args.batch, skus)
            one = push_rate(server, args.push_total, args.batch, 1, skus, args.phase_cap)
            several = push_rate(server, args.push_total, args.batch, args.writers, skus, args.phase_cap)
        finally:
            stop_server(server, hard=False)
    best = max(one["mutations_per_s"], several["mutations_per_s"])
    return {
        "raw_mutations_per_s": round(ceiling),
        "one_device": one,
        "several_devices": several,
        "best_mutations_per_s": best,
        "share_of_ceiling": round(best / ceiling, 3),
    }


# --- device: offline backlog, first pull ------------------------------------------------------------------


def make_device(server, path: Path, name: str):  # noqa: ANN201
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    device = Device(Settings(server_url=server.url, device_db=path, store_code=STORE, http_timeout_seconds=30))
    assert device.enrol(server.enrolment_code(STORE), name).value == "ok"
    person = server.person("associate")
    assert device.auth.sign_in(person["staff_number"], person["pin"]).outcome.value == "ok"
    return device


def bench_offline(tmp: Path, count: int) -> dict:
    from store_associate.device.runtime import AdjustStock
    from store_associate.device.sync_client import SyncClient

    with backend("sqlite", tmp, skus=2000) as (url, examples):
        server = start_server(url, examples, free_port(), tmp / "server-offline.log")
        try:
            device = make_device(server, tmp / "offline-device.db", "offline")
            device.sync()
            skus = skus_of(url, 20)
            start = on_hand(url, skus)
            real = device.engine.client
            dead = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
            dead.device_token = real.device_token
            device.engine.client = dead  # the network is cut
            recording = time.perf_counter()
            for i in range(count):
                device.record(AdjustStock(sku=skus[i % len(skus)], delta=1, reason="found"))
            recorded_s = time.perf_counter() - recording
            offline = device.sync().online  # (the status object is updated in place later)
            device.engine.client = real  # and back
            started = time.perf_counter()
            rounds = 0
            while rounds < 50:
                device.sync()
                rounds += 1
                if device.outbox.pending_count() == 0:
                    break
            seconds = time.perf_counter() - started
            server_now = on_hand(url, skus)
            shown = {sku: device.lookup.stock_here(sku)[0].on_hand for sku in skus}
            sane = {
                "offline_while_cut": offline is False,
                "figures_equal": shown == server_now,
                "all_counted": sum(server_now.values()) - sum(start.values()) == count,
            }
            device.close()
        finally:
            stop_server(server, hard=False)
    return {
        "mutations": count,
        "record_s": round(recorded_s, 2),
        "converge_s": round(seconds, 2),
        "sync_rounds": rounds,
        "mutations_per_s": round(count / seconds),
        "sane": sane,
    }


def bench_first_pull(tmp: Path, skus: int) -> dict:
    seeding = time.perf_counter()
    with backend("sqlite", tmp, skus=skus) as (url, examples):
        seeded_s = time.perf_counter() - seeding
        server = start_server(url, examples, free_port(), tmp / "server-pull.log")
        try:
            device = make_device(server, tmp / "pull-device.db", "pull")
            started = time.perf_counter()
            round_ = device.engine.sync_once()
            seconds = time.perf_counter() - started
            counts = device.store.counts()
            device.close()
        finally:
            stop_server(server, hard=False)
    return {
        "skus": skus,
        "seed_s": round(seeded_s, 1),
        "pull_s": round(seconds, 2),
        "pages": round_.pulled_pages,
        "device_rows": counts,
        "sane": counts["product"] == skus,
    }


# --- pokes ------------------------------------------------------------------------------------------------------


def bench_pokes(kind: str, tmp: Path, samples: int) -> dict:
    with backend(kind, tmp, skus=200) as (url, examples):
        server = start_server(url, examples, free_port(), tmp / f"server-{kind}-pokes.log")
        try:
            writer, listener = server.enrol(STORE), server.enrol(STORE)
            staff = server.sign_in_on(writer, "associate")
            arrivals: queue.Queue[float] = queue.Queue()
            opened = threading.Event()
            stop = threading.Event()

            def listen() -> None:
                with (
                    contextlib.suppress(httpx.HTTPError),
                    httpx.stream(
                        "GET",
                        f"{server.url}/api/v1/sync/events",
                        headers=listener,
                        params={"store": STORE, "seconds": 600},
                        timeout=httpx.Timeout(5, read=60),
                    ) as r,
                ):
                    for line in r.iter_lines():
                        opened.set()
                        if stop.is_set():
                            return
                        if line.startswith("event: changed"):
                            arrivals.put(time.perf_counter())

            thread = threading.Thread(target=listen, daemon=True)
            thread.start()
            assert opened.wait(30), "the event stream did not open"
            latencies, missed = [], 0
            with httpx.Client(base_url=server.url, headers=writer, timeout=30) as client:
                for i in range(1, samples + 1):
                    while not arrivals.empty():
                        arrivals.get_nowait()
                    sent = time.perf_counter()
                    r = client.post("/api/v1/sync/push", json={"mutations": [mutation(i, "100005", staff)]})
                    assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text
                    try:
                        latencies.append(arrivals.get(timeout=5) - sent)
                    except queue.Empty:
                        missed += 1
            stop.set()
        finally:
            stop_server(server, hard=True)
    ms = [v * 1000 for v in latencies]
    return {
        "samples": samples,
        "received": len(ms),
        "missed": missed,
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": round(pct(ms, 95), 1) if ms else None,
        "max_ms": round(max(ms), 1) if ms else None,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--push-total", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--offline", type=int, default=10_000)
    p.add_argument("--pull-skus", type=int, default=100_000)
    p.add_argument("--pokes", type=int, default=100)
    p.add_argument("--phase-cap", type=float, default=60.0, help="seconds at most per push phase")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop servers, drop databases on the way out
    kinds = ["sqlite"] + ([] if args.no_postgres else ["postgres"])
    out: dict = {
        "targets": {
            "push_sqlite_mutations_per_s": 2000,
            "push_share_of_ceiling": 0.5,
            "offline_10k_converge_s": 10,
            "first_pull_100k_s": 10,
            "poke_p95_ms": 1000,
        }
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        out["push"] = {kind: bench_push(kind, tmp, args) for kind in kinds}
        out["offline"] = bench_offline(tmp, args.offline)
        out["pokes"] = {kind: bench_pokes(kind, tmp, args.pokes) for kind in kinds}
        out["first_pull"] = bench_first_pull(tmp, args.pull_skus)
    sqlite_push = out["push"]["sqlite"]
    out["verdict"] = {
        "push_sqlite_rate_ok": sqlite_push["best_mutations_per_s"] >= 2000,
        "push_sqlite_share_ok": sqlite_push["share_of_ceiling"] >= 0.5,
        "offline_ok": out["offline"]["converge_s"] <= 10 and all(out["offline"]["sane"].values()),
        "first_pull_ok": out["first_pull"]["pull_s"] <= 10 and out["first_pull"]["sane"],
        "pokes_ok": all(v["p95_ms"] is not None and v["p95_ms"] <= 1000 for v in out["pokes"].values()),
    }
    out["time_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
