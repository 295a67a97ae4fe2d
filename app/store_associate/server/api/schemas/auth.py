"""Staff sign-in and who is asking."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SignInIn(BaseModel):
    staff_number: str = Field(min_length=1, max_length=16)
    pin: str = Field(min_length=1, max_length=16)


class StaffOut(BaseModel):
    staff_number: str
    name: str
    role: str
    store: str | None
    permissions: list[str]


class SignInOut(BaseModel):
    session_token: str
    expires_at: datetime
    idle_timeout_seconds: int
    # How long after this online sign-in the person may sign in offline on this device: the server accepts
    # what they do offline as theirs only within it, so the device uses no longer a window than this.
    offline_signin_days: int
    staff: StaffOut


class MeOut(BaseModel):
    role: str
    store: str | None
    device_id: str | None
    device_kind: str | None
    staff: StaffOut | None
    permissions: list[str]
