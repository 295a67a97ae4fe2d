"""One device: its local store, its client, its services and its connection status."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..config import Settings
from .auth import DeviceAuth, Enrol
from .lookup import LookupService
from .store import LocalStore
from .sync_client import Offline, ServerRefused, SyncClient


@dataclass
class SyncStatus:
    online: bool | None = None  # None: not tried yet
    last_sync: datetime | None = None
    error: str | None = None  # i18n key of the last failure
    detail: str = ""  # the server's own sentence, for support
    syncing: bool = False


class Device:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LocalStore(settings.device_db)
        self.client = SyncClient(settings.server_url, timeout=settings.http_timeout_seconds)
        self.auth = DeviceAuth(self.store, self.client, timedelta(minutes=settings.session_idle_minutes),
                               settings.offline_signin_days)
        self.lookup = LookupService(self.store, self.client, self.store_code, settings.rcn_region)
        self.status = SyncStatus()
        last = self.store.get_meta("last_pull_at")
        if last:
            self.status.last_sync = datetime.fromisoformat(last)
        self._sync_lock = threading.Lock()

    @property
    def store_code(self) -> str:
        """The store this device is enrolled in (before enrolment: the configured one)."""
        return self.auth.store_code or self.settings.store_code

    def enrol(self, code: str, name: str) -> Enrol:
        outcome = self.auth.enrol(code, name)
        if outcome is Enrol.OK:
            self.lookup.store_code = self.store_code
        return outcome

    def sync(self) -> SyncStatus:
        """Pull what changed. Safe to call from several threads: one runs, the others return at once."""
        if not self.auth.enrolled or self.auth.revoked:
            return self.status
        if not self._sync_lock.acquire(blocking=False):
            return self.status
        self.status.syncing = True
        try:
            self.lookup.refresh()
            self.status.online, self.status.error = True, None
            self.status.last_sync = datetime.now(UTC)
        except Offline:
            self.status.online, self.status.error = False, "sync.error.offline"
        except ServerRefused as exc:
            self.status.online, self.status.error = True, "sync.refused"
            self.status.detail = exc.message
        finally:
            self.status.syncing = False
            self._sync_lock.release()
        return self.status

    def note_network(self, live: bool) -> None:
        """A live query succeeding or failing is news about the connection too."""
        self.status.online = live

    def close(self) -> None:
        self.client.close()
        self.store.close()
