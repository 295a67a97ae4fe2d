"""Who did it is who signed in: the evidence that the person a pushed mutation names was signed in on the
device that sends it, and the audit of what each push claimed and what showed it.

A device pushes its outbox whenever it can, often with nobody signed in online any more, and every mutation
names the person who did it. A name is only a claim. What shows it is that person's own online sign-ins on
this device (StaffSession rows, which only the real sign-in with their PIN creates):

- "session": an online session of theirs on this device was open when the mutation was made;
- "offline_window": their latest online sign-in here before it is no older than the offline window, the
  same number of days the server tells the device at sign-in (the device then signs them in offline).

Anything else, a time in the future included, shows nothing, and the mutation is refused. The mutation's
time is the device's clock: a small skew is allowed either way.

Evidence is looked up once per person per push (a push is up to 500 mutations, mostly of one person), and
the audit log gets one row per (person, evidence, outcome, manager-only) per push, not one per mutation.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from ..domain.permissions import Permission, Role, allowed
from .access import audit
from .models import Staff, StaffSession

# Device clocks drift: a mutation this far outside a session still counts as in it (either side: a sign-in
# up to this much after a step's time counts as before it).
SKEW = timedelta(minutes=5)
SESSION = "session"
OFFLINE_WINDOW = "offline_window"
NONE = "none"
ACTION = "sync_actor"  # the audit log's action for these rows
HASH_PREFIX = 12  # enough of a session's token hash to find its row, never the token


@dataclass(frozen=True)
class Evidence:
    kind: str  # session | offline_window | none
    signed_in_at: datetime | None = None
    session: str | None = None  # the session's token-hash prefix
    why: str = ""  # for "none": what the device is told


_FUTURE = Evidence(NONE, why="made at a time in the future by this device's clock: check the device's date and time")
_NO_TIME = Evidence(NONE, why="made at a time this device's clock cannot have read: check the device's date and time")
# No sign-in is older than this product: a time before it shows nothing (and keeps the window arithmetic below
# clear of datetime's year 1).
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def shifted(at: datetime | None, offset: timedelta) -> datetime | None:
    """A device's time put on the server's clock; None when that is past what a datetime holds."""
    if at is None or not offset:
        return at
    try:
        return at + offset
    except OverflowError:
        return None


def manager_only(permission: Permission) -> bool:
    """A command an associate may not do: approving, overriding (returns bring these)."""
    return not allowed(Role.ASSOCIATE, permission)


class _SignIns:
    """One person's online sign-ins on one device, newest first: (start, end, hash prefix).

    What they show is the same between the times where a condition turns (a session's start and end, a
    sign-in's window running out, each widened by the skew): the answer is kept per such stretch, so a
    batch of hundreds of mutations costs a bisect each, not a walk over the sign-ins."""

    def __init__(
        self,
        number: str,
        rows: list[tuple[datetime, datetime, str]],
        window: timedelta,
        signed_in_before: Callable[[datetime], bool],
    ) -> None:
        self.number, self.rows, self.window = number, rows, window
        self.signed_in_before = signed_in_before  # for the refusal's wording: sign-ins too old to be read
        self.turns = sorted({t for start, end, _ in rows for t in (start - SKEW, end + SKEW, start + window + SKEW)})
        self.known: dict[int, Evidence] = {}

    def at(self, t: datetime) -> Evidence:
        i = bisect_right(self.turns, t)
        if i and self.turns[i - 1] == t:
            return self._find(t)  # on a turn itself: worked out exactly
        found = self.known.get(i)
        if found is None:
            found = self.known[i] = self._find(t)
        return found

    def _find(self, t: datetime) -> Evidence:
        for start, end, prefix in self.rows:  # an open session first: it is the stronger evidence
            if start - SKEW <= t <= end + SKEW:
                return Evidence(SESSION, start, prefix)
        for start, _, prefix in self.rows:  # newest first: the latest sign-in before `t`
            if start - SKEW <= t:
                if t - start <= self.window + SKEW:
                    return Evidence(OFFLINE_WINDOW, start, prefix)
                return self._too_old()
        if self.signed_in_before(t + SKEW):
            return self._too_old()
        return Evidence(NONE, why=f"{self.number} has not signed in on this device")

    def _too_old(self) -> Evidence:
        days = self.window.total_seconds() / 86400
        return Evidence(
            NONE, why=f"{self.number} had not signed in online on this device within {days:g} days before this was done"
        )


@dataclass
class _Group:
    staff: Staff | None
    ids: list[int] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    sign_ins: dict[str, str] = field(default_factory=dict)  # hash prefix -> signed in at
    reasons: set[str] = field(default_factory=set)


class Witness:
    """Per push: who signed in on this device, as far as this batch's mutations need it, and what to audit."""

    def __init__(
        self,
        session: Session,
        device_id: str,
        store_code: str | None,
        offline_days: float,
        now: datetime,
        earliest: datetime | None = None,
        clock_offset: timedelta = timedelta(0),
    ) -> None:
        self.session, self.device_id, self.store_code = session, device_id, store_code
        self.clock_offset = clock_offset  # device time + this = server time (sync.device_clock_offset)
        self.window = timedelta(days=offline_days)
        self.now = now
        # Sign-ins that ended before the batch's earliest mutation and are older than the window cannot show
        # anything: not read (a person signs in here most days, for years).
        self.earliest = max(earliest, EPOCH) if earliest is not None else None
        self.latest = now + SKEW  # a later time is in the device's future: it shows nothing
        self._people: dict[str, _SignIns] = {}
        self._groups: dict[tuple[str | None, str, str, bool], _Group] = {}

    def evidence(self, number: str, staff: Staff, at: datetime | None) -> Evidence:
        """What shows that `staff` (staff number `number`) was signed in on this device at `at` (a UTC time;
        None: no usable time), by the device's clock. Kept by number: a Staff attribute costs more than the
        rest of this."""
        at = shifted(at, self.clock_offset)
        if at is None or at < EPOCH:
            return _NO_TIME
        if at > self.latest:
            return _FUTURE
        known = self._people.get(number)
        if known is None:
            known = self._people[number] = self._load(staff)
        return known.at(at)

    def _load(self, staff: Staff) -> _SignIns:
        q = select(
            StaffSession.created_at, StaffSession.expires_at, StaffSession.ended_at, StaffSession.token_hash
        ).where(
            StaffSession.staff_id == staff.id,
            StaffSession.device_id == self.device_id,
            StaffSession.created_at <= self.now + SKEW,
        )
        if self.earliest is not None:
            since = self.earliest - SKEW
            q = q.where(or_(StaffSession.expires_at >= since, StaffSession.created_at >= since - self.window))
        rows = []
        for created, expires, ended, token_hash in self.session.execute(q).all():
            start, end = created, expires
            if ended is not None:
                end = min(end, ended)
            rows.append((start, end, token_hash[:HASH_PREFIX]))
        rows.sort(reverse=True)

        def signed_in_before(t: datetime) -> bool:  # only asked on the way to a refusal
            return (
                self.session.execute(
                    select(StaffSession.token_hash)
                    .where(
                        StaffSession.staff_id == staff.id,
                        StaffSession.device_id == self.device_id,
                        StaffSession.created_at <= t,
                    )
                    .limit(1)
                ).first()
                is not None
            )

        return _SignIns(staff.staff_number, rows, self.window, signed_in_before)

    def record(
        self,
        number: str | None,
        staff: Staff | None,
        mutation_id: int,
        command: str,
        shown: Evidence,
        outcome: str,
        manager_only_: bool,
        reason: str = "",
    ) -> None:
        """One mutation's claim, its evidence and what became of it, grouped for the audit log."""
        key = (number, shown.kind, outcome, manager_only_)  # (a staff number is one person)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(staff)
        group.ids.append(mutation_id)
        group.commands.add(command)
        if shown.session is not None and shown.session not in group.sign_ins and len(group.sign_ins) < 10:
            group.sign_ins[shown.session] = shown.signed_in_at.isoformat()  # type: ignore[union-attr]
        if reason and len(group.reasons) < 5:
            group.reasons.add(reason[:200])

    def write(self) -> None:
        """The audit rows of this push (in its transaction: they commit with what was applied)."""
        for (number, kind, outcome, mgr), g in self._groups.items():
            detail: dict = {
                "claim": {
                    "staff_number": number,
                    "mutations": _runs(g.ids),
                    "count": len(g.ids),
                    "commands": sorted(g.commands),
                },
                "evidence": {
                    "kind": kind,
                    "sign_ins": [{"at": at, "session": prefix} for prefix, at in g.sign_ins.items()],
                },
                "manager_only": mgr,
            }
            if g.reasons:
                detail["reasons"] = sorted(g.reasons)
            audit(
                self.session,
                ACTION,
                outcome=outcome,
                staff=g.staff,
                staff_number=number,
                device_id=self.device_id,
                store_code=self.store_code,
                target=",".join(sorted(g.commands)),
                detail=detail,
            )
        self._groups.clear()


def _runs(ids: list[int], limit: int = 50) -> list[list[int]]:
    """[1, 2, 3, 7] -> [[1, 3], [7, 7]]: the ids of a push are mostly one run. Capped: the count says the rest."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        elif len(runs) < limit:
            runs.append([i, i])
        else:
            break
    return runs
