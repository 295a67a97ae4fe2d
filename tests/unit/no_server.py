"""What tests/unit/conftest.py uses to see a server start: listening sockets of this process and its children."""

from __future__ import annotations

import psutil

MESSAGE = "unit tests start no server: move this test to tests/<layer>/"


class ServerInUnitTest(AssertionError):
    pass


def listening_sockets() -> set[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket of this process and its descendants."""
    me = psutil.Process()
    found = set()
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # it ended meanwhile: it listens on nothing
        found.update((proc.pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN)
    return found


def fail_on_new_listeners(before: set[tuple[int, str, int]], phase: str) -> None:
    new = listening_sockets() - before
    if new:
        where = ", ".join(f"{ip}:{port} (pid {pid})" for pid, ip, port in sorted(new))
        raise ServerInUnitTest(f"{MESSAGE} (its {phase} started listening on {where})")
