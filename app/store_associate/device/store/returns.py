"""Returns made on this device, as the device recorded them; the return rules pulled from the server; the prices
a receipt-less return is refunded at.

The outbox forgets a command once the server has answered for it, but a return is shown, and holds the units it
takes back, until the sale pulled from the server counts them: so every step of a return is kept here too, with
what the device decided beside the command (the policy's outcome per line, the approving manager's role) and the
server's refusal, if it refused one (kept after the person has dismissed it from the outbox). The use cases are in
device/returns/; this is their storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .database import Database
from .sales import MIN_PHONE_DIGITS, email_key, phone_key

RULES_META = "return_rules"  # meta key: the newest return rules pulled, as their JSON
_CHUNK = 500  # under SQLite's bound-parameter limit


@dataclass(frozen=True)
class ReturnHead:
    """A return as opened here. `sale_receipt` is the sale it is against (found by its receipt or gift receipt),
    "" without a receipt."""

    return_id: str
    opened_at: str  # UTC ISO
    clerk: str
    store: str
    receipt: str
    gift_code: str
    sale_receipt: str
    customer_name: str
    customer_email: str
    phone_key: str
    customer_phone: str
    status: str = "draft"
    credit: str = "0"


@dataclass(frozen=True)
class Step:
    """One command of a return, in the order recorded. `status`: "sent" (in the outbox when last looked), "gone" (it
    has left the outbox: applied) or "rejected" (the server refused it: `reason` is its i18n key)."""

    return_id: str
    seq: int
    outbox_id: int
    name: str
    version: int
    args: dict[str, Any]
    local: dict[str, Any]
    at: str
    status: str = "sent"
    reason: str = ""
    detail: str = ""


_HEAD = (
    "return_id, opened_at, clerk, store, receipt, gift_code, sale_receipt, customer_name, customer_email, phone_key,"
    " customer_phone, status, credit"
)
_STEP = "return_id, seq, outbox_id, name, version, args, local, at, status, reason, detail"


def _step(row: tuple[Any, ...]) -> Step:
    return Step(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), json.loads(row[6]), *row[7:])


class ReturnLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = db.lock
        self._conn = db.conn

    # --- returns and their steps --------------------------------------------------------------------

    def open(self, head: ReturnHead) -> bool:
        """Keep a new return (False: one with this id is kept already, and is left as it is)."""
        with self._lock:
            cur = self._conn.execute(
                f"INSERT OR IGNORE INTO device_return({_HEAD}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    head.return_id,
                    head.opened_at,
                    head.clerk,
                    head.store,
                    head.receipt,
                    head.gift_code,
                    head.sale_receipt,
                    head.customer_name,
                    head.customer_email,
                    head.phone_key,
                    head.customer_phone,
                    head.status,
                    head.credit,
                ),
            )
            return cur.rowcount == 1

    def head(self, return_id: str) -> ReturnHead | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_HEAD} FROM device_return WHERE return_id = ?", (return_id,)).fetchone()
        return ReturnHead(*row) if row else None

    def add_step(
        self, return_id: str, outbox_id: int, name: str, version: int, args: Mapping[str, Any], local: Mapping, at: str
    ) -> Step:
        with self._db.transaction() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM device_return_step WHERE return_id = ?", (return_id,)
            ).fetchone()[0]
            conn.execute(
                f"INSERT INTO device_return_step({_STEP}) VALUES (?,?,?,?,?,?,?,?,'sent','','')",
                (return_id, seq, outbox_id, name, version, json.dumps(dict(args)), json.dumps(dict(local)), at),
            )
        return Step(return_id, seq, outbox_id, name, version, dict(args), dict(local), at)

    def steps(self, return_ids: Iterable[str]) -> dict[str, list[Step]]:
        """The steps of these returns, each return's in the order recorded."""
        ids = list(dict.fromkeys(return_ids))
        out: dict[str, list[Step]] = {i: [] for i in ids}
        for start in range(0, len(ids), _CHUNK):
            part = ids[start : start + _CHUNK]
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_STEP} FROM device_return_step WHERE return_id IN ({','.join('?' * len(part))})"  # noqa: S608
                    " ORDER BY return_id, seq",
                    part,
                ).fetchall()
            for row in rows:
                out[row[0]].append(_step(row))
        return out

    def known_outbox_ids(self, ids: list[int]) -> set[int]:
        """Which of these outbox entries carry a step kept here."""
        found: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            part = ids[start : start + _CHUNK]
            with self._lock:
                found.update(
                    r[0]
                    for r in self._conn.execute(
                        f"SELECT outbox_id FROM device_return_step WHERE outbox_id IN ({','.join('?' * len(part))})",  # noqa: S608
                        part,
                    )
                )
        return found

    def sent_steps(self) -> list[tuple[str, int]]:
        """(return id, outbox id) of the steps last seen in the outbox: those whose fate may still change."""
        with self._lock:
            return self._conn.execute(
                "SELECT return_id, outbox_id FROM device_return_step WHERE status = 'sent'"
            ).fetchall()

    def mark_gone(self, outbox_ids: Iterable[int]) -> None:
        """These steps have left the outbox: the server applied them (a refusal stays until it is dismissed, and is
        kept here before that)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE device_return_step SET status = 'gone' WHERE outbox_id = ? AND status = 'sent'",
                [(i,) for i in outbox_ids],
            )

    def mark_rejected(self, rejected: Iterable[tuple[int, str, str]]) -> None:
        """The server refused these steps: (outbox id, reason, detail)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE device_return_step SET status = 'rejected', reason = ?, detail = ? WHERE outbox_id = ?",
                [(reason, detail, outbox_id) for outbox_id, reason, detail in rejected],
            )

    def set_state(self, return_id: str, status: str, credit: Decimal) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE device_return SET status = ?, credit = ? WHERE return_id = ?", (status, str(credit), return_id)
            )

    def of_sale(self, receipt: str) -> list[ReturnHead]:
        """The returns made here against this sale, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_HEAD} FROM device_return WHERE sale_receipt = ? AND sale_receipt != '' ORDER BY opened_at",
                (receipt,),
            ).fetchall()
        return [ReturnHead(*r) for r in rows]

    def receiptless(self) -> list[ReturnHead]:
        """The returns made here without a receipt or gift receipt (a customer's receipt-less history)."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_HEAD} FROM device_return WHERE sale_receipt = '' AND receipt = '' AND gift_code = ''"
            ).fetchall()
        return [ReturnHead(*r) for r in rows]

    def recent(self, statuses: Iterable[str] | None = None, limit: int = 100) -> list[ReturnHead]:
        """The returns made here, newest first (of these statuses, as last laid over)."""
        sql = f"SELECT {_HEAD} FROM device_return"
        params: list[Any] = []
        if statuses is not None:
            wanted = list(statuses)
            sql += f" WHERE status IN ({','.join('?' * len(wanted))})"
            params += wanted
        sql += " ORDER BY opened_at DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, (*params, limit)).fetchall()
        return [ReturnHead(*r) for r in rows]

    def prune(self, before: datetime) -> int:
        """Forget the returns opened before `before` (a year and more: no receipt-less limit looks that far)."""
        cut = before.astimezone(UTC).isoformat()
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM device_return_step WHERE return_id IN (SELECT return_id FROM device_return"
                " WHERE opened_at < ?)",
                (cut,),
            )
            conn.execute("DELETE FROM pulled_return WHERE created_at < ?", (cut,))
            return int(conn.execute("DELETE FROM device_return WHERE opened_at < ?", (cut,)).rowcount)

    def forget_all(self) -> int:
        """Delete every return kept here and overwrite where it was (a kiosk keeps nobody's data)."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")
            try:
                with self._db.transaction() as conn:
                    conn.execute("DELETE FROM device_return_step")
                    conn.execute("DELETE FROM pulled_return")
                    gone = int(conn.execute("DELETE FROM device_return").rowcount)
                if gone:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.execute("PRAGMA secure_delete=OFF")
        return gone

    # --- the store's returns as the server sent them --------------------------------------------------

    def put_pulled(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Keep returns as a pull sends them (same or newer version replaces), inside the pull's transaction when
        there is one. Returns how many were written."""
        rows = []
        for item in items:
            customer = item.get("customer") or {}
            rows.append(
                (
                    str(item["number"]),
                    str(item.get("receipt") or "").strip().upper(),
                    str(item.get("gift_code") or ""),
                    str(item.get("status") or ""),
                    email_key(str(customer.get("email") or "")),
                    phone_key(str(customer.get("phone") or "")),
                    str(item.get("created_at") or ""),
                    json.dumps(item, separators=(",", ":"), default=str),
                    int(item.get("version") or 0),
                )
            )
        if not rows:
            return 0
        with self._lock:
            before = self._conn.total_changes
            self._conn.executemany(
                "INSERT INTO pulled_return(number, receipt, gift_code, status, email, phone_key, created_at, payload,"
                " version) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(number) DO UPDATE SET receipt = excluded.receipt,"
                " gift_code = excluded.gift_code, status = excluded.status, email = excluded.email,"
                " phone_key = excluded.phone_key, created_at = excluded.created_at, payload = excluded.payload,"
                " version = excluded.version WHERE excluded.version >= pulled_return.version",
                rows,
            )
            return int(self._conn.total_changes - before)

    def pulled(self, number: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT payload FROM pulled_return WHERE number = ?", (number,)).fetchone()
        return json.loads(row[0]) if row else None

    def pulled_of_sale(self, receipt: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT payload FROM pulled_return WHERE receipt = ? AND receipt != ''", (receipt,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def pulled_receiptless(self, email: str, phone: str) -> list[dict[str, Any]]:
        """The receipt-less returns the server sent of a customer, by e-mail or by phone number's ending."""
        key_email, key_phone = email_key(email), phone_key(phone)
        terms, params = [], []
        if key_email:
            terms.append("email = ?")
            params.append(key_email)
        if len(key_phone) >= MIN_PHONE_DIGITS:
            terms.append("(phone_key >= ? AND phone_key < ?)")
            params += [key_phone, key_phone + "\U0010ffff"]
        if not terms:
            return []
        with self._lock:
            rows = self._conn.execute(
                f"SELECT payload FROM pulled_return WHERE receipt = '' AND gift_code = '' AND ({' OR '.join(terms)})",  # noqa: S608
                params,
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # --- prices a receipt-less return is refunded at --------------------------------------------------

    def lowest_sold_prices(self, skus: Iterable[str], since: datetime) -> dict[str, Decimal]:
        """The lowest unit price each SKU was sold at here since `since` (this store's sales the device keeps).
        The price is in the sale's payload; sale_line's index finds the SKU's lines."""
        wanted = list(dict.fromkeys(s for s in skus if s))
        out: dict[str, Decimal] = {}
        if not wanted:
            return out
        cut = since.astimezone(UTC).isoformat(timespec="microseconds")  # as sale_line.sold_at is written
        for start in range(0, len(wanted), _CHUNK):
            part = wanted[start : start + _CHUNK]
            with self._lock:
                rows = self._conn.execute(
                    "SELECT l.sku, json_extract(j.value, '$.unit_price') FROM sale_line l"
                    " JOIN sale s ON s.receipt = l.receipt, json_each(s.payload, '$.lines') j"
                    f" WHERE l.sku IN ({','.join('?' * len(part))}) AND l.sold_at >= ?"  # noqa: S608
                    " AND json_extract(j.value, '$.line_no') = l.line_no",
                    (*part, cut),
                ).fetchall()
            for sku, price in rows:
                try:
                    value = Decimal(str(price))
                except InvalidOperation:
                    continue
                if value.is_finite() and value >= 0 and (sku not in out or value < out[sku]):
                    out[sku] = value
        return out

    # --- the return rules pulled from the server ------------------------------------------------------

    def stored_rules(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (RULES_META,)).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def keep_rules(self, data: Mapping[str, Any]) -> bool:
        """Keep rules pulled from the server when their version is above the one kept (inside the pull's
        transaction when there is one). Whether they are valid is the reader's check (returns/facts.py): rules this app
        cannot read are not used, and the next version replaces them."""
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return False
        kept = self.stored_rules()
        kept_version = kept.get("version") if kept else None
        if isinstance(kept_version, int) and kept_version >= version:
            return False
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (RULES_META, json.dumps(dict(data)))
            )
        return True
