"""Enrolment, device tokens, staff sign-in and sessions, API keys, and the audit log.

Every check that decides who is asking lives here; routers only say which permission they need.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from ..domain.credentials import (
    hash_pin,
    new_enrolment_code,
    new_token,
    normalise_enrolment_code,
    token_hash,
    valid_pin_format,
    verify_pin,
)
from ..domain.lockout import lock_after, remaining
from ..domain.permissions import Role
from .models import ApiKey, AuditLog, Device, DeviceSyncState, EnrolmentCode, Staff, StaffSession

DEVICE_KINDS = ("tablet", "desktop", "kiosk")
# A PIN check is slow on purpose; a wrong staff number must cost the same, or it tells a guesser
# which numbers exist.
_DUMMY_VERIFIER = hash_pin("000000")


def now_utc() -> datetime:
    return datetime.now(UTC)


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt


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
    def __init__(self, status: int, error: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.retry_after = status, error, message, retry_after


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


# --- enrolment --------------------------------------------------------------------------------------


def create_enrolment_code(
    session: Session, by: Principal, store_code: str, kind: str, minutes: int, ip: str = ""
) -> tuple[str, datetime]:
    code = new_enrolment_code()
    expires = now_utc() + timedelta(minutes=minutes)
    session.add(
        EnrolmentCode(
            code_hash=token_hash(code), store_code=store_code, kind=kind, created_by=by.staff_id, expires_at=expires
        )
    )
    audit(
        session,
        "enrolment_code",
        staff_number=by.staff_number,
        device_id=by.device_id,
        store_code=store_code,
        target=kind,
        detail={"expires_at": expires.isoformat()},
        ip=ip,
    )
    session.commit()
    return code, expires


# How long after a code's first use the device that used it may enrol again with the same enrolment id (its
# answer was lost: dropped connection, server restart, app killed). Long enough for a person to tap "Enrol"
# again after a network blip; short enough that a code seen later (on a screenshot, over a shoulder) plus an
# id read off a stolen tablet is of no use. The device retries at once, so minutes are plenty.
ENROL_RETRY_WINDOW = timedelta(minutes=10)
_CODE_INVALID = "This enrolment code is not valid: it is wrong, used already or expired. Ask a manager for a new code."


def enrol(
    session: Session, code: str, name: str, ip: str = "", enrolment_id: str | None = None, attempt: int = 1
) -> tuple[Device, str]:
    """A new device for an unused code. A used code is accepted again only as a retry by the same device: the
    same enrolment id, a higher attempt number than any answered, within ENROL_RETRY_WINDOW of the first use,
    the device not revoked. It then gets the same device with a new token, and the previous token stops
    working. Anything else is refused, with the same answer as any bad code."""
    row = session.execute(
        select(EnrolmentCode)
        .where(EnrolmentCode.code_hash == token_hash(normalise_enrolment_code(code)))
        .with_for_update()  # serialises a first use and its retries (SQLite: BEGIN IMMEDIATE does)
    ).scalar_one_or_none()
    now = now_utc()
    id_hash = token_hash(enrolment_id) if enrolment_id else None
    if row is None:
        reason = "unknown"
    elif row.used_at is not None:
        reason, device = _retry_refused(session, row, id_hash, attempt, now) if id_hash else ("used", None)
        if device is not None:
            return _enrol_retry(session, row, device, attempt, ip)
    else:
        reason = "expired" if aware(row.expires_at) <= now else None
    if reason is not None:
        audit(session, "enrol", outcome="refused", ip=ip, detail={"reason": reason})
        session.commit()
        raise AccessError(400, "enrol.code_invalid", _CODE_INVALID)
    token = new_token()
    device = Device(
        id=uuid.uuid4().hex,
        store_code=row.store_code,
        kind=row.kind,
        name=name[:80],
        token_hash=token_hash(token),
        enrolled_by=row.created_by,
    )
    session.add(device)
    session.flush()
    # Its sync row exists from the start, so that pushes only ever lock it, never race to create it.
    session.add(DeviceSyncState(device_id=device.id))
    row.used_at, row.device_id = now, device.id
    row.enrolment_id_hash, row.enrolment_attempt = id_hash, attempt if id_hash else None
    audit(session, "enrol", device_id=device.id, store_code=device.store_code, target=device.kind, ip=ip)
    session.commit()
    return device, token


def _retry_refused(
    session: Session, row: EnrolmentCode, id_hash: str, attempt: int, now: datetime
) -> tuple[str | None, Device | None]:
    """(why a used code cannot be a retry of its first use, None) or, when it can, (None, its device, locked)."""
    if row.enrolment_id_hash is None or not hmac.compare_digest(row.enrolment_id_hash, id_hash):
        return "used", None  # another device (or one from before enrolment ids) has it
    if now - aware(row.used_at) > ENROL_RETRY_WINDOW:
        return "retry_late", None
    # An attempt no newer than one answered already is a late copy of an old send (it sat in a queue or a
    # lock while the device gave up and sent again): rotating now would kill the token the device holds.
    if row.enrolment_attempt is not None and attempt <= row.enrolment_attempt:
        return "retry_stale", None
    device = session.get(Device, row.device_id, with_for_update=True) if row.device_id else None
    if device is None or device.revoked_at is not None:
        return "retry_revoked", None
    return None, device


def _enrol_retry(session: Session, row: EnrolmentCode, device: Device, attempt: int, ip: str) -> tuple[Device, str]:
    token = new_token()
    device.token_hash = token_hash(token)  # the previous token is refused from now on
    row.enrolment_attempt = attempt
    # Sessions opened with the previous token end with it: whoever held that token is not this device.
    session.execute(
        update(StaffSession)
        .where(StaffSession.device_id == device.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now_utc())
    )
    audit(
        session,
        "enrol_retry",
        device_id=device.id,
        store_code=device.store_code,
        target=device.kind,
        detail={"attempt": attempt},
        ip=ip,
    )
    session.commit()
    return device, token


def revoke(session: Session, by: Principal, device_id: str, ip: str = "") -> Device:
    if by.device_id is not None and device_id == by.device_id:
        # Revoking it would end this very session and leave the device refused, with nobody able to undo it
        # from here: the manager would lock themselves out. Another device of the store can do it.
        audit(
            session,
            "revoke",
            outcome="refused",
            staff_number=by.staff_number,
            device_id=by.device_id,
            store_code=by.store_code,
            target=device_id,
            detail={"reason": "self"},
            ip=ip,
        )
        session.commit()
        raise AccessError(
            409,
            "device.self",
            "You are signed in on this device: revoking it would sign you out and lock this device. "
            "Revoke it from another device of the store.",
        )
    device = session.get(Device, device_id)
    if device is None or not _same_store(by, device.store_code):
        raise AccessError(404, "device.not_found", "No device with this id in your store.")
    if device.revoked_at is None:
        device.revoked_at, device.revoked_by = now_utc(), by.staff_id
        # Its people are signed out at once: their sessions end with the device.
        session.execute(
            update(StaffSession)
            .where(StaffSession.device_id == device_id, StaffSession.ended_at.is_(None))
            .values(ended_at=now_utc())
        )
        audit(
            session,
            "revoke",
            staff_number=by.staff_number,
            device_id=by.device_id,
            store_code=device.store_code,
            target=device.id,
            ip=ip,
        )
        session.commit()
    return device


def _same_store(p: Principal, store_code: str) -> bool:
    return p.role is Role.ADMIN or p.store_code == store_code


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
    if api_key:
        h = token_hash(api_key)
        cached = known_keys.get(h) if known_keys is not None else None
        if cached is not None:
            return cached
        key = session.execute(select(ApiKey).where(ApiKey.key_hash == h)).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise AccessError(401, "api_key.invalid", "This API key is not valid. Check the key or ask for a new one.")
        principal = Principal(role=Role(key.role), store_code=None, api_key_id=key.id)
        if known_keys is not None:
            known_keys.put(h, principal)
        return principal
    if not device_token:
        if session_token:
            raise AccessError(401, "device.missing", "Sign-in works only on an enrolled device.")
        return None
    device = device_by_token(session, device_token)
    now = now_utc()
    if device.last_seen_at is None or now - aware(device.last_seen_at) > timedelta(minutes=1):
        device.last_seen_at = now  # throttled: not a write per request
        session.commit()
    if device.kind == "kiosk":
        return Principal(role=Role.KIOSK, store_code=device.store_code, device_id=device.id, device_kind="kiosk")
    if not session_token:
        return Principal(role=Role.DEVICE, store_code=device.store_code, device_id=device.id, device_kind=device.kind)
    h = token_hash(session_token)
    row = session.get(StaffSession, h)
    if row is None or row.device_id != device.id or row.ended_at is not None:
        raise AccessError(401, "session.invalid", "You are signed out. Sign in again.")
    if aware(row.expires_at) <= now or now - aware(row.last_seen_at) > idle:
        row.ended_at = now
        session.commit()
        raise AccessError(401, "session.expired", "Your session has ended. Sign in again.")
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise AccessError(401, "session.invalid", "You are signed out. Sign in again.")
    if now - aware(row.last_seen_at) > timedelta(seconds=30):
        row.last_seen_at = now
        session.commit()
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
    device = device_by_token(session, device_token)
    if device.kind == "kiosk":
        raise AccessError(403, "signin.kiosk", "Nobody signs in on a kiosk.")
    now = now_utc()
    wait = remaining(aware(device.locked_until), now)
    if wait:
        raise AccessError(
            423,
            "signin.device_locked",
            f"Too many wrong PINs on this device. Try again in {_human(wait)}.",
            retry_after=int(wait.total_seconds()) + 1,
        )
    staff = session.execute(select(Staff).where(Staff.staff_number == staff_number.strip())).scalar_one_or_none()
    wait = remaining(aware(staff.locked_until), now) if staff else None
    if wait:
        audit(
            session, "sign_in", outcome="locked", staff=staff, device_id=device.id, store_code=device.store_code, ip=ip
        )
        session.commit()
        raise AccessError(
            423,
            "signin.staff_locked",
            f"Too many wrong PINs for this staff number. Try again in {_human(wait)}, or ask a manager.",
            retry_after=int(wait.total_seconds()) + 1,
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
        session.commit()
        if staff is not None and pin_ok and not allowed_here:
            raise AccessError(
                403,
                "signin.other_store",
                "You can sign in only on devices of your own store. Ask a manager of this store.",
            )
        # The attempt that sets a lock says so at once, rather than one attempt later.
        if staff_lock or device_lock:
            lock = staff_lock or device_lock
            raise AccessError(
                423,
                "signin.staff_locked" if staff_lock else "signin.device_locked",
                f"Too many wrong PINs. Try again in {_human(lock)}, or ask a manager.",
                retry_after=int(lock.total_seconds()),
            )
        raise AccessError(401, "signin.wrong", "The staff number or PIN is wrong. Check both and try again.")
    staff.failed_attempts, staff.locked_until = 0, None
    device.failed_signins, device.locked_until = 0, None
    token = new_token()
    expires = now + timedelta(hours=hours)
    session.add(StaffSession(token_hash=token_hash(token), staff_id=staff.id, device_id=device.id, expires_at=expires))
    audit(session, "sign_in", staff=staff, device_id=device.id, store_code=device.store_code, ip=ip)
    session.commit()
    return staff, token, expires


def sign_out(session: Session, p: Principal, ip: str = "") -> None:
    if p.session_hash:
        row = session.get(StaffSession, p.session_hash)
        if row is not None and row.ended_at is None:
            row.ended_at = now_utc()
        audit(session, "sign_out", staff_number=p.staff_number, device_id=p.device_id, store_code=p.store_code, ip=ip)
        session.commit()


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


def create_api_key(session: Session, name: str, role: Role = Role.WEB_SHOP) -> str:
    key = new_token()
    session.add(ApiKey(name=name, role=role.value, key_hash=token_hash(key)))
    session.flush()
    return key
