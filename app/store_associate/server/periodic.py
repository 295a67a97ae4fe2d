"""A job the server process runs every few seconds in a daemon thread (the mail sender, the order clock,
the demo's shoppers): started and stopped with the app, woken early when there is news, and never killed
by one failing round."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("store_associate.server")


class Periodic:
    def __init__(self, name: str, job: Callable[[], object], every: float, first_at_once: bool = True) -> None:
        self.name, self.job, self.every, self.first_at_once = name, job, every, first_at_once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask the thread to end after the round it is in (it does not wait: stop several, then join them)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; False if it is still in a round after `timeout` seconds."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        if not self.first_at_once:
            self._pause()
        while not self._stop.is_set():
            try:
                self.job()
            except Exception:  # noqa: BLE001 - the next round may well succeed; the log says what failed
                log.exception("%s: round failed", self.name)
            self._pause()

    def _pause(self) -> None:
        self._wake.wait(self.every)
        self._wake.clear()
