"""One device: its local store and outbox, its client, its services and its connection status."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..config import Settings
from ..domain.commands import (
    AcknowledgeOrder,
    AdjustStock,
    AssignOrder,
    Command,
    CountStock,
    HandOverOrder,
    PickLine,
    ReceiveLine,
    RejectOrderLine,
    RerouteLines,
    ResendReady,
    StageOrder,
    SubstituteLine,
    scanned_text,
    without_controls,
)
from .auth import DeviceAuth, Enrol
from .lookup import LookupService
from .orders import Orders
from .outbox import Outbox
from .returns import Exchanges, Returns
from .store import LocalStore
from .sync_client import Offline, ServerRefused, SyncClient
from .sync_engine import SyncEngine

__all__ = [
    "AcknowledgeOrder",
    "AdjustStock",
    "AssignOrder",
    "Command",
    "CountStock",
    "Device",
    "HandOverOrder",
    "PickLine",
    "ReceiveLine",
    "RejectOrderLine",
    "RerouteLines",
    "ResendReady",
    "StageOrder",
    "SubstituteLine",
    "SyncStatus",
    "scanned_text",
    "without_controls",
]


@dataclass
class SyncStatus:
    online: bool | None = None  # None: not tried yet
    last_sync: datetime | None = None
    error: str | None = None  # i18n key of the last failure
    detail: str = ""  # the server's own sentence, for support
    syncing: bool = False
    pending: int = 0
    rejected: int = 0


class Device:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LocalStore(settings.device_db)
        self.outbox = Outbox(settings.device_db)
        self.client = SyncClient(settings.server_url, timeout=settings.http_timeout_seconds)
        self.auth = DeviceAuth(
            self.store, self.client, timedelta(minutes=settings.session_idle_minutes), settings.offline_signin_days
        )
        self.lookup = LookupService(self.store, self.client, self.store_code, settings.rcn_region, self.outbox)
        self.orders = Orders(self.store, self.outbox, self.record)
        self.returns = Returns(
            self.store,
            self.outbox,
            self.record,
            self.lookup,
            clerk=lambda: self.auth.session.staff_number if self.auth.session else None,
            store_code=lambda: self.store_code,
            offline_days=self.auth.offline_window,
        )
        self.exchanges = Exchanges(self.returns)
        self.status = SyncStatus()
        self.engine = SyncEngine(
            self.store, self.outbox, self.client, lambda: self.store_code, on_change=self.refresh_counts
        )
        if self.auth.kind == "kiosk":
            self._forget_people()
        else:
            self.returns.settle()  # steps the app stopped before keeping, and refusals, on the returns made here
        last = self.store.get_meta("last_pull_at")
        if last:
            self.status.last_sync = datetime.fromisoformat(last)
        self._listeners: list = []
        self._lock = threading.Lock()
        self.refresh_counts()

    @property
    def store_code(self) -> str:
        """The store this device is enrolled in (before enrolment: the configured one)."""
        return self.auth.store_code or self.settings.store_code

    def enrol(self, code: str, name: str) -> Enrol:
        outcome = self.auth.enrol(code, name)
        if outcome is Enrol.OK:
            self.outbox.new_identity()
            # What a pull brings depends on the device's role and store: a kiosk enrolled again as a tablet (or
            # in another store) pulls from the start, or the orders its old pulls left out never come.
            self.store.set_meta("pull_cursor", "0")
            if self.auth.kind == "kiosk":
                self._forget_people()
            self.lookup.store_code = self.store_code
        return outcome

    def _forget_people(self) -> None:
        """A kiosk keeps nobody's data: customers' orders, sales and returns go (what a tablet held before it
        became a kiosk, or a kiosk pulled before the server scoped its pulls)."""
        self.store.orders.forget_people()
        self.store.sales.forget_all()
        self.store.returns.forget_all()

    def record(self, command: Command) -> int:
        """Do something now: it is on disk, shown at once, and sent when the network allows."""
        session = self.auth.session
        local_id = self.outbox.add(command, session.staff_number if session else None)
        self.refresh_counts()
        self.engine.wake()
        return local_id

    def sync(self) -> SyncStatus:
        """One round (push, then pull) now. Safe from any thread."""
        if not self.auth.enrolled or self.auth.revoked:
            return self.status
        self.status.syncing = True
        try:
            self.engine.sync_once()
            self.returns.settle()
            self.status.online, self.status.error = True, None
            self.status.last_sync = datetime.now(UTC)
        except Offline:
            self.status.online, self.status.error = False, "sync.error.offline"
        except ServerRefused as exc:
            self.status.online, self.status.error = True, "sync.refused"
            self.status.detail = exc.message
        finally:
            self.status.syncing = False
            self.refresh_counts()
        return self.status

    def start_background(self) -> None:
        """Sync on pokes, on local changes and every half minute, in a thread of its own."""
        if self.auth.enrolled and not self.auth.revoked:
            self.engine.on_change = self._after_round
            self.engine.on_offline = self._went_offline
            self.engine.start()

    def _went_offline(self) -> None:
        self.status.online, self.status.error = False, "sync.error.offline"
        self._tell_listeners()

    def dismiss(self, local_id: int) -> None:
        """A refused entry, read and put away: the counts (the top bar's "n refused") follow at once. A refused step
        of a return is kept on its return first (it is shown there after)."""
        self.returns.settle()
        self.outbox.dismiss(local_id)
        self.refresh_counts()
        self._tell_listeners()

    def _tell_listeners(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _after_round(self) -> None:
        self.returns.settle()
        self.status.online, self.status.error = True, None
        self.status.last_sync = datetime.now(UTC)
        self.refresh_counts()
        self._tell_listeners()

    def on_change(self, listener) -> None:  # noqa: ANN001 - a callable(); screens re-draw on it
        self._listeners.append(listener)

    def refresh_counts(self) -> None:
        self.status.pending = self.outbox.pending_count()
        self.status.rejected = len(self.outbox.entries(("rejected", "orphaned")))

    def note_network(self, live: bool) -> None:
        """A live query succeeding or failing is news about the connection too."""
        self.status.online = live

    def close(self) -> None:
        self.engine.stop()
        self.client.close()
        self.outbox.close()
        self.store.close()
