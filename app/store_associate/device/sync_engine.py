"""The device's sync loop: push the outbox in order, pull by cursor, wake on pokes, back off when offline.

`sync_once()` is one full round and is safe to call from anywhere (one round runs at a time).
`start()` runs rounds in a background thread: after every local change, on every poke from the
server, and every `interval` seconds; when the server cannot be reached it waits 1, 2, 4 ... 60 s,
with jitter so that a store's tablets do not all come back in the same second.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ..domain.commands import MAX_BATCH
from .outbox import Outbox
from .store import LocalStore
from .sync_client import Offline, ServerRefused, SyncClient

log = logging.getLogger("store_associate.device.sync")
PUSH_BATCH = MAX_BATCH  # the server applies a batch in one transaction: the bigger, the fewer round trips


@dataclass
class RoundResult:
    pushed: int = 0
    rejected: int = 0
    pulled_pages: int = 0


def backoff_seconds(failures: int, rng: random.Random, cap: float = 60.0) -> float:
    """Exponential back-off with full jitter."""
    return rng.uniform(0, min(cap, 2.0 ** min(failures, 10)))


class SyncEngine:
    def __init__(
        self,
        store: LocalStore,
        outbox: Outbox,
        client: SyncClient,
        store_code: Callable[[], str],
        interval: float = 30.0,
        on_change: Callable[[], None] | None = None,
        rng: random.Random | None = None,
        on_offline: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.outbox, self.client = store, outbox, client
        self.store_code = store_code
        self.interval = interval
        self.on_change = on_change or (lambda: None)
        self.on_offline = on_offline or (lambda: None)
        self.rng = rng or random.Random()
        self._round = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failures = 0

    # --- one round -----------------------------------------------------------------------------------

    def sync_once(self) -> RoundResult:
        """Push everything pending, then pull until caught up. Raises Offline / ServerRefused."""
        with self._round:
            result = RoundResult()
            self._push_all(result)
            self._pull_all(result)
            return result

    def _push_all(self, result: RoundResult) -> None:
        while True:
            batch = self.outbox.to_push(PUSH_BATCH)
            if not batch:
                return
            oldest = self.outbox.oldest_pending_at()
            answer = self.client.push(batch, self.outbox.pending_count(), oldest)
            if answer.get("gap_expected") is not None and not answer["results"]:
                # The server is behind our numbering (it was restored, or this is a new enrolment):
                # number what is pending from where it stands, and send again.
                first = self.outbox.first_pending_local()
                if first is None:
                    return
                self.outbox.shift_base(first, answer["gap_expected"])
                continue
            self.outbox.settle(answer["results"])
            result.pushed += sum(1 for r in answer["results"] if r["status"] in ("applied", "duplicate"))
            result.rejected += sum(1 for r in answer["results"] if r["status"] == "rejected")
            self.on_change()
            if len(answer["results"]) < len(batch):
                continue  # a gap part-way: the loop sends the rest with the right numbers
            if len(batch) < PUSH_BATCH:
                return

    def _pull_all(self, result: RoundResult, max_pages: int = 10_000) -> None:
        """Pull pages until caught up. While one page is written to the local copy, the next is already
        being fetched (its cursor is in the page): the server and the device work at the same time. The
        requests still go one after another, each from where the last one ended."""
        store = self.store_code()
        page = self.client.pull(store, self.store.cursor)
        ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-ahead")
        try:
            for _ in range(max_pages):
                following = ahead.submit(self.client.pull, store, int(page["cursor"])) if page["more"] else None
                self.store.apply_pull(page, store)
                result.pulled_pages += 1
                if following is None:
                    # Only a complete pull holds every change up to its bound; then mutations the server
                    # has applied are in our figures, and their overlay can go.
                    self.outbox.confirm_upto(page.get("last_applied", 0))
                    break
                page = following.result()
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)  # a page fetched for nothing is dropped
        self.on_change()

    # --- background ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._threads = [
            threading.Thread(target=self._loop, daemon=True, name="sync"),
            threading.Thread(target=self._listen, daemon=True, name="pokes"),
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Something changed locally (a new outbox entry) or remotely (a poke): sync soon."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
                self.failures = 0
                wait = self.interval
            except Offline:
                if self._stop.is_set():
                    return  # stopped mid-round (the app is closing): its client and files are going
                self.failures += 1
                wait = backoff_seconds(self.failures, self.rng)
                try:
                    self.on_offline()
                except Exception:  # noqa: BLE001 - a screen's listener must not end the sync loop
                    log.exception("offline listener failed")
            except ServerRefused as exc:
                log.warning("sync refused: %s", exc.error)
                self.failures += 1
                wait = max(self.interval, backoff_seconds(self.failures, self.rng))
            except Exception:  # noqa: BLE001 - the loop must survive anything and try again
                log.exception("sync round failed")
                self.failures += 1
                wait = backoff_seconds(self.failures, self.rng)
            self._wake.wait(wait)
            self._wake.clear()

    def _listen(self) -> None:
        """Server-sent events: every 'changed' wakes the loop. Reconnects with back-off."""
        failures = 0
        while not self._stop.is_set():
            try:
                with self.client.events(self.store_code()) as lines:
                    failures = 0
                    subscribed = False
                    for line in lines:
                        if self._stop.is_set():
                            return
                        if not subscribed or line.startswith("event: changed"):
                            # The first line means the server has us subscribed: a change made before that
                            # (while connecting, or while the stream was down) had no poke to bring it.
                            subscribed = True
                            self.wake()
            except (Offline, ServerRefused, httpx.HTTPError):
                pass
            failures += 1
            self._stop.wait(backoff_seconds(failures, self.rng, cap=30.0) + 0.5)
