"""HTTP client for the backend. Network trouble becomes `Offline`; the caller falls back to the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

PULL_PAGE = 20_000  # rows per pull page: a first pull of 100,000 products is a handful of pages


class Offline(Exception):
    """The server could not be reached (no network, timeout, server down)."""


class ServerRefused(Exception):
    """The server answered with an error that retrying will not fix."""

    def __init__(self, status: int, error: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message, self.retry_after = status, error, message, retry_after


class SyncClient:
    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        # Short connect timeout: in a shop a dead Wi-Fi should turn into "offline" fast.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.5)),
            headers={"User-Agent": "store-associate-device/0.1"},
        )
        self.device_token: str | None = None
        self.session_token: str | None = None
        # Called with the ServerRefused of every 401, so that a revoked device or an ended session
        # is noticed wherever the refusal happens.
        self.on_refused: Callable[[ServerRefused], None] | None = None

    def close(self) -> None:
        self._http.close()

    def _headers(self, with_session: bool = True) -> dict[str, str]:
        headers = {}
        if self.device_token:
            headers["X-Device-Token"] = self.device_token
        if with_session and self.session_token:
            headers["Authorization"] = f"Bearer {self.session_token}"
        return headers

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        timeout: float | None = None,
        with_session: bool = True,
    ) -> Any:
        kwargs: dict[str, Any] = {"params": params, "headers": self._headers(with_session)}
        if json is not None:
            kwargs["json"] = json
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise Offline(str(exc)) from exc
        if response.status_code >= 500:
            raise Offline(f"server error {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", {})
            except ValueError:
                detail = {}
            if not isinstance(detail, dict):
                detail = {"message": str(detail)}
            retry = response.headers.get("retry-after")
            refused = ServerRefused(
                response.status_code,
                detail.get("error", "error"),
                detail.get("message", ""),
                int(retry) if retry and retry.isdigit() else None,
            )
            if response.status_code == 401 and self.on_refused:
                self.on_refused(refused)
            raise refused
        return response.json()

    def _get(self, path: str, params: dict | None = None, timeout: float | None = None) -> Any:
        return self._request("GET", path, params=params, timeout=timeout)

    def health(self) -> bool:
        try:
            self._get("/health", timeout=1.5)
            return True
        except (Offline, ServerRefused):
            return False

    # --- access ---------------------------------------------------------------------------------

    def enrol(self, code: str, name: str, enrolment_id: str | None = None, attempt: int = 1) -> dict:
        body: dict[str, Any] = {"code": code, "name": name}
        if enrolment_id is not None:
            body.update(enrolment_id=enrolment_id, attempt=attempt)
        return self._request("POST", "/api/v1/devices/enrol", json=body)

    def sign_in(self, staff_number: str, pin: str) -> dict:
        return self._request(
            "POST", "/api/v1/auth/sign-in", json={"staff_number": staff_number, "pin": pin}, with_session=False
        )

    def sign_out(self) -> None:
        self._request("POST", "/api/v1/auth/sign-out")

    def devices(self, store: str) -> list[dict]:
        return self._get("/api/v1/devices", {"store": store})

    def sync_status(self, store: str) -> list[dict]:
        return self._get("/api/v1/sync/status", {"store": store})

    def revoke(self, device_id: str) -> dict:
        return self._request("POST", f"/api/v1/devices/{device_id}/revoke")

    def enrolment_code(self, store: str, kind: str) -> dict:
        return self._request("POST", "/api/v1/devices/enrolment-codes", json={"store": store, "kind": kind})

    # --- sync -----------------------------------------------------------------------------------

    def push(self, mutations: list, pending: int, oldest_pending_at: str | None) -> dict:
        body = {
            "mutations": [m.model_dump(mode="json") for m in mutations],
            "pending": pending,
            "oldest_pending_at": oldest_pending_at,
            # The clock the mutations were dated by: the server corrects them if it is off.
            "sent_at": datetime.now(UTC).isoformat(),
        }
        # The outbox belongs to the device; each mutation names the person who did it.
        return self._request("POST", "/api/v1/sync/push", json=body, timeout=30, with_session=False)

    @contextmanager
    def events(self, store: str) -> Iterator[Iterator[str]]:
        """The server's poke stream, as lines. No read timeout: the server sends a keep-alive."""
        try:
            with self._http.stream(
                "GET",
                "/api/v1/sync/events",
                params={"store": store},
                headers=self._headers(with_session=False),
                timeout=httpx.Timeout(connect=3.0, read=45.0, write=5.0, pool=5.0),
            ) as response:
                if response.status_code >= 400:
                    raise ServerRefused(response.status_code, "events.refused", "")
                yield response.iter_lines()
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise Offline(str(exc)) from exc

    # --- data -----------------------------------------------------------------------------------

    def pull(self, store: str, cursor: int, limit: int = PULL_PAGE) -> dict:
        """One page of changes, in the columns format (LocalStore.apply_pull reads both formats)."""
        # The catalogue is the device's, not the person's: pulled with the device token alone.
        return self._request(
            "GET",
            "/api/v1/sync/pull",
            params={"store": store, "cursor": cursor, "limit": limit, "format": "columns"},
            timeout=30,
            with_session=False,
        )

    def availability(self, sku: str, store: str, limit: int = 50) -> dict:
        return self._get(f"/api/v1/availability/{sku}", {"store": store, "limit": limit})
