"""Tests under tests/unit start no server: a test that needs one (a backend, an SMTP server, any listening
socket) belongs beside the layer it tests, in tests/<layer>/, where it is run as the slower test it is.

Two checks, because a server may listen in this process or in a child process (tests/conftest.py's
start_server runs the backend with subprocess): socket.socket.listen raises in this process, and before
and after each unit test's setup and call the listening sockets of this process and its children are
compared; a new one fails the test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.unit.no_server import MESSAGE, ServerInUnitTest, fail_on_new_listeners, listening_sockets


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # Session fixtures (tests/conftest.py's sqlite_server) start their server here, before any
    # function-scoped fixture could patch anything.
    before = listening_sockets()
    result = yield
    fail_on_new_listeners(before, "setup")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    before = listening_sockets()
    result = yield
    fail_on_new_listeners(before, "test")
    return result


@pytest.fixture(autouse=True)
def no_listening_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the listen call itself fails, so the traceback points at the server being started."""

    def refuse(self: socket.socket, *args: object) -> None:
        raise ServerInUnitTest(f"{MESSAGE} (it called listen() on {self.getsockname()})")

    monkeypatch.setattr(socket.socket, "listen", refuse)
