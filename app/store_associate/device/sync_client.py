"""HTTP client for the backend. Network trouble becomes `Offline`; the caller falls back to the cache."""

from __future__ import annotations

from typing import Any

import httpx


class Offline(Exception):
    """The server could not be reached (no network, timeout, server down)."""


class ServerRefused(Exception):
    """The server answered with an error that retrying will not fix."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message = status, error, message


class SyncClient:
    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        # Short connect timeout: in a shop a dead Wi-Fi should turn into "offline" fast.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.5)),
            headers={"User-Agent": "store-associate-device/0.1"},
        )

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        try:
            kwargs: dict[str, Any] = {"params": params}
            if timeout is not None:
                kwargs["timeout"] = timeout
            response = self._http.get(path, **kwargs)
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
            raise ServerRefused(response.status_code, detail.get("error", "error"), detail.get("message", ""))
        return response.json()

    def health(self) -> bool:
        try:
            self._get("/health", timeout=1.5)
            return True
        except (Offline, ServerRefused):
            return False

    def pull(self, store: str, cursor: int, limit: int = 5000) -> dict:
        return self._get("/api/v1/sync/pull", {"store": store, "cursor": cursor, "limit": limit}, timeout=30)

    def availability(self, sku: str, store: str, limit: int = 50) -> dict:
        return self._get(f"/api/v1/availability/{sku}", {"store": store, "limit": limit})
