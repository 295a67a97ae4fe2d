"""Who is asking (device tokens, staff sign-in and sessions, API keys) and the audit log. (Enrolling and revoking
devices is enrolment.py.)

Every check that decides who is asking lives here; routers only say which permission they need.
These functions write in the session they are given and do not commit: the caller's unit of work does (the
route, once, with uow.commit()). A refusal that must be kept although the request fails (its audit row, a
lockout counter) says so with AccessError.keep, and the route commits it before it answers. The one exception
is principal_for, the check before every request, whose refusals commit what it noted (see there).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from ..domain.credentials import (
    hash_pin,
    new_token,
    token_hash,
    valid_pin_format,
    verify_pin,
)
from ..domain.lockout import lock_after, remaining
from ..domain.permissions import Role
from .models import ApiKey, AuditLog, Device, Staff, StaffSession

log = logging.getLogger("store_associate.server.access")

# A PIN check is slow on purpose; a wrong staff number must cost the same, or it tells a guesser
# which numbers exist.
_DUMMY_VERIFIER = hash_pin("000000")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Principal:
    role: Role
    store_code: str | None  # home store: the device's store (admin: the device's store too, or None)
    device_id: str | None = None
    device_kind: str | None = None
    staff_id: int | None = None
    staff_number: str | None = None
    staff_name: str | None = None
    session_hash: str | None = None
    api_key_id: int | None = None


class AccessError(Exception):
    """A refusal. `keep`: what was written for it (an audit row, lockout counters) is to be committed although
    the request fails, or a guesser's attempts would leave no trace and never lock anything; without `keep`,
    whatever the request wrote is rolled back with it."""

    def __init__(
        self, status: int, error: str, message: str, retry_after: int | None = None, *, keep: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.retry_after = status, error, message, retry_after
        self.keep = keep


def audit(
    session: Session,
    action: str,
    *,
    outcome: str = "ok",
    staff: Staff | None = None,
    staff_number: str | None = None,
    device_id: str | None = None,
    store_code: str | None = None,
    target: str = "",
    detail: dict | None = None,
    ip: str = "",
) -> None:
    session.add(
        AuditLog(
            action=action,
            outcome=outcome,
            staff_id=staff.id if staff else None,
            staff_number=staff.staff_number if staff else staff_number,
            device_id=device_id,
            store_code=store_code,
            target=target[:80],
            detail=detail or {},
            ip=ip[:64],
        )
    )
    # The operator's line for the event (a refusal is a warning): names and ids only, never a PIN, token or code.
    who = staff.staff_number if staff else staff_number
    fields = (action, outcome, who, device_id, store_code, target[:80], ip[:64], (detail or {}).get("reason"))
    level = logging.INFO if outcome == "ok" else logging.WARNING
    log.log(level, "%s %s: staff %s, device %s, store %s, target %s, ip %s, reason %s", *(f or "-" for f in fields))


# --- who is asking -----------------------------------------------------------------------------------


def device_by_token(session: Session, token: str) -> Device:
    device = session.execute(select(Device).where(Device.token_hash == token_hash(token))).scalar_one_or_none()
    if device is None:
        raise AccessError(401, "device.unknown", "This device is not enrolled. Ask a manager for an enrolment code.")
    if device.revoked_at is not None:
        raise AccessError(
            401,
            "device.revoked",
            "This device was removed from the store by a manager. Its unsent work is kept; "
            "ask a manager to enrol it again.",
        )
    return device


def revoked_device(session: Session, token: str) -> Device | None:
    device = session.execute(select(Device).where(Device.token_hash == token_hash(token))).scalar_one_or_none()
    return device if device is not None and device.revoked_at is not None else None


class KnownKeys:
    """API keys found valid in the last few seconds, by hash. The web shop sends its key with every order, and
    looking it up was a transaction of its own per request. A key's id and role never change; a revoked key
    is refused here at most `ttl_s` later, and at once by order intake, which checks the keys of a batch in the
    transaction that writes it (intake is all a key may do)."""

    def __init__(self, ttl_s: float = 5.0, size: int = 64) -> None:
        self._ttl, self._size = ttl_s, size
        self._keys: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        with self._lock:
            found = self._keys.get(key_hash)
        return found[1] if found and found[0] > time.monotonic() else None

    def put(self, key_hash: str, principal: Principal) -> None:
        with self._lock:
            if len(self._keys) >= self._size:
                self._keys.clear()  # a handful of systems hold keys; this only bounds a flood of bad ones
            self._keys[key_hash] = (time.monotonic() + self._ttl, principal)


def principal_for(
    session: Session,
    device_token: str | None,
    session_token: str | None,
    api_key: str | None,
    idle: timedelta,
    known_keys: KnownKeys | None = None,
) -> Principal | None:
    """Who is asking, or None (nobody signed in on no device). What the check notes (the device seen, a
    session's last use) is committed by the caller, which ends the check's transaction (api/deps.py)."""
    try:
        return _principal_for(session, device_token, session_token, api_key, idle, known_keys)
    except AccessError:
        # Committed here although the request is refused: the caller lets a refused request's session roll
        # back, and an expired session must stay ended, the device seen (it did call) as before.
        session.commit()
        raise


def _principal_for(
    session: Session,
    device_token: str | None,
    session_token: str | None,
    api_key: str | None,
    idle: timedelta,
    known_keys: KnownKeys | None,
) -> Principal | None:
    if api_key:
        h = token_hash(api_key)
        cached = known_keys.get(h) if known_keys is not None else None
        if cached is not None:
            return cached
        key = session.execute(select(ApiKey).where(ApiKey.key_hash == h)).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise AccessError(401, "api_key.invalid", "This API key is not valid. Check the key or ask for a new one.")
        # A till's key carries its store (the sales it may post); the web shop's has none.
        principal = Principal(role=Role(key.role), store_code=key.store_code, api_key_id=key.id)
        if known_keys is not None:
            known_keys.put(h, principal)
        return principal
    if not device_token:
        if session_token:
            raise AccessError(401, "device.missing", "Sign-in works only on an enrolled device.")
        return None
    device = device_by_token(session, device_token)
    now = now_utc()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now  # throttled: not a write per request
    if device.kind == "kiosk":
        return Principal(role=Role.KIOSK, store_code=device.store_code, device_id=device.id, device_kind="kiosk")
    if not session_token:
        return Principal(role=Role.DEVICE, store_code=device.store_code, device_id=device.id, device_kind=device.kind)
    h = token_hash(session_token)
    row = session.get(StaffSession, h)
    if row is None or row.device_id != device.id or row.ended_at is not None:
        raise AccessError(401, "session.invalid", "You are signed out. Sign in again.")
    if row.expires_at <= now or now - row.last_seen_at > idle:
        row.ended_at = now
        raise AccessError(401, "session.expired", "Your session has ended. Sign in again.")
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise AccessError(401, "session.invalid", "You are signed out. Sign in again.")
    if now - row.last_seen_at > timedelta(seconds=30):
        row.last_seen_at = now
    return Principal(
        role=Role(staff.role),
        store_code=device.store_code,
        device_id=device.id,
        device_kind=device.kind,
        staff_id=staff.id,
        staff_number=staff.staff_number,
        staff_name=staff.name,
        session_hash=h,
    )


# --- sign-in ------------------------------------------------------------------------------------------


def sign_in(
    session: Session, device_token: str, staff_number: str, pin: str, hours: float, ip: str = ""
) -> tuple[Staff, str, datetime]:
    """The person, their session token (shown once) and its expiry. The caller commits; a refused PIN's
    lockout counters and audit row too (AccessError.keep), or guessing would cost nothing."""
    device = device_by_token(session, device_token)
    if device.kind == "kiosk":
        raise AccessError(403, "signin.kiosk", "Nobody signs in on a kiosk.")
    now = now_utc()
    wait = remaining(device.locked_until, now)
    if wait:
        raise AccessError(
            423,
            "signin.device_locked",
            f"Too many wrong PINs on this device. Try again in {_human(wait)}.",
            retry_after=int(wait.total_seconds()) + 1,
        )
    staff = session.execute(select(Staff).where(Staff.staff_number == staff_number.strip())).scalar_one_or_none()
    wait = remaining(staff.locked_until, now) if staff else None
    if wait:
        audit(
            session, "sign_in", outcome="locked", staff=staff, device_id=device.id, store_code=device.store_code, ip=ip
        )
        raise AccessError(
            423,
            "signin.staff_locked",
            f"Too many wrong PINs for this staff number. Try again in {_human(wait)}, or ask a manager.",
            retry_after=int(wait.total_seconds()) + 1,
            keep=True,  # the attempt on a locked account stays on record
        )
    pin_ok = valid_pin_format(pin) and verify_pin(pin, staff.pin_hash if staff else _DUMMY_VERIFIER)
    allowed_here = (
        staff is not None and staff.active and (staff.role == Role.ADMIN.value or staff.store_code == device.store_code)
    )
    if not (pin_ok and staff is not None and allowed_here):
        device.failed_signins += 1
        device_lock = lock_after(device.failed_signins)
        if device_lock:
            device.locked_until = now + device_lock
        staff_lock = None
        if staff is not None and not pin_ok:  # the right PIN on a wrong device is no guess
            staff.failed_attempts += 1
            staff_lock = lock_after(staff.failed_attempts)
            if staff_lock:
                staff.locked_until = now + staff_lock
        reason = "pin" if staff is not None and not pin_ok else ("store" if staff is not None else "unknown")
        audit(
            session,
            "sign_in",
            outcome="refused",
            staff=staff,
            staff_number=staff_number[:16],
            device_id=device.id,
            store_code=device.store_code,
            detail={"reason": reason},
            ip=ip,
        )
        # Every refusal below is kept (keep=True): the counters are what locks a guesser out.
        if staff is not None and pin_ok and not allowed_here:
            raise AccessError(
                403,
                "signin.other_store",
                "You can sign in only on devices of your own store. Ask a manager of this store.",
                keep=True,
            )
        # The attempt that sets a lock says so at once, rather than one attempt later.
        if staff_lock or device_lock:
            lock = staff_lock or device_lock
            raise AccessError(
                423,
                "signin.staff_locked" if staff_lock else "signin.device_locked",
                f"Too many wrong PINs. Try again in {_human(lock)}, or ask a manager.",
                retry_after=int(lock.total_seconds()),
                keep=True,
            )
        raise AccessError(401, "signin.wrong", "The staff number or PIN is wrong. Check both and try again.", keep=True)
    staff.failed_attempts, staff.locked_until = 0, None
    device.failed_signins, device.locked_until = 0, None
    token = new_token()
    expires = now + timedelta(hours=hours)
    session.add(StaffSession(token_hash=token_hash(token), staff_id=staff.id, device_id=device.id, expires_at=expires))
    audit(session, "sign_in", staff=staff, device_id=device.id, store_code=device.store_code, ip=ip)
    return staff, token, expires


def sign_out(session: Session, p: Principal, ip: str = "") -> None:
    """Ends the principal's session (safe twice); the caller commits."""
    if p.session_hash:
        row = session.get(StaffSession, p.session_hash)
        if row is not None and row.ended_at is None:
            row.ended_at = now_utc()
        audit(session, "sign_out", staff_number=p.staff_number, device_id=p.device_id, store_code=p.store_code, ip=ip)


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds()) + 1
    return f"{seconds} seconds" if seconds < 120 else f"{seconds // 60} minutes"


# --- set-up helpers (seed, demo, tests) ----------------------------------------------------------------


def create_staff(session: Session, staff_number: str, name: str, role: Role, store_code: str | None, pin: str) -> Staff:
    if not valid_pin_format(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    staff = Staff(staff_number=staff_number, name=name, role=role.value, store_code=store_code, pin_hash=hash_pin(pin))
    session.add(staff)
    session.flush()
    return staff


def create_api_key(session: Session, name: str, role: Role = Role.WEB_SHOP, store: str | None = None) -> str:
    """A system's key (shown once; only its hash is kept). A till's key (Role.TILL) belongs to one store,
    `store`, and posts that store's sales only."""
    if role is Role.TILL and not store:
        raise ValueError("a till's key belongs to a store: give store=")
    key = new_token()
    session.add(ApiKey(name=name, role=role.value, key_hash=token_hash(key), store_code=store))
    session.flush()
    return key
