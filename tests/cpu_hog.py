"""Keep every core busy for a bounded time: the load a shared CI runner or a busy laptop puts on the tests.

    python tests/cpu_hog.py --seconds 900 & .venv/bin/python -m pytest tests/e2e -q

One busy-looping process per core (or --cores N) at normal priority, so the tests compete for the CPU as they
would with other work. It stops by itself after --seconds, when it is sent SIGTERM or SIGINT, and when the
process that started it ends (the shell line above, say): a forgotten hog never outlives its run. Standard
library only; no stress-ng needed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import sys
import time

CHECK_EVERY = 0.2  # seconds of spinning between looks at the clock and the parent


def spin(deadline: float, parent: int) -> None:
    """Burn one core until the deadline, or until `parent` is gone (this process is then re-parented)."""
    # A forked worker inherits the starter's handlers; it must die on the SIGTERM its terminate() sends.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the starter stops us
    x = 0
    while time.monotonic() < deadline and os.getppid() == parent:
        until = time.monotonic() + CHECK_EVERY
        while time.monotonic() < until:
            for i in range(10_000):
                x ^= i


def hog(seconds: float, cores: int) -> float:
    """Run `cores` spinners for `seconds` (fewer if the starter ends); returns how long they ran."""
    started = time.monotonic()
    deadline = started + seconds
    starter, me = os.getppid(), os.getpid()
    workers = [mp.Process(target=spin, args=(deadline, me), daemon=True) for _ in range(cores)]
    stop = False

    def end(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    for w in workers:
        w.start()
    try:
        while (
            not stop and time.monotonic() < deadline and os.getppid() == starter and any(w.is_alive() for w in workers)
        ):
            time.sleep(CHECK_EVERY)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join(timeout=2)
            if w.is_alive():
                w.kill()
                w.join()
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long (required: bounded)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="busy loops (default: every core)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.cores <= 0:
        parser.error("--seconds and --cores must be positive")
    ran = hog(args.seconds, args.cores)
    print(f"cpu_hog: {args.cores} busy loop(s) for {ran:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
