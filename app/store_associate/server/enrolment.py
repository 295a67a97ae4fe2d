"""Devices joining a store and leaving it: one-time enrolment codes, enrolment (with its safe retry when the
answer was lost), and revocation. Like access.py, nothing here commits: the route's unit of work does, and a
refusal to be kept says so with AccessError.keep."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from ..domain.credentials import new_enrolment_code, new_token, normalise_enrolment_code, token_hash
from ..domain.permissions import Role
from .access import AccessError, Principal, audit, now_utc
from .models import Device, DeviceSyncState, EnrolmentCode, StaffSession

DEVICE_KINDS = ("tablet", "desktop", "kiosk")


def create_enrolment_code(
    session: Session, by: Principal, store_code: str, kind: str, minutes: int, ip: str = ""
) -> tuple[str, datetime]:
    """A one-time code (shown once) and when it expires; the caller commits."""
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
    working. Anything else is refused, with the same answer as any bad code. The caller commits, the refusal's
    audit row included (AccessError.keep)."""
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
        reason = "expired" if row.expires_at <= now else None
    if reason is not None:
        audit(session, "enrol", outcome="refused", ip=ip, detail={"reason": reason})
        raise AccessError(400, "enrol.code_invalid", _CODE_INVALID, keep=True)  # codes tried are on record
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
    return device, token


def _retry_refused(
    session: Session, row: EnrolmentCode, id_hash: str, attempt: int, now: datetime
) -> tuple[str | None, Device | None]:
    """(why a used code cannot be a retry of its first use, None) or, when it can, (None, its device, locked)."""
    if row.enrolment_id_hash is None or not hmac.compare_digest(row.enrolment_id_hash, id_hash):
        return "used", None  # another device (or one from before enrolment ids) has it
    if now - row.used_at > ENROL_RETRY_WINDOW:
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
    return device, token


def revoke(session: Session, by: Principal, device_id: str, ip: str = "") -> Device:
    """The device, revoked (again: unchanged); the caller commits, a refused attempt's audit row included."""
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
        raise AccessError(
            409,
            "device.self",
            "You are signed in on this device: revoking it would sign you out and lock this device. "
            "Revoke it from another device of the store.",
            keep=True,  # the attempt stays on record
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
    return device


def _same_store(p: Principal, store_code: str) -> bool:
    return p.role is Role.ADMIN or p.store_code == store_code
