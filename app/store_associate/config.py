"""Settings from environment variables (STORE_ASSOCIATE_*) or a .env file.

`Settings()` reads them once, where a process starts (the CLI, app/main.py for the packaged app), and the
object is handed down: to `create_app(settings)` on the server, to `Device(settings)` on a device. Nothing
reads the environment behind its back, so two apps with different settings can share one process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _data_dir() -> Path:
    """Where the databases live by default. A packaged app's working folder is replaced on every update; Flet
    gives it a storage folder that is kept (FLET_APP_STORAGE_DATA). Without it (development, the demo, the
    server) ./var is used."""
    return Path(os.environ.get("FLET_APP_STORAGE_DATA") or Path.cwd() / "var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORE_ASSOCIATE_", env_file=".env", extra="ignore")

    # Server
    database_url: str = Field(default_factory=lambda: f"sqlite:///{_data_dir() / 'server.db'}")
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1  # server processes; more than one needs PostgreSQL (pokes cross processes by NOTIFY)
    max_request_bytes: int = 1_000_000
    # What the server logs: "warning" (refusals and failures), "info" (also what went through: sign-ins,
    # enrolments; never a PIN, token or code), "debug".
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    cors_origins: list[str] = ["http://127.0.0.1:8550", "http://localhost:8550"]
    session_hours: float = 12.0  # a shift; a session never outlives it
    session_idle_minutes: float = 30.0  # a session unused this long has ended (shared tablets)
    enrolment_code_minutes: int = 24 * 60
    # Customer e-mail. Unset host: messages stay queued in the database until one is configured.
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "Store Associate <no-reply@store.example>"
    pickup_window_days: float = 7.0  # a ready order waits this long, then it expires (no-show)
    pickup_reminder_hours: float = 24.0  # the customer is reminded this long before expiry
    order_clock_seconds: float = 60.0  # how often expiries and reminders are looked for
    # Card refunds (server/payments.py): posted as signed JSON to this URL. Unset: they stay queued in the
    # database until one is configured (the server says so in its log). The secret signs every request
    # (X-Signature, HMAC-SHA256); without it nothing is sent either.
    payments_url: str = ""
    payments_secret: SecretStr = SecretStr("")
    payments_timeout_seconds: float = 10.0
    payments_poll_seconds: float = 5.0  # how often the outbox is looked at (a queued refund also wakes it)
    payments_retry_seconds: float = 30.0  # the first retry's wait; each next one waits twice as long...
    payments_retry_max_seconds: float = 3600.0  # ...up to this
    payments_max_attempts: int = 20  # then the request is failed, and managers see it (GET /api/v1/payments/failed)
    # The demo's shoppers (`store-associate demo` sets these): web-shop orders for this store, sent with this key
    # to the server's own intake. Unset: no demo feed.
    demo_store: str | None = None
    demo_web_shop_key: str = ""

    # Device
    server_url: str = "http://127.0.0.1:8765"
    store_code: str = "NYC-01"
    device_db: Path = Field(default_factory=lambda: _data_dir() / "device.db")
    app_port: int = 8550
    locale: str = "en"
    # Offline sign-in accepts a person who signed in online on this device within this many days.
    offline_signin_days: int = 7
    # Network answers older than this are shown as stale even when online.
    network_cache_seconds: int = 60
    http_timeout_seconds: float = 3.0
    # Region whose GS1 office defines variable-measure restricted-circulation numbers (e.g. "gb", "de").
    rcn_region: str | None = None
    # A video file the desktop app uses as its camera instead of a webcam (demos, tests, machines without one).
    camera_file: str = ""
