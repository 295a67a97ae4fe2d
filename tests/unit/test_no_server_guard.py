"""tests/unit/conftest.py fails a unit test that starts a server, in this process or in a child."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.no_server import MESSAGE, ServerInUnitTest, fail_on_new_listeners, listening_sockets

CONFTEST = Path(__file__).with_name("conftest.py")
ROOT = Path(__file__).resolve().parents[2]

LISTENER = (
    "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print('up', flush=True); sys.stdin.read()"
)


def test_listening_in_this_process_fails():
    with socket.socket() as s, pytest.raises(ServerInUnitTest, match="unit tests start no server"):
        s.bind(("127.0.0.1", 0))
        s.listen()


def test_a_bound_socket_that_does_not_listen_is_fine():
    # tests/conftest.py's free_port() binds to find a port: no server.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))


def test_a_child_process_that_listens_is_seen():
    before = listening_sockets()
    child = subprocess.Popen([sys.executable, "-c", LISTENER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"  # it listens from here on
        with pytest.raises(ServerInUnitTest, match=f"{MESSAGE} .*pid {child.pid}"):
            fail_on_new_listeners(before, "test")
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    fail_on_new_listeners(before, "test")  # gone with its process


def test_the_hooks_fail_a_session_server_and_an_in_test_server(tmp_path):
    # A copy of tests/unit with the guard and three tests, run by pytest in its own process.
    unit = tmp_path / "unit"
    unit.mkdir()
    shutil.copy(CONFTEST, unit / "conftest.py")
    (unit / "test_servers.py").write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys
            import pytest

            @pytest.fixture(scope="session")
            def server():
                child = subprocess.Popen([sys.executable, "-c", {LISTENER!r}], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
                child.stdout.readline()
                yield child
                child.stdin.close()
                child.wait(timeout=30)

            def test_uses_a_server(server):
                pass

            def test_listens_itself():
                import socket
                socket.socket().listen()

            def test_plain():
                assert 1 + 1 == 2
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(unit)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        # The copied conftest imports tests.unit.no_server; the plugins (schemathesis, playwright...) only cost time.
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        timeout=120,
    )
    report = out.stdout + out.stderr
    assert "1 failed, 1 passed, 1 error" in report, report
    assert "ERROR unit/test_servers.py::test_uses_a_server" in report, report
    assert "FAILED unit/test_servers.py::test_listens_itself" in report, report
    assert report.count(MESSAGE) >= 2, report
