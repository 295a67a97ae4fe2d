"""View-models of the access screens (enrol, sign in, devices): plain Python, tested without Flet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..device.auth import DeviceAuth, Enrol, Permission, SignIn
from ..device.sync_client import Offline, ServerRefused, SyncClient
from .i18n import age, duration, t


@dataclass
class Notice:
    """A message on a screen: what happened and what to do next."""

    text: str = ""
    error: bool = False


def _wait(seconds: int | None) -> str:
    if not seconds:
        return t("time.a_moment")
    return t("time.seconds", n=seconds) if seconds < 120 else t("time.minutes", n=(seconds + 59) // 60)


class EnrolViewModel:
    def __init__(self, enrol) -> None:  # noqa: ANN001 - Device.enrol or DeviceAuth.enrol
        self._enrol = enrol
        self.notice = Notice()

    def submit(self, code: str, name: str) -> bool:
        if len(code.strip().replace("-", "").replace(" ", "")) != 8:
            self.notice = Notice(t("enrol.error.format"), True)
            return False
        outcome = self._enrol(code, name or t("enrol.default_name"))
        self.notice = {
            Enrol.OK: Notice(t("enrol.ok")),
            Enrol.INVALID: Notice(t("enrol.error.invalid"), True),
            Enrol.OFFLINE: Notice(t("enrol.error.offline"), True),
        }[outcome]
        return outcome is Enrol.OK


class SignInViewModel:
    def __init__(self, auth: DeviceAuth) -> None:
        self.auth = auth
        self.notice = Notice()

    def submit(self, staff_number: str, pin: str) -> bool:
        if not staff_number.strip() or not pin:
            self.notice = Notice(t("signin.error.empty"), True)
            return False
        result = self.auth.sign_in(staff_number, pin)
        o = result.outcome
        if o is SignIn.OK:
            self.notice = Notice()
            return True
        if o is SignIn.OK_OFFLINE:
            self.notice = Notice(t("signin.offline_ok"))
            return True
        self.notice = Notice(
            {
                SignIn.WRONG: t("signin.error.wrong"),
                SignIn.LOCKED: t("signin.error.locked", wait=_wait(result.retry_after_s)),
                SignIn.OTHER_STORE: t("signin.error.other_store"),
                SignIn.OFFLINE_UNKNOWN: t("signin.error.offline_unknown"),
                SignIn.REVOKED: t("device.revoked.body"),
                SignIn.KIOSK: t("signin.error.kiosk"),
                SignIn.NOT_ENROLLED: t("enrol.needed"),
            }[o],
            True,
        )
        return False

    def expired_notice(self) -> None:
        self.notice = Notice(t("signin.idle_ended"), False)


@dataclass(frozen=True)
class DeviceRow:
    id: str
    title: str
    detail: str
    revoked: bool
    this_device: bool
    # The device a manager is signed in on is never offered for revoking (it would lock them out); `note`
    # says why, on the row itself (a tablet has no hover for a tooltip).
    can_revoke: bool = False
    note: str = ""


@dataclass
class DevicesState:
    rows: list[DeviceRow] = field(default_factory=list)
    notice: Notice = field(default_factory=Notice)
    new_code: str | None = None


class DevicesViewModel:
    """A manager's list of the store's devices: revoke one, or make an enrolment code."""

    def __init__(self, auth: DeviceAuth, client: SyncClient, store_code: str, clock) -> None:  # noqa: ANN001
        self.auth, self.client, self.store_code, self.clock = auth, client, store_code, clock
        self.state = DevicesState()

    def allowed(self) -> bool:
        return self.auth.can(Permission.DEVICES_MANAGE)

    def _call(self, fn, *args):  # noqa: ANN001, ANN202
        """The server's answer, or None with the notice saying why there is none."""
        try:
            return fn(*args)
        except Offline:
            self.state.notice = Notice(t("devices.error.offline"), True)
        except ServerRefused as exc:
            # Revoking the device one is signed in on is refused by the server too (when this screen's idea
            # of "this device" is stale): say so in the person's language, not the server's sentence.
            text = (
                t("devices.error.self")
                if exc.error == "device.self"
                else t("devices.error.refused", reason=exc.message)
            )
            self.state.notice = Notice(text, True)
        return None

    def load(self) -> DevicesState:
        rows = self._call(self.client.devices, self.store_code)
        if rows is None:
            return self.state
        try:
            sync = {s["device_id"]: s for s in self.client.sync_status(self.store_code)}
        except (Offline, ServerRefused):
            sync = {}
        now = self.clock()
        out = []
        for d in rows:
            seen = datetime.fromisoformat(d["last_seen_at"]) if d.get("last_seen_at") else None
            status = (
                t("devices.revoked")
                if d.get("revoked_at")
                else (t("devices.seen", age=age(seen, now)) if seen else t("devices.never_seen"))
            )
            s = sync.get(d["id"])
            if s and not d.get("revoked_at"):
                status += " · " + t(
                    "devices.sync", applied=s["last_applied"], pending=s["pending"], rejected=s["rejected"]
                )
                if s.get("lag_seconds"):
                    status += " · " + t("devices.lag", duration=duration(s["lag_seconds"]))
            revoked, mine = bool(d.get("revoked_at")), d["id"] == self.auth.device_id
            out.append(
                DeviceRow(
                    d["id"],
                    f"{d['name'] or t('devices.unnamed')} · {t('devices.kind.' + d['kind'])}",
                    status,
                    revoked,
                    mine,
                    can_revoke=not revoked and not mine,
                    note=t("devices.this_note") if mine else "",
                )
            )
        self.state.rows = out
        self.state.notice = Notice() if out else Notice(t("devices.none"))
        return self.state

    def revoke(self, device_id: str) -> DevicesState:
        if device_id == self.auth.device_id:
            self.state.notice = Notice(t("devices.error.self"), True)
            return self.state
        if self._call(self.client.revoke, device_id) is None:
            return self.state
        notice = Notice(t("devices.revoked_ok"))
        self.load()
        self.state.notice = notice
        return self.state

    def new_code(self, kind: str) -> DevicesState:
        answer = self._call(self.client.enrolment_code, self.store_code, kind)
        if answer is None:
            return self.state
        self.state.new_code = answer["code"]
        self.state.notice = Notice(t("devices.code_made", code=answer["code"], kind=t("devices.kind." + kind)))
        return self.state
