"""Lookup speed: device cache code->product, server availability over 1,000 locations, device memory.

    python tests/benchmarks/bench_lookup.py [--skus 100000] [--codes-per-sku 3] [--locations 1000]
                                            [--samples 2000] [--no-postgres]

Prints one JSON object. Targets (issue 3): device p95 <= 2 ms with 100,000 SKUs and 300,000 codes;
availability p95 <= 10 ms over 1,000 locations on SQLite and PostgreSQL; device RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

from biip.checksums import gs1_standard_check_digit  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "max_ms": round(max(ms), 3),
    }


def gtin(rng: random.Random, length: int) -> str:
    body = str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=length - 2))
    return body + str(gs1_standard_check_digit(body))


# --- device ----------------------------------------------------------------------------------------


def build_device_cache(path: Path, skus: int, codes_per_sku: int, seed: int = 7) -> list[str]:
    """Fill a device database the way a pull does (LocalStore.apply_pull), return sample codes."""
    from store_associate.device.store import LocalStore

    rng = random.Random(seed)
    store = LocalStore(path)
    samples: list[str] = []
    cursor = 0
    page_size = 10_000
    for start in range(0, skus, page_size):
        products, codes, stock = [], [], []
        for i in range(start, min(skus, start + page_size)):
            sku = f"{1_000_000 + i}"
            products.append(
                {
                    "sku": sku,
                    "name": f"Product {i} with a realistic length name",
                    "brand": "Brand",
                    "description": "A description of a product. " * 4,
                    "category": "Grocery",
                    "price": "9.99",
                    "currency": "USD",
                    "image": "/images/products/grocery.png",
                    "attributes": {"size": "500 g"},
                    "version": i,
                }
            )
            item_codes = [gtin(rng, 13)] + [gtin(rng, 14) for _ in range(codes_per_sku - 1)]
            for c in item_codes:
                codes.append({"code": c.zfill(14), "sku": sku, "kind": "gtin", "pack_qty": 1})
            stock.append(
                {
                    "store_code": "BENCH-01",
                    "sku": sku,
                    "on_hand": rng.randint(0, 50),
                    "reserved": 0,
                    "safety_stock": 1,
                    "incoming": 0,
                    "damaged": 0,
                    "updated_at": "",
                    "version": i,
                }
            )
            if rng.random() < 0.02:
                samples.append(item_codes[0])
        cursor += len(products)
        store.apply_pull(
            {"cursor": cursor, "more": True, "stores": [], "products": products, "barcodes": codes, "stock": stock},
            "BENCH-01",
        )
    store.close()
    return samples


DEVICE_PROBE = r"""
import json, sys, time, gc
sys.path.insert(0, sys.argv[1])
import psutil
import flet  # the device process holds the UI too
from store_associate.ui import app as _ui  # noqa: F401
from store_associate.device.store import LocalStore
from store_associate.device.lookup import LookupService, Outcome
codes = json.loads(open(sys.argv[3]).read())
store = LocalStore(sys.argv[2])
svc = LookupService(store, None, "BENCH-01")
for c in codes[:200]:
    svc.lookup(c, record=False)  # warm the page cache and statement cache
times, found = [], 0
for c in codes:
    t0 = time.perf_counter()
    r = svc.lookup(c, record=False)
    times.append(time.perf_counter() - t0)
    found += r.outcome is Outcome.FOUND and r.stock is not None
recorded = []
for c in codes[:300]:
    t0 = time.perf_counter()
    svc.lookup(c, record=True)
    recorded.append(time.perf_counter() - t0)
gc.collect()
rss = psutil.Process().memory_info().rss
print(json.dumps({"times": times, "recorded": recorded, "found": found, "rss": rss, "counts": store.counts()}))
"""


def bench_device(skus: int, codes_per_sku: int, samples: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "device.db"
        t0 = time.perf_counter()
        codes = build_device_cache(db, skus, codes_per_sku)
        build_s = time.perf_counter() - t0
        rng = random.Random(1)
        picked = [rng.choice(codes) for _ in range(samples)]
        # A tenth of the scans are codes the shop does not carry: misses must be fast too.
        picked += [gtin(rng, 13) for _ in range(samples // 10)]
        codes_file = Path(tmp) / "codes.json"
        codes_file.write_text(json.dumps(picked))
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", DEVICE_PROBE, str(ROOT / "app"), str(db), str(codes_file)],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(out.stdout.strip().splitlines()[-1])
        return {
            "cache": data["counts"],
            "build_seconds": round(build_s, 1),
            "db_mb": round(db.stat().st_size / 2**20, 1),
            "code_to_product": summary_ms(data["times"]),
            "code_to_product_with_recent_scan_write": summary_ms(data["recorded"]),
            "found": data["found"],
            "asked": len(picked),
            "device_rss_mb": round(data["rss"] / 2**20, 1),
            "targets": {"p95_ms": 2.0, "rss_mb": 300},
        }


# --- server ----------------------------------------------------------------------------------------


def bench_server(kind: str, locations: int, skus: int, stocked: int, samples: int) -> dict:
    import httpx
    from sqlmodel import Session

    from store_associate.server import crud
    from store_associate.server.db import make_engine, upgrade
    from store_associate.server.seed import seed
    from tests.conftest import database, start_server

    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        summary = seed(engine, 42, locations, skus, stocked, sales_days=0)
        seed_s = time.perf_counter() - t0
        rng = random.Random(3)
        skus_sampled = [f"{100001 + rng.randrange(stocked - 20)}" for _ in range(samples)]
        origin_code = summary.examples["store"]

        # In-process: the query and the distance sort, without HTTP.
        from datetime import UTC, datetime

        directory = crud.StoreDirectory()
        inproc = []
        with Session(engine) as session:
            origin = directory.get(session)[origin_code]
            for sku in skus_sampled[:50]:
                crud.availability(session, directory, sku, origin, datetime.now(UTC), None, 1000, False)
            for sku in skus_sampled:
                t = time.perf_counter()
                rows = crud.availability(session, directory, sku, origin, datetime.now(UTC), None, 1000, False)
                inproc.append(time.perf_counter() - t)
        assert len(rows) == locations - 1, len(rows)
        engine.dispose()

        server = start_server(url, summary.examples)
        http_times = []
        try:
            with httpx.Client(base_url=server.url, timeout=10, headers=server.enrol(origin_code)) as client:
                for sku in skus_sampled[:50]:
                    client.get(f"/api/v1/availability/{sku}", params={"store": origin_code, "limit": 1000})
                for sku in skus_sampled:
                    t = time.perf_counter()
                    r = client.get(f"/api/v1/availability/{sku}", params={"store": origin_code, "limit": 1000})
                    http_times.append(time.perf_counter() - t)
                    assert r.status_code == 200 and len(r.json()["locations"]) == locations - 1
                nearest = []
                for sku in skus_sampled[: samples // 2]:
                    t = time.perf_counter()
                    client.get(
                        f"/api/v1/availability/{sku}", params={"store": origin_code, "limit": 20, "in_stock_only": True}
                    )
                    nearest.append(time.perf_counter() - t)
        finally:
            server.stop()
        return {
            "database": kind,
            "locations": locations,
            "skus": skus,
            "stock_rows": summary.stock_rows,
            "seed_seconds": round(seed_s, 1),
            "availability_query_in_process_all_locations": summary_ms(inproc),
            "availability_http_all_locations": summary_ms(http_times),
            "availability_http_nearest_20_in_stock": summary_ms(nearest),
            "target_p95_ms": 10.0,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skus", type=int, default=100_000)
    ap.add_argument("--codes-per-sku", type=int, default=3)
    ap.add_argument("--locations", type=int, default=1000)
    ap.add_argument(
        "--stocked-per-location", type=int, default=200, help="SKUs carried by every location in the server benchmark"
    )
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "device": bench_device(args.skus, args.codes_per_sku, args.samples),
        "server": [
            bench_server(kind, args.locations, args.skus, args.stocked_per_location, args.samples // 4)
            for kind in (["sqlite"] if args.no_postgres else ["sqlite", "postgres"])
        ],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
