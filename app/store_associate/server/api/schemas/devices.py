"""Device enrolment and management, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ....domain.commands import json_int


class EnrolmentCodeIn(BaseModel):
    store: str = Field(min_length=1, max_length=16)
    kind: Literal["tablet", "desktop", "kiosk"]
    valid_minutes: json_int(5, 7 * 24 * 60) = 24 * 60


class EnrolmentCodeOut(BaseModel):
    code: str
    store: str
    kind: str
    expires_at: datetime


class EnrolIn(BaseModel):
    code: str = Field(min_length=4, max_length=20)
    name: str = Field(default="", max_length=80)
    # Made by the device (random, kept on it with the code before sending) so that it can ask again when the
    # answer is lost: the same id and code, a higher attempt, within minutes, get the same device back with a
    # new token. Without an id a used code is refused, as before.
    enrolment_id: str | None = Field(default=None, min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    attempt: json_int(1, 1_000_000) = 1


class EnrolOut(BaseModel):
    device_id: str
    device_token: str
    store: str
    kind: str


class DeviceOut(BaseModel):
    id: str
    store: str
    kind: str
    name: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class AuditOut(BaseModel):
    at: datetime
    action: str
    outcome: str
    staff_number: str | None
    device_id: str | None
    store: str | None
    target: str
    detail: dict
