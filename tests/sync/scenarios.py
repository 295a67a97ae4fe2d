"""One fault schedule: simulated devices (agent processes) and a real server, through the fault proxy.

`run_schedule(seed, backend, workdir)` runs one schedule from its seed and returns what it found;
tests/sync/test_faults.py runs a few, tests/benchmarks/bench_faults.py runs hundreds.

A schedule: a fresh copy of a small seeded database and a server process on it; the fault proxy in
front; N agent processes that enrol, sign in and record random stock commands on a few shared SKUs,
syncing at random points. Once all are running the proxy's faults go on (drop, delay, duplicate,
hold/replay = reorder, cut after apply), and, at random points of the total work done, the driver
restarts the server process (SIGTERM or SIGKILL, same database, same port) and SIGKILLs agents -
at a random moment, or exactly while a push of theirs is in flight or just applied - and starts them
again on the same files. When every agent has done its work: faults off, held requests delivered,
and each device syncs (in this process, on its own database file) until nothing is pending. Then:

  (a) each device's figures for the shared SKUs equal the server's inventory_level;
  (b) every mutation the device numbered was answered exactly once: mutation_log holds ids 1..N and
      nothing else, the ledger has one row per applied non-zero change (none for rejected ones), its
      delta is the command's, and per SKU the ledger sums to on_hand minus the opening on_hand;
  (c) on_hand is never below zero, at the end nor at any point of the ledger;
  (d) every rejection is on its device: the outbox's rejected entries are mutation_log's rejected rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import text

from tests.conftest import PG_ADMIN_URL, RunningServer, free_port
from tests.conftest import start_server as conftest_start_server
from tests.sync.faultproxy import FaultProxy, FaultRates

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "tests" / "sync" / "agent.py"
STORE = "NYC-01"
SEED_SKUS, SEED_LOCATIONS = 50, 3


# --- databases ---------------------------------------------------------------------------------------


class SqliteBackend:
    """A seeded template file, copied for every schedule (seeding takes seconds; a copy, milliseconds)."""

    kind = "sqlite"

    def __init__(self, workdir: Path) -> None:
        from tests.conftest import seed_database

        self.template = workdir / "template.db"
        self.examples = seed_database(f"sqlite:///{self.template}", skus=SEED_SKUS, locations=SEED_LOCATIONS)
        with sqlite3.connect(self.template) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def database(self, workdir: Path) -> Iterator[str]:
        target = workdir / "server.db"
        for stale in (target, workdir / "server.db-wal", workdir / "server.db-shm"):
            stale.unlink(missing_ok=True)
        shutil.copyfile(self.template, target)
        yield f"sqlite:///{target}"

    def close(self) -> None:
        pass


class PostgresBackend:
    """A seeded template database on the PostgreSQL server; each schedule gets CREATE DATABASE ... TEMPLATE."""

    kind = "postgres"

    def __init__(self) -> None:
        import psycopg

        from tests.conftest import seed_database

        self.template = f"sa_tmpl_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{self.template}"')
        self.examples = seed_database(self._url(self.template), skus=SEED_SKUS, locations=SEED_LOCATIONS)

    @staticmethod
    def _url(name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"

    @contextlib.contextmanager
    def database(self, workdir: Path) -> Iterator[str]:
        import psycopg

        name = f"sa_fault_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield self._url(name)
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


# --- the server process ----------------------------------------------------------------------------------


def start_server(database_url: str, examples: dict, port: int, log: Path) -> RunningServer:
    """The test backend on a fixed port (a restarted server keeps its address), logging to `log`."""
    return conftest_start_server(database_url, examples, port, log=log)


def stop_server(server: RunningServer, hard: bool) -> str:
    """SIGKILL, or SIGTERM (then SIGKILL if it has not ended within 10 s). Returns what happened."""
    if server.proc.poll() is not None:
        return "already-dead"
    if hard:
        server.proc.kill()
        server.proc.wait(10)
        return "killed"
    server.proc.terminate()
    try:
        server.proc.wait(10)
        return "terminated"
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(10)
        return "term-timeout-killed"


# --- agents -----------------------------------------------------------------------------------------------


@dataclass
class Agent:
    name: str
    workdir: Path
    url: str
    staff: str
    pin: str
    code: str
    skus: list[str]
    seed: int
    ops: int
    sync_prob: float
    background: bool
    proc: subprocess.Popen | None = None
    spawns: int = 0
    kills: int = 0
    finished: bool = False
    exit_code: int | None = None
    armed_pid: int | None = None

    @property
    def db(self) -> Path:
        return self.workdir / f"{self.name}.db"

    @property
    def progress_path(self) -> Path:
        return self.workdir / f"{self.name}.progress.json"

    @property
    def oplog(self) -> Path:
        return self.workdir / f"{self.name}.ops.jsonl"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def progress(self) -> dict:
        try:
            return json.loads(self.progress_path.read_text())
        except (OSError, ValueError):
            return {}

    def spawn(self) -> None:
        env = {**os.environ, "STORE_ASSOCIATE_AGENT_PIN": self.pin, "PYTHONUNBUFFERED": "1"}
        if self.spawns == 0:
            env["STORE_ASSOCIATE_AGENT_CODE"] = self.code
        cmd = [
            sys.executable,
            str(AGENT),
            "--url",
            self.url,
            "--db",
            str(self.db),
            "--progress",
            str(self.progress_path),
            "--oplog",
            str(self.oplog),
            "--name",
            self.name,
            "--store",
            STORE,
            "--staff",
            self.staff,
            "--skus",
            ",".join(self.skus),
            "--seed",
            str(self.seed),
            "--ops",
            str(self.ops),
            "--sync-prob",
            str(self.sync_prob),
        ]
        if self.background:
            cmd.append("--background")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: S603
        self.spawns += 1

    def kill(self, pid: int | None = None) -> bool:
        """SIGKILL the agent's current process (only `pid`, when given: a hook armed for an older one)."""
        proc = self.proc
        if proc is None or proc.poll() is not None or (pid is not None and proc.pid != pid):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        self.kills += 1
        return True

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# --- one schedule ----------------------------------------------------------------------------------------


@dataclass
class ScheduleResult:
    seed: int
    backend: str
    devices: int = 0
    ops: int = 0
    mutations: int = 0
    applied: int = 0
    rejected: int = 0
    lost: int = 0
    doubled: int = 0
    stuck: int = 0
    ghost_applies: int = 0  # ledger rows of mutations mutation_log does not record as applied (see test_faults)
    server_restarts: int = 0
    agent_kills: int = 0
    faults: dict = field(default_factory=dict)
    server_5xx: dict = field(default_factory=dict)  # answers >= 500 the server itself gave, by path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Event:
    at_ops: int  # fires when the agents together have done this many operations
    kind: str  # server_restart | kill_random | kill_in_flight | kill_applied
    target: str = ""
    hard: bool = False
    fired: bool = False


def plan(rng: random.Random, agents: list[Agent], total_ops: int) -> list[Event]:
    """Server restarts at points of the total work; kills at points of the target agent's own work."""
    events = [
        Event(rng.randint(total_ops // 6, total_ops * 5 // 6), "server_restart", hard=rng.random() < 0.5)
        for _ in range(rng.choice([1, 1, 2]))
    ]
    for _ in range(rng.randint(2, 4)):
        target = rng.choice(agents)
        events.append(
            Event(
                rng.randint(2, max(2, target.ops - 3)),
                rng.choice(["kill_random", "kill_in_flight", "kill_applied"]),
                target.name,
            )
        )
    return sorted(events, key=lambda e: e.at_ops)


def shared_skus(database_url: str, rng: random.Random, count: int = 4) -> dict[str, int]:
    """A few of the store's SKUs with little stock (one of them empty when there is one): contention."""
    rows = _query(database_url, "SELECT sku, on_hand FROM inventory_level WHERE store_code=:s ORDER BY sku", s=STORE)
    low = [r for r in rows if 0 < r[1] <= 15]
    empty = [r for r in rows if r[1] == 0]
    picked = rng.sample(low, min(len(low), count - (1 if empty else 0))) + (rng.sample(empty, 1) if empty else [])
    return {sku: on_hand for sku, on_hand in picked}


def _query(database_url: str, sql: str, **params) -> list[tuple]:
    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]
    finally:
        engine.dispose()


def run_schedule(
    seed: int,
    backend: SqliteBackend | PostgresBackend,
    workdir: Path,
    devices: int = 5,
    ops: tuple[int, int] = (25, 45),
    timeout: float = 240.0,
    keep: bool = False,
) -> ScheduleResult:
    started = time.monotonic()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    rng = random.Random(seed)
    result = ScheduleResult(seed=seed, backend=backend.kind, devices=devices, workdir=str(workdir))
    with backend.database(workdir) as database_url:
        server = start_server(database_url, backend.examples, free_port(), workdir / "server.log")
        proxy = FaultProxy(server.url, seed, FaultRates.from_rng(rng)).start()
        agents: list[Agent] = []
        try:
            skus = shared_skus(database_url, rng)
            server = _drive(rng, server, proxy, agents, skus, workdir, devices, ops, timeout, result)
            result.notes.append(f"agents done after {time.monotonic() - started:.1f} s")
            _heal_and_check(server, proxy, agents, skus, result)
        except Exception as exc:  # noqa: BLE001 - a crash of the harness is a failed schedule, with evidence
            result.problems.append(f"harness: {exc.__class__.__name__}: {exc}")
        finally:
            for agent in agents:
                agent.kill()
                if agent.proc is not None:
                    agent.proc.wait(10)
            proxy.stop()
            result.faults = dict(proxy.stats.faults) | {"late_deliveries": proxy.stats.late_deliveries}
            result.server_5xx = dict(proxy.stats.upstream_5xx)
            stop_server(server, hard=False)
    result.seconds = round(time.monotonic() - started, 2)
    if result.ok and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _drive(
    rng: random.Random,
    server: RunningServer,
    proxy: FaultProxy,
    agents: list[Agent],
    skus: dict[str, int],
    workdir: Path,
    devices: int,
    ops: tuple[int, int],
    timeout: float,
    result: ScheduleResult,
) -> RunningServer:
    people = [server.person("associate"), server.person("manager")]
    for i in range(devices):
        person = people[i % len(people)]
        name = f"dev{i}"
        agents.append(
            Agent(
                name,
                workdir,
                proxy.url_for(name),
                person["staff_number"],
                person["pin"],
                server.enrolment_code(STORE),
                list(skus),
                rng.randrange(1 << 30),
                rng.randint(*ops),
                rng.choice([0.15, 0.3, 0.5]),
                background=i % 3 == 2,
            )
        )
    result.ops = sum(a.ops for a in agents)
    events = plan(rng, agents, result.ops)
    result.notes.append(f"spawning agents at {time.time():.3f}")
    for agent in agents:
        agent.spawn()
    deadline = time.monotonic() + timeout
    faults_on = False
    while True:
        states = {a.name: a.progress() for a in agents}
        if not faults_on and all(s.get("status") in ("running", "done") for s in states.values()):
            proxy.set_faults(True)
            faults_on = True
        total = sum(int(s.get("ops_done", 0)) for s in states.values())
        for event in events:
            if event.fired or not faults_on:
                continue
            if event.kind == "server_restart":
                if event.at_ops > total:
                    continue
                t0 = time.monotonic()
                if not event.hard:  # a graceful stop waits for open event streams: the network drops them
                    proxy.cut_streams()
                how = stop_server(server, event.hard)
                result.notes.append(f"server {how} after {time.monotonic() - t0:.1f} s at {total} ops")
                server = start_server(
                    server.database_url, server.examples, int(server.url.rsplit(":", 1)[1]), workdir / "server.log"
                )
                result.server_restarts += 1
                event.fired = True
                continue
            agent = next(a for a in agents if a.name == event.target)
            if int(states[agent.name].get("ops_done", 0)) < event.at_ops and not agent.finished:
                continue
            if agent.finished or states[agent.name].get("status") != "running" or agent.armed_pid is not None:
                if agent.finished:
                    event.fired = True
                continue
            event.fired = True
            if event.kind == "kill_random":
                agent.kill()
            else:
                pid = agent.proc.pid if agent.proc else None
                agent.armed_pid = pid
                proxy.on_next_push(
                    agent.name,
                    "in_flight" if event.kind == "kill_in_flight" else "applied",
                    lambda a=agent, p=pid: a.kill(p),
                )
        for agent in agents:
            if agent.finished or agent.proc is None:
                continue
            code = agent.proc.poll()
            if code is None:
                continue
            if code == -signal.SIGKILL:
                agent.armed_pid = None
                proxy.cancel_hook(agent.name)
                agent.spawn()
                continue
            agent.finished, agent.exit_code = True, code
            proxy.cancel_hook(agent.name)
            if code != 0:
                result.problems.append(f"{agent.name} exited with {code}: {agent.log_tail()}")
        if all(a.finished for a in agents):
            break
        if time.monotonic() > deadline:
            result.problems.append(
                "stuck: agents did not finish in time: " + json.dumps({a.name: a.progress() for a in agents})
            )
            break
        time.sleep(0.02)  # polling interval of the driver, not a synchronisation
    result.agent_kills = sum(a.kills for a in agents)
    return server


def _heal_and_check(
    server: RunningServer, proxy: FaultProxy, agents: list[Agent], start: dict[str, int], result: ScheduleResult
) -> None:
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    proxy.set_faults(False)
    for agent in agents:
        proxy.cancel_hook(agent.name)
    if server.proc.poll() is not None:
        result.problems.append(f"server process died with {server.proc.returncode}")
        return
    proxy.flush()
    opened: dict[str, Device] = {}
    try:
        for agent in agents:
            if agent.db.exists():
                opened[agent.name] = Device(
                    Settings(
                        server_url=proxy.url_for(agent.name),
                        device_db=agent.db,
                        store_code=STORE,
                        http_timeout_seconds=10,
                    )
                )
        for _ in range(2):  # everything pushed; then every device pulls what the others pushed
            for device in opened.values():
                for _attempt in range(10):
                    status = device.sync()
                    if status.online and device.outbox.pending_count() == 0:
                        break
        _check(server, agents, opened, start, result)
    finally:
        for device in opened.values():
            device.close()


def _check(
    server: RunningServer, agents: list[Agent], opened: dict, start: dict[str, int], result: ScheduleResult
) -> None:
    from store_associate.domain.commands import parse_command

    url = server.database_url
    problems = result.problems
    levels = dict(_query(url, "SELECT sku, on_hand FROM inventory_level WHERE store_code=:s", s=STORE))
    log_rows = _query(url, "SELECT device_id, mutation_id, name, args, status, reason FROM mutation_log")
    ledger = _query(
        url,
        "SELECT id, device_id, mutation_id, sku, delta FROM inventory_movement WHERE device_id IS NOT NULL ORDER BY id",
    )
    seed_sums = dict(
        _query(
            url,
            # What no device did: the seed's stock and its trade (the collected pickups' hand-overs).
            "SELECT sku, SUM(delta) FROM inventory_movement"
            " WHERE device_id IS NULL AND field = 'on_hand' AND store_code=:s GROUP BY sku",
            s=STORE,
        )
    )
    by_device: dict[str, dict[int, tuple]] = defaultdict(dict)
    for device_id, mid, name, args, status, reason in log_rows:
        if isinstance(args, str):
            args = json.loads(args)
        if mid in by_device[device_id]:
            problems.append(f"mutation_log holds ({device_id}, {mid}) twice")
            result.doubled += 1
        by_device[device_id][mid] = (name, args, status, reason)
    ledger_by_device: dict[str, list[tuple]] = defaultdict(list)
    for row in ledger:
        ledger_by_device[row[1]].append(row)

    for agent in agents:
        device = opened.get(agent.name)
        if device is None:
            problems.append(f"{agent.name}: no device database")
            continue
        device_id = device.auth.device_id
        log = by_device.get(device_id, {})
        with sqlite3.connect(agent.db) as db:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        top = int(row[0]) if row else 0
        base = device.outbox.base
        numbered = top - base
        result.mutations += numbered
        pending = device.outbox.pending_count()
        if pending:
            result.stuck += pending
            problems.append(f"{agent.name}: {pending} still pending after healing (status {device.status})")
        missing = sorted(set(range(1, numbered + 1)) - set(log))
        extra = sorted(set(log) - set(range(1, numbered + 1)))
        if missing:
            result.lost += len(missing)
            problems.append(f"{agent.name} ({device_id}): mutations never answered by the server: {missing[:20]}")
        if extra:
            problems.append(f"{agent.name} ({device_id}): server logged ids the device never numbered: {extra[:20]}")
        # What the device recorded is what the server logged, id by id.
        for line in agent.oplog.read_bytes().split(b"\n") if agent.oplog.exists() else []:
            try:
                op = json.loads(line)
            except ValueError:
                continue
            got = log.get(op["local_id"] - base)
            if got is None:
                continue  # counted as missing above
            if (got[0], got[1]) != (op["name"], op["args"]):
                problems.append(
                    f"{agent.name}: mutation {op['local_id'] - base} logged as {got[:2]}, "
                    f"recorded as {(op['name'], op['args'])}"
                )
        # (b) exactly once in the ledger
        rows = ledger_by_device.get(device_id, [])
        keys = Counter((r[2], r[3]) for r in rows)
        doubled = {k: n for k, n in keys.items() if n > 1}
        if doubled:
            result.doubled += sum(n - 1 for n in doubled.values())
            problems.append(f"{agent.name}: ledger rows booked more than once: {doubled}")
        applied = {mid: v for mid, v in log.items() if v[2] == "applied"}
        rejected = {mid: v[3] for mid, v in log.items() if v[2] == "rejected"}
        result.applied += len(applied)
        result.rejected += len(rejected)
        expected: dict[int, int] = {}
        for mid, (name, args, _, _) in applied.items():
            delta = sum(parse_command(name, 1, args).stock_deltas().values())
            if delta:
                expected[mid] = delta
        booked = {r[2]: r[4] for r in rows}
        ghosts = sorted(set(booked) - set(applied))
        if ghosts:
            result.ghost_applies += len(ghosts)
            logged = [(g, f"{log[g][2]}:{log[g][3]}" if g in log else "nothing") for g in ghosts[:10]]
            problems.append(
                f"GHOST {agent.name} ({device_id}): stock changed (ledger rows) for mutations the "
                f"server logged as {logged}"
            )
        if len(rows) != len(expected) or booked != expected:
            wrong = sorted(set(booked.items()) ^ set(expected.items()))[:10]
            result.doubled += max(0, len(rows) - len(expected))
            problems.append(
                f"{agent.name}: ledger ({len(rows)} rows) does not match the applied non-zero "
                f"mutations ({len(expected)}); differences (id, delta): {wrong}"
            )
        # (d) every rejection is visible on the device
        on_device = {e.id - base: e.reason for e in device.outbox.entries(("rejected",), limit=100_000)}
        if on_device != rejected:
            problems.append(
                f"{agent.name}: rejections on the device {sorted(on_device.items())[:10]} != "
                f"server {sorted(rejected.items())[:10]}"
            )
        orphaned = device.outbox.entries(("orphaned",))
        if orphaned:
            problems.append(f"{agent.name}: {len(orphaned)} orphaned outbox entries (re-enrolment?)")
        # (a) the device shows the server's figures
        for sku in start:
            shown = device.lookup.stock_here(sku)[0].on_hand
            if shown != levels.get(sku, 0):
                problems.append(f"{agent.name}: shows {shown} of {sku}, the server has {levels.get(sku, 0)}")

    # (b) per SKU the ledger explains on_hand; (c) never below zero
    ours = {opened[a.name].auth.device_id for a in agents if a.name in opened}
    strangers = [r for r in ledger if r[1] not in ours]
    if strangers:
        problems.append(f"ledger rows from unknown devices: {strangers[:5]}")
    for sku, opening in start.items():
        if seed_sums.get(sku, 0) != opening:
            problems.append(f"{sku}: opening on_hand {opening} but the seed ledger says {seed_sums.get(sku, 0)}")
        running = opening
        for r in ledger:
            if r[3] == sku:
                running += r[4]
                if running < 0:
                    problems.append(f"{sku}: on_hand went below zero ({running}) at ledger row {r[0]}")
                    break
        moved = sum(r[4] for r in ledger if r[3] == sku)
        if opening + moved != levels.get(sku, 0):
            problems.append(f"{sku}: opening {opening} + ledger {moved} != on_hand {levels.get(sku, 0)}")
        if levels.get(sku, 0) < 0:
            problems.append(f"{sku}: on_hand {levels[sku]} below zero")
