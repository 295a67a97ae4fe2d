"""The device's side of access: enrolment, sign-in (online, or offline for people known here),
sessions that end on sign-out or inactivity, and what a revoked device does.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ..domain.credentials import hash_pin, normalise_enrolment_code, token_hash, valid_pin_format, verify_pin
from ..domain.lockout import lock_after, remaining
from ..domain.permissions import ROLE_PERMISSIONS, Permission, Role
from .store import LocalStore
from .store.staff import KnownStaff
from .sync_client import Offline, ServerRefused, SyncClient

__all__ = ["DeviceAuth", "Enrol", "Permission", "Role", "SignIn", "SignInResult", "StaffSession"]


class SignIn(StrEnum):
    OK = "ok"
    OK_OFFLINE = "ok_offline"
    WRONG = "wrong"
    LOCKED = "locked"
    OTHER_STORE = "other_store"
    OFFLINE_UNKNOWN = "offline_unknown"  # offline, and this person never signed in here (or too long ago)
    REVOKED = "revoked"
    KIOSK = "kiosk"
    NOT_ENROLLED = "not_enrolled"


# One send and two more at once when no answer comes back: enough for an answer lost on the way (the
# server knows the id and hands the device back); a network that is down shows as "offline" a few seconds
# later, and the person (or the next start) tries again with the same id.
ENROL_SENDS = 3
_ENROLMENT = "enrolment_attempt"  # meta key: {"id", "code" (a tag, not the code), "attempt"}


def _code_tag(code: str) -> str:
    """Enough of the code's hash to tell "the same code again" from a new one; the code itself is not kept."""
    return token_hash(normalise_enrolment_code(code))[:16]


class Enrol(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    OFFLINE = "offline"


@dataclass
class StaffSession:
    staff_number: str
    name: str
    role: Role
    store_code: str | None
    token: str | None  # None when signed in offline
    offline: bool
    started_at: datetime
    last_activity: datetime
    # Offline: when the person's last online sign-in here leaves the offline window. Work done after it would
    # be refused by the server (it shows no sign-in), so the session ends then, however active it is.
    ends_at: datetime | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    retry_after_s: int | None = None
    message: str | None = None  # the server's sentence, for logs


def _days(value: object) -> int | None:
    """The server's offline window from the sign-in answer; None when it gave none (an older server)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class DeviceAuth:
    def __init__(
        self, store: LocalStore, client: SyncClient, idle: timedelta, offline_days: int, clock=lambda: datetime.now(UTC)
    ) -> None:  # noqa: ANN001
        self.store = store
        self.client = client
        self.idle = idle
        self.offline_days = offline_days
        self.clock = clock
        self.session: StaffSession | None = None
        self._lock = threading.Lock()
        self._enrol_lock = threading.Lock()
        client.device_token = store.get_meta("device_token")
        client.on_refused = self._on_refused

    # --- device --------------------------------------------------------------------------------

    @property
    def enrolled(self) -> bool:
        return bool(self.store.get_meta("device_token"))

    @property
    def revoked(self) -> bool:
        return self.store.get_meta("revoked") == "1"

    @property
    def kind(self) -> str | None:
        return self.store.get_meta("device_kind")

    @property
    def store_code(self) -> str | None:
        return self.store.get_meta("store_code")

    @property
    def device_id(self) -> str | None:
        return self.store.get_meta("device_id")

    def enrol(self, code: str, name: str) -> Enrol:
        """Exchange the code for this device's token. An answer lost on the way back (connection dropped,
        server restarted, app killed) is asked for again with the same enrolment id, kept in the device's
        database before each send; the server then gives the same device a new token."""
        code, name = code.strip(), name.strip()[:80]
        with self._enrol_lock:  # a double tap must not send two attempts of one id at once
            enrolment_id, attempt = self._enrolment_attempt(code)
            for _ in range(ENROL_SENDS):
                attempt += 1
                # On disk before it leaves: after a crash the next start sends the same id, a higher attempt.
                self.store.set_meta(
                    _ENROLMENT, json.dumps({"id": enrolment_id, "code": _code_tag(code), "attempt": attempt})
                )
                try:
                    answer = self.client.enrol(code, name, enrolment_id, attempt)
                    break
                except Offline:
                    continue  # maybe applied with the answer lost: ask again, same id
                except ServerRefused as exc:
                    if exc.error == "enrol.code_invalid":
                        self.store.set_meta(_ENROLMENT, "")  # refused for good: the pair is of no more use
                    return Enrol.INVALID
            else:
                return Enrol.OFFLINE  # the pair is kept: trying again later (or after a restart) resumes it
        # A device enrolled again starts clean: its people sign in online once more.
        self.store.staff.forget_all()
        for key, value in (
            ("device_id", answer["device_id"]),
            ("device_token", answer["device_token"]),
            ("store_code", answer["store"]),
            ("device_kind", answer["kind"]),
            ("revoked", "0"),
            (_ENROLMENT, ""),
        ):
            self.store.set_meta(key, value)
        self.client.device_token = answer["device_token"]
        self.session = None
        return Enrol.OK

    def _enrolment_attempt(self, code: str) -> tuple[str, int]:
        """The enrolment id and last attempt number kept for this code, or a new id for a code typed anew."""
        try:
            kept = json.loads(self.store.get_meta(_ENROLMENT) or "{}")
        except ValueError:
            kept = {}
        if (
            isinstance(kept, dict)
            and kept.get("code") == _code_tag(code)
            and isinstance(kept.get("id"), str)
            and isinstance(kept.get("attempt"), int)
        ):
            return kept["id"], kept["attempt"]
        return uuid.uuid4().hex, 0

    def _on_refused(self, refused: ServerRefused) -> None:
        if refused.error == "device.revoked":
            # Refused from now on; nothing local is deleted (unsent work stays for review).
            self.store.set_meta("revoked", "1")
            self.session = None
        elif refused.error == "device.unknown":
            # The server no longer knows this device (its database was replaced): enrol again.
            self.store.set_meta("device_token", "")
            self.client.device_token = None
            self.session = None
        elif refused.error in ("session.expired", "session.invalid") and self.session and self.session.token:
            self.session = None

    # --- people ------------------------------------------------------------------------------------

    def sign_in(self, staff_number: str, pin: str) -> SignInResult:
        staff_number = staff_number.strip()
        if not self.enrolled:
            return SignInResult(SignIn.NOT_ENROLLED)
        if self.revoked:
            return SignInResult(SignIn.REVOKED)
        if self.kind == "kiosk":
            return SignInResult(SignIn.KIOSK)
        if not staff_number or not valid_pin_format(pin):
            return SignInResult(SignIn.WRONG)
        try:
            answer = self.client.sign_in(staff_number, pin)
        except Offline:
            return self._offline_sign_in(staff_number, pin)
        except ServerRefused as exc:
            return self._refused(exc)
        now = self.clock()
        staff = answer["staff"]
        # Remember a verifier of our own (new salt), so this person can sign in here offline.
        self.store.staff.remember(
            KnownStaff(
                staff_number=staff["staff_number"],
                name=staff["name"],
                role=staff["role"],
                store_code=staff["store"],
                verifier=hash_pin(pin),
                last_online_at=now.isoformat(),
                failed_attempts=0,
                locked_until=None,
                offline_days=_days(answer.get("offline_signin_days")),
            )
        )
        self._start(
            staff["staff_number"],
            staff["name"],
            Role(staff["role"]),
            staff["store"],
            answer["session_token"],
            offline=False,
        )
        return SignInResult(SignIn.OK)

    def _refused(self, exc: ServerRefused) -> SignInResult:
        outcome = {
            "signin.wrong": SignIn.WRONG,
            "signin.staff_locked": SignIn.LOCKED,
            "signin.device_locked": SignIn.LOCKED,
            "signin.other_store": SignIn.OTHER_STORE,
            "device.revoked": SignIn.REVOKED,
            "signin.kiosk": SignIn.KIOSK,
            "device.unknown": SignIn.NOT_ENROLLED,
        }.get(exc.error, SignIn.WRONG)
        return SignInResult(outcome, exc.retry_after, exc.message)

    def _offline_sign_in(self, staff_number: str, pin: str) -> SignInResult:
        known = self.store.staff.known(staff_number)
        if known is None:
            return SignInResult(SignIn.OFFLINE_UNKNOWN)
        now = self.clock()
        # The window the server honours ends this long after the person's last online sign-in here.
        ends_at = datetime.fromisoformat(known.last_online_at) + timedelta(days=self.offline_window())
        if now > ends_at:
            return SignInResult(SignIn.OFFLINE_UNKNOWN)
        wait = remaining(datetime.fromisoformat(known.locked_until) if known.locked_until else None, now)
        if wait:
            return SignInResult(SignIn.LOCKED, int(wait.total_seconds()) + 1)
        if not verify_pin(pin, known.verifier):
            known.failed_attempts += 1
            lock = lock_after(known.failed_attempts)
            known.locked_until = (now + lock).isoformat() if lock else None
            self.store.staff.remember(known)
            if lock:
                return SignInResult(SignIn.LOCKED, int(lock.total_seconds()))
            return SignInResult(SignIn.WRONG)
        known.failed_attempts, known.locked_until = 0, None
        self.store.staff.remember(known)
        self._start(
            known.staff_number, known.name, Role(known.role), known.store_code, None, offline=True, ends_at=ends_at
        )
        return SignInResult(SignIn.OK_OFFLINE)

    def offline_window(self) -> int:
        """Days after an online sign-in that offline sign-in is allowed: this device's own setting, or the
        server's if shorter. The server counts what a person did offline as theirs only within its window
        (its latest word, from the latest online sign-in here): a longer one here would let people work
        whose work is then refused."""
        stated = self.store.staff.offline_days_stated()
        return self.offline_days if stated is None else min(self.offline_days, stated)

    def _start(
        self,
        number: str,
        name: str,
        role: Role,
        store: str | None,
        token: str | None,
        offline: bool,
        ends_at: datetime | None = None,
    ) -> None:
        now = self.clock()
        with self._lock:
            self.session = StaffSession(number, name, role, store, token, offline, now, now, ends_at)
            self.client.session_token = token

    def sign_out(self) -> None:
        """Safe to call twice, and offline: the local session ends at once either way."""
        with self._lock:
            session, self.session = self.session, None
            token = self.client.session_token
            self.client.session_token = None
        if session and token:
            self.client.session_token = token
            try:
                self.client.sign_out()
            except (Offline, ServerRefused):
                pass  # the server ends it on its own (idle timeout)
            finally:
                self.client.session_token = None

    def touch(self) -> None:
        if self.session:
            self.session.last_activity = self.clock()

    def expired(self) -> bool:
        """True when the signed-in person has been idle too long, or an offline session has run past the offline
        window (the session is then ended)."""
        s = self.session
        if s is None:
            return False
        now = self.clock()
        if now - s.last_activity > self.idle or (s.ends_at is not None and now >= s.ends_at):
            self.sign_out()
            return True
        return False

    def can(self, permission: Permission) -> bool:
        if self.kind == "kiosk":
            return permission in ROLE_PERMISSIONS[Role.KIOSK]
        return bool(self.session and self.session.can(permission))
