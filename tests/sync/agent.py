"""A simulated device in a process of its own, so that the fault suite can SIGKILL it at any moment.

    python tests/sync/agent.py --url URL --db DEVICE.db --progress P.json --oplog OPS.jsonl \
        --staff 1002 --skus 100005,100006 --seed 7 --ops 40 [--sync-prob 0.25] [--background]

Secrets come from the environment, never from the command line and never printed:
STORE_ASSOCIATE_AGENT_CODE (the enrolment code, needed on the first start only) and
STORE_ASSOCIATE_AGENT_PIN.

The agent enrols (or reopens its database), signs the person in (online, or offline when the server
cannot be reached), then records random AdjustStock / CountStock commands on a few shared SKUs -
some of them driving the stock below zero, so that the server rejects them - and calls sync() at
random points. After every command it appends {local_id, name, args} to the op log (one write) and
rewrites the progress file (atomically). Started again on the same files, it continues where the
op log ends, with a fresh random stream.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))

from store_associate.config import Settings  # noqa: E402
from store_associate.device.auth import Enrol, SignIn  # noqa: E402
from store_associate.device.runtime import AdjustStock, CountStock, Device  # noqa: E402
from store_associate.domain.commands import encode  # noqa: E402

EXIT_ENROL = 3
EXIT_SIGN_IN = 4


def write_progress(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_oplog(path: Path) -> int:
    """Complete lines of the op log (a kill may leave a half-written last one, ignored)."""
    if not path.exists():
        return 0
    done = 0
    for line in path.read_bytes().split(b"\n"):
        try:
            json.loads(line)
        except ValueError:
            continue
        done += 1
    return done


def retry(attempt, ok, tries: int = 300, pause: float = 0.05):  # noqa: ANN001, ANN201
    """A person trying again until it works (bounded)."""
    result = None
    for _ in range(tries):
        result = attempt()
        if ok(result):
            return result
        time.sleep(pause)
    return result


def pick_command(rng: random.Random, skus: list[str], device: Device):  # noqa: ANN201
    sku = rng.choice(skus)
    shown = device.lookup.stock_here(sku)[0].on_hand
    x = rng.random()
    if x < 0.40:
        return AdjustStock(sku=sku, delta=rng.choice([1, 1, 2, 3, 5]), reason=rng.choice(["found", "received"]))
    if x < 0.72:
        return AdjustStock(
            sku=sku,
            delta=-rng.randint(1, max(1, min(6, shown + 1))),
            reason=rng.choice(["damaged", "theft", "correction"]),
        )
    if x < 0.84:  # more than the shelf holds: the server says no (unless others added meanwhile)
        return AdjustStock(sku=sku, delta=-(shown + rng.randint(1, 8)), reason="damaged")
    return CountStock(sku=sku, counted=rng.randint(max(0, shown - 4), shown + 3), seen_on_hand=shown)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="server (or fault proxy) URL for this device")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--progress", required=True, type=Path)
    p.add_argument("--oplog", required=True, type=Path)
    p.add_argument("--name", default="agent")
    p.add_argument("--store", default="NYC-01")
    p.add_argument("--staff", required=True, help="staff number (the PIN comes from the environment)")
    p.add_argument("--skus", required=True, help="comma-separated shared SKUs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ops", type=int, default=40)
    p.add_argument("--sync-prob", type=float, default=0.25)
    p.add_argument("--background", action="store_true", help="also run the background sync loop (pokes)")
    args = p.parse_args(argv)

    progress = json.loads(args.progress.read_text()) if args.progress.exists() else {}
    runs = int(progress.get("runs", 0)) + 1
    state = {
        "name": args.name,
        "pid": os.getpid(),
        "runs": runs,
        "status": "starting",
        "ops_done": read_oplog(args.oplog),
        "ops": args.ops,
        "syncs": int(progress.get("syncs", 0)),
        "times": progress.get("times", []) + [["start", round(time.time(), 3)]],
    }
    write_progress(args.progress, state)

    settings = Settings(server_url=args.url, device_db=args.db, store_code=args.store, http_timeout_seconds=2)
    device = Device(settings)
    if not device.auth.enrolled:
        code = os.environ.get("STORE_ASSOCIATE_AGENT_CODE", "")
        outcome = retry(lambda: device.enrol(code, args.name), lambda o: o is not Enrol.OFFLINE)
        if outcome is not Enrol.OK:
            print(f"{args.name}: enrolment failed ({outcome})", file=sys.stderr)
            return EXIT_ENROL
    pin = os.environ.get("STORE_ASSOCIATE_AGENT_PIN", "")
    signed = retry(
        lambda: device.auth.sign_in(args.staff, pin),
        lambda r: r.outcome in (SignIn.OK, SignIn.OK_OFFLINE, SignIn.WRONG, SignIn.REVOKED),
    )
    if signed.outcome not in (SignIn.OK, SignIn.OK_OFFLINE):
        print(f"{args.name}: sign-in failed ({signed.outcome})", file=sys.stderr)
        return EXIT_SIGN_IN
    if runs == 1:  # the first pull, so that counts see real figures
        retry(device.sync, lambda s: s.online, tries=100)
    state["times"].append(["running", round(time.time(), 3)])
    state.update(status="running", device_id=device.auth.device_id)
    write_progress(args.progress, state)
    if args.background:
        device.engine.interval = 1.0
        device.start_background()

    rng = random.Random(f"{args.seed}:{args.name}:{runs}")
    skus = args.skus.split(",")
    fd = os.open(args.oplog, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if args.oplog.stat().st_size and not args.oplog.read_bytes().endswith(b"\n"):
        os.write(fd, b"\n")  # a line cut off by a kill stays on its own
    try:
        while state["ops_done"] < args.ops:
            command = pick_command(rng, skus, device)
            local_id = device.record(command)
            name, _, cargs = encode(command)
            os.write(fd, (json.dumps({"local_id": local_id, "name": name, "args": cargs}) + "\n").encode())
            state["ops_done"] += 1
            if rng.random() < args.sync_prob:
                device.sync()
                state["syncs"] += 1
            state["pending"] = device.status.pending
            write_progress(args.progress, state)
        device.sync()
        state["syncs"] += 1
    finally:
        os.close(fd)
    device.engine.stop()
    with device.engine._round:  # no background round is left half-way when the process ends
        state["times"].append(["done", round(time.time(), 3)])
        state.update(
            status="done", pending=device.outbox.pending_count(), rejected=len(device.outbox.entries(("rejected",)))
        )
        device.close()
        write_progress(args.progress, state)
        print(f"{args.name}: {state['ops_done']} ops, {state['syncs']} syncs, run {runs}", flush=True)
        os._exit(0)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
