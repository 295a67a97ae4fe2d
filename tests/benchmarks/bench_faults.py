"""Many fault schedules: the fault suite of tests/sync/test_faults.py, hundreds of times.

    python tests/benchmarks/bench_faults.py [--schedules 200] [--seed N] [--postgres-every 10]
                                            [--devices 5] [--workdir DIR]

Each schedule: five device processes and a real server through the fault proxy (drop, delay,
duplicate, reorder, cut after apply), server restarts and devices SIGKILLed mid-sync, then healing
and the checks of tests/sync/scenarios.py. Progress goes to stderr, one line per schedule; the
result is one JSON object on stdout: schedules, seeds, failures (must be 0), lost and doubled
mutations, time. Files of failed schedules are kept under --workdir.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

from tests.sync.scenarios import PostgresBackend, SqliteBackend, run_schedule  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--schedules", type=int, default=200)
    p.add_argument("--seed", type=int, default=None, help="base seed (schedule i uses seed + i)")
    p.add_argument("--postgres-every", type=int, default=10, help="every Nth schedule on PostgreSQL (0: none)")
    p.add_argument("--devices", type=int, default=5)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up servers and agents on the way out

    base = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-faults-"))
    print(
        f"bench_faults: base seed {base}, {args.schedules} schedules, files of failures in {workdir}",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    sqlite = SqliteBackend(workdir)
    postgres = PostgresBackend() if args.postgres_every else None
    results = []
    try:
        for i in range(args.schedules):
            use_pg = postgres is not None and args.postgres_every and i % args.postgres_every == args.postgres_every - 1
            backend = postgres if use_pg else sqlite
            result = run_schedule(
                base + i, backend, workdir / f"schedule-{base + i}-{backend.kind}", devices=args.devices
            )
            results.append(result)
            print(
                f"[{i + 1}/{args.schedules}] seed {result.seed} {result.backend}: "
                f"{'ok' if result.ok else 'FAILED'} {result.mutations} mutations ({result.rejected} rejected), "
                f"{result.server_restarts} restarts, {result.agent_kills} kills, {result.seconds} s"
                + ("" if result.ok else f"\n  problems: {result.problems[:5]}"),
                file=sys.stderr,
                flush=True,
            )
    finally:
        if postgres is not None:
            postgres.close()
    faults: Counter = Counter()
    server_5xx: Counter = Counter()
    for r in results:
        faults.update(r.faults)
        server_5xx.update(r.server_5xx)
    failed = [r for r in results if not r.ok]
    out = {
        "schedules": len(results),
        "base_seed": base,
        "seeds": [r.seed for r in results],
        "by_backend": dict(Counter(r.backend for r in results)),
        "failures": len(failed),
        "failures_with_ghost_applies": sum(1 for r in failed if r.ghost_applies),
        "failures_other": sum(1 for r in failed if not r.ghost_applies),
        "ghost_applies": sum(r.ghost_applies for r in results),
        "failed": [
            {"seed": r.seed, "backend": r.backend, "problems": r.problems[:10], "workdir": r.workdir} for r in failed
        ],
        "lost_mutations": sum(r.lost for r in results),
        "doubled_mutations": sum(r.doubled for r in results),
        "stuck_mutations": sum(r.stuck for r in results),
        "mutations": sum(r.mutations for r in results),
        "applied": sum(r.applied for r in results),
        "rejected": sum(r.rejected for r in results),
        "server_restarts": sum(r.server_restarts for r in results),
        "agent_kills": sum(r.agent_kills for r in results),
        "faults_injected": dict(faults),
        "server_5xx_answers": dict(server_5xx),
        "time_s": round(time.monotonic() - started, 1),
        "mean_schedule_s": round(sum(r.seconds for r in results) / max(1, len(results)), 2),
    }
    print(json.dumps(out, indent=1))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
