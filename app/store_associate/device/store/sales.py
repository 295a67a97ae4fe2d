"""This store's sales on the device (the last 90 days), to return against offline; their typed read model.

A sale is kept whole as the server sent it (payload: lines and tenders included), so a found sale is shown
from one row. Beside it are the keys it is found by, normalised here the same way for what is stored and what
is typed: the receipt, the gift receipt's code, the web order's number, the customer's e-mail, phone (its
digits reversed, so that an index finds a number by its ending, with or without the country code) and
loyalty id, each indexed; sale_line holds each line's SKU and serial (a customer's purchases of an item, a
unit by its serial) and sale_name_word each word of the customer's name.

Writes are version-aware: a sale is replaced by the same version or a newer one (its `returned` counts move as
returns are made), never by an older one, so a page sent twice or late changes nothing.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ...domain.codes import CodeKind, interpret
from .database import Database
from .sale_views import Purchase, SaleCustomer, SaleLineView, SaleView, TenderView

# The device keeps its store's sales of this long; the server sends no older ones.
SALES_WINDOW = timedelta(days=90)
# At least this many digits search by phone: fewer would find half the store's customers.
MIN_PHONE_DIGITS = 7
# At least this many letters search a name's words.
MIN_NAME_CHARS = 2
_HIGH = "\U0010ffff"  # above every character: "abc" <= x < "abc" + _HIGH is every x that begins with "abc"
_WORD_RE = re.compile(r"\w+")
_PHONE_RE = re.compile(r"^\+?[0-9 ().-]+$")
_LOYALTY_RE = re.compile(r"^(?:LY-?)?(\d{10})$")
_CHUNK = 500  # under SQLite's bound-parameter limit


# --- keys: what is stored and what is searched, normalised alike -----------------------------------------


def receipt_key(text: str) -> str:
    return text.strip().upper()


def email_key(text: str) -> str:
    return text.strip().lower()


def phone_key(text: str) -> str:
    """The number's digits without leading zeros, last first ("+1 212-555-0100" -> "00105552121"). A number
    typed without its country code, or with a trunk 0 or an international 00 for its +, ends the same way, so
    its key is a prefix of this: "212 555 0100", "0034 612 345 678" and "612 345 678" find their customer."""
    return "".join(c for c in text if c.isascii() and c.isdigit()).lstrip("0")[::-1]


def loyalty_key(text: str) -> str:
    """A loyalty id as stored and searched: "LY-1234567897", "ly1234567897" and "1234567897" alike."""
    text = text.strip().upper()
    m = _LOYALTY_RE.match(text)
    return m.group(1) if m else text


def gift_key(text: str) -> str:
    """A gift receipt's code in its one form, "GR-" and ten characters, however it was typed."""
    info = interpret(text)
    if info.kind is CodeKind.GIFT_RECEIPT and info.reference:
        return "GR-" + info.reference
    return text.strip().upper()


def name_words(text: str) -> list[str]:
    """A name's words, case and accents folded: "María  GARCÍA-Ruiz" -> ["maria", "garcia", "ruiz"]."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD_RE.findall(plain)


def is_phone_like(text: str) -> bool:
    """Digits as a phone number is written (+, spaces, dashes, dots, brackets), with enough digits."""
    return bool(_PHONE_RE.match(text.strip())) and len(phone_key(text)) >= MIN_PHONE_DIGITS


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(text: str) -> datetime:
    """An ISO time from the server; one without an offset is UTC (the server stores UTC)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0"))


# --- rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    receipt: str
    store: str
    order_number: str
    sold_at: str
    gift_code: str | None
    email: str
    phone_key: str
    loyalty_id: str
    payload: str
    version: int
    lines: tuple[tuple[str, int, str, str, str], ...]  # (receipt, line_no, sku, serial, sold_at)
    words: tuple[tuple[str, str, str, str], ...]  # (word, receipt, sold_at, name)

    def sale(self) -> tuple[str, str, str, str, str | None, str, str, str, str, int]:
        return (
            self.receipt,
            self.store,
            self.order_number,
            self.sold_at,
            self.gift_code,
            self.email,
            self.phone_key,
            self.loyalty_id,
            self.payload,
            self.version,
        )


def _row(item: Mapping[str, Any]) -> _Row:
    """The rows of a sale as the server sends it. A sale without its receipt, time or lines is an error (the
    page is not applied): the server's contract, not something to guess around. So is one the read model cannot
    read (money that is not a number, say): it is read here once, so that a stored sale can always be shown."""
    receipt = receipt_key(str(item["receipt"]))
    if not receipt:
        raise ValueError("a sale without a receipt number")
    sold_at = _utc_text(_parse_time(str(item["sold_at"])))
    customer = item.get("customer") or {}
    gift = item.get("gift_code")
    lines = tuple(
        (receipt, int(ln["line_no"]), str(ln["sku"]), str(ln.get("serial") or "").strip().upper(), sold_at)
        for ln in item["lines"]
    )
    folded = name_words(str(customer.get("name") or ""))
    name = "".join(" " + w for w in folded)
    words = tuple((w, receipt, sold_at, name) for w in dict.fromkeys(folded))
    _view_of(item, sold_at)
    return _Row(
        receipt=receipt,
        store=str(item.get("store") or ""),
        order_number=receipt_key(str(item.get("order_number") or "")),
        sold_at=sold_at,
        gift_code=gift_key(str(gift)) if gift else None,
        email=email_key(str(customer.get("email") or "")),
        phone_key=phone_key(str(customer.get("phone") or "")),
        loyalty_id=loyalty_key(str(customer.get("loyalty_id") or "")),
        payload=json.dumps(item, separators=(",", ":"), default=str),  # (Decimal, datetime from a Python caller)
        version=int(item.get("version") or 0),
        lines=lines,
        words=words,
    )


def _view(payload: str, sold_at: str) -> SaleView:
    return _view_of(json.loads(payload), sold_at)


def _view_of(data: Mapping[str, Any], sold_at: str) -> SaleView:
    customer = data.get("customer")
    return SaleView(
        receipt=receipt_key(str(data["receipt"])),
        store=data.get("store") or "",
        channel=data.get("channel") or "till",
        order_number=data.get("order_number") or "",
        till=data.get("till") or "",
        sold_at=datetime.fromisoformat(sold_at),
        currency=data.get("currency") or "",
        subtotal=_money(data.get("subtotal")),
        tax=_money(data.get("tax")),
        total=_money(data.get("total")),
        gift_code=gift_key(str(data["gift_code"])) if data.get("gift_code") else None,
        customer=SaleCustomer(
            customer.get("name") or "",
            customer.get("email") or "",
            customer.get("phone") or "",
            customer.get("loyalty_id") or "",
            customer.get("locale") or "",
        )
        if customer
        else None,
        lines=tuple(
            SaleLineView(
                line_no=int(ln["line_no"]),
                sku=str(ln["sku"]),
                name=ln.get("name") or "",
                category=ln.get("category") or "",
                qty=int(ln.get("qty") or 0),
                unit_price=_money(ln.get("unit_price")),
                tax=_money(ln.get("tax")),
                serial=ln.get("serial") or "",
                final_sale=bool(ln.get("final_sale")),
                returned=int(ln.get("returned") or 0),
            )
            for ln in sorted(data.get("lines") or (), key=lambda ln: int(ln["line_no"]))
        ),
        tenders=tuple(
            TenderView(
                seq=int(t.get("seq") or 0),
                kind=t.get("kind") or "",
                amount=_money(t.get("amount")),
                card_last4=t.get("card_last4") or "",
                reference=t.get("reference") or "",
                refunded=_money(t.get("refunded")),
            )
            for t in sorted(data.get("tenders") or (), key=lambda t: int(t.get("seq") or 0))
        ),
        version=int(data.get("version") or 0),
    )


# --- the area ----------------------------------------------------------------------------------------


_SELECT = "SELECT s.payload, s.sold_at FROM sale s"
_LINES = "SELECT s.payload, s.sold_at, l.line_no, l.receipt FROM sale_line l JOIN sale s ON s.receipt = l.receipt"


class Sales:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = db.lock
        self._conn = db.conn

    # --- writes ----------------------------------------------------------------------------------

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Store sales as the server sends them (the pull's "sales" items): new ones added, known ones replaced
        by the same or a newer version, older versions ignored. Inside the pull's transaction when there is
        one, else in a transaction of its own; every item is read before anything is written, so a bad one
        changes nothing. Returns how many sales were written."""
        newest: dict[str, _Row] = {}
        for row in map(_row, items):
            kept = newest.get(row.receipt)
            if kept is None or row.version >= kept.version:
                newest[row.receipt] = row
        if not newest:
            return 0
        with self._lock:
            if self._conn.in_transaction:
                return self._write(list(newest.values()))
            with self._db.transaction():
                return self._write(list(newest.values()))

    def _write(self, rows: list[_Row]) -> int:
        stored: dict[str, int] = {}
        for start in range(0, len(rows), _CHUNK):
            part = [r.receipt for r in rows[start : start + _CHUNK]]
            stored.update(
                self._conn.execute(
                    f"SELECT receipt, version FROM sale WHERE receipt IN ({','.join('?' * len(part))})", part
                ).fetchall()
            )
        rows = [r for r in rows if stored.get(r.receipt, -1) <= r.version]
        replaced = [(r.receipt,) for r in rows if r.receipt in stored]
        self._conn.executemany("DELETE FROM sale_line WHERE receipt = ?", replaced)
        self._conn.executemany("DELETE FROM sale_name_word WHERE receipt = ?", replaced)
        self._conn.executemany(
            "INSERT OR REPLACE INTO sale(receipt, store, order_number, sold_at, gift_code, email, phone_key,"
            " loyalty_id, payload, version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [r.sale() for r in rows],
        )
        self._conn.executemany(
            "INSERT OR REPLACE INTO sale_line(receipt, line_no, sku, serial, sold_at) VALUES (?,?,?,?,?)",
            [ln for r in rows for ln in r.lines],
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO sale_name_word(word, receipt, sold_at, name) VALUES (?,?,?,?)",
            [w for r in rows for w in r.words],
        )
        return len(rows)

    def prune(self, before: datetime) -> int:
        """Drop the sales sold before `before` (the device keeps 90 days: SALES_WINDOW), with their lines and
        name words. Inside the pull's transaction when there is one. Returns how many sales went."""
        cut = _utc_text(before)
        with self._lock:
            if self._conn.in_transaction:
                return self._prune(cut)
            with self._db.transaction():
                return self._prune(cut)

    def _prune(self, cut: str) -> int:
        old = "SELECT receipt FROM sale WHERE sold_at < ?"
        self._conn.execute(f"DELETE FROM sale_line WHERE receipt IN ({old})", (cut,))
        self._conn.execute(f"DELETE FROM sale_name_word WHERE receipt IN ({old})", (cut,))
        return int(self._conn.execute("DELETE FROM sale WHERE sold_at < ?", (cut,)).rowcount)

    def forget_all(self) -> int:
        """Delete every sale and overwrite where it was on disk (a kiosk keeps nobody's data). Returns how many
        sales were deleted."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")
            try:
                with self._db.transaction() as conn:
                    conn.execute("DELETE FROM sale_line")
                    conn.execute("DELETE FROM sale_name_word")
                    gone = int(conn.execute("DELETE FROM sale").rowcount)
                if gone:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.execute("PRAGMA secure_delete=OFF")
        return gone

    # --- reads -----------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM sale").fetchone()[0])

    def get(self, receipt: str) -> SaleView | None:
        """The sale with this receipt number (any case, spaces around it ignored)."""
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE s.receipt = ?", (receipt_key(receipt),)).fetchone()
        return _view(*row) if row else None

    def by_gift_code(self, code: str) -> SaleView | None:
        """The sale a gift receipt's code (GR-..., scanned or typed with or without the dash) was printed for."""
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE s.gift_code = ?", (gift_key(code),)).fetchone()
        return _view(*row) if row else None

    def by_order(self, number: str, limit: int = 20) -> list[SaleView]:
        """The sales made from a web order (when it was handed over), newest first."""
        key = receipt_key(number)
        if not key:
            return []
        return self._many(f"{_SELECT} WHERE s.order_number = ? ORDER BY s.sold_at DESC LIMIT ?", (key, limit))

    def by_email(self, email: str, limit: int = 20) -> list[SaleView]:
        key = email_key(email)
        if not key:
            return []
        return self._many(f"{_SELECT} WHERE s.email = ? ORDER BY s.sold_at DESC LIMIT ?", (key, limit))

    def by_loyalty(self, loyalty_id: str, limit: int = 20) -> list[SaleView]:
        key = loyalty_key(loyalty_id)
        if not key:
            return []
        return self._many(f"{_SELECT} WHERE s.loyalty_id = ? ORDER BY s.sold_at DESC LIMIT ?", (key, limit))

    def by_phone(self, phone: str, limit: int = 20) -> list[SaleView]:
        """Sales to a customer whose phone number ends with these digits (at least MIN_PHONE_DIGITS of them),
        so "212 555 0100" finds "+1 212-555-0100"."""
        key = phone_key(phone)
        if len(key) < MIN_PHONE_DIGITS:
            return []
        return self._many(
            f"{_SELECT} WHERE s.phone_key >= ? AND s.phone_key < ? ORDER BY s.sold_at DESC LIMIT ?",
            (key, key + _HIGH, limit),
        )

    def by_name(self, name: str, limit: int = 20) -> list[SaleView]:
        """Sales to customers with every typed word beginning a word of their name ("gar mar" finds "María
        García"), newest first. One index range (the longest word typed: likely the rarest) gives the candidates
        with their folded names and times, so the other words and the order cost no further lookups."""
        words = sorted(dict.fromkeys(w for w in name_words(name) if len(w) >= MIN_NAME_CHARS), key=len, reverse=True)
        if not words:
            return []
        first, others = words[0], words[1:]
        also = "".join(" AND instr(name, ?) > 0" for _ in others)
        sql = (
            "SELECT s.payload, s.sold_at FROM sale s JOIN (SELECT DISTINCT receipt, sold_at FROM sale_name_word"
            f" WHERE word >= ? AND word < ?{also} ORDER BY sold_at DESC LIMIT ?) w ON w.receipt = s.receipt"
            " ORDER BY w.sold_at DESC"
        )
        return self._many(sql, (first, first + _HIGH, *(" " + w for w in others), limit))

    def search(self, text: str, limit: int = 20) -> list[SaleView]:
        """Sales to a customer found by what was typed, newest first, at most `limit`: an e-mail (whole), a
        phone number (its ending, at least seven digits) or loyalty id, or the words of a name. Text that is
        none of these finds nothing, never everything."""
        text = text.strip()
        if not text or len(text) > 254 or not text.isprintable():
            return []
        found: dict[str, SaleView] = {}
        if "@" in text:
            found.update((s.receipt, s) for s in self.by_email(text, limit))
        elif is_phone_like(text):
            found.update((s.receipt, s) for s in self.by_loyalty(text, limit))
            found.update((s.receipt, s) for s in self.by_phone(text, limit))
        else:
            found.update((s.receipt, s) for s in self.by_loyalty(text, limit))
            found.update((s.receipt, s) for s in self.by_name(text, limit))
        return sorted(found.values(), key=lambda s: (s.sold_at, s.receipt), reverse=True)[:limit]

    def purchases_of(
        self, sku: str, customer: SaleCustomer | str | None = None, serial: str | None = None, limit: int = 50
    ) -> list[Purchase]:
        """The lines of this SKU sold here, newest first: of one customer when `customer` is given (their
        SaleCustomer, matched by e-mail, phone or loyalty id; or an e-mail, phone or loyalty id as typed), of
        one unit when `serial` is. A customer that names no one (no e-mail, phone or loyalty id) finds none."""
        # The SKU's lines newest first from ix_sale_line_sku (sku, sold_at, then the key: receipt, line_no).
        sql = f"{_LINES} WHERE l.sku = ?"
        params: list[Any] = [sku.strip()]
        if serial is not None:
            sql += " AND l.serial = ? AND l.serial != ''"
            params.append(serial.strip().upper())
        if customer is not None:
            who, who_params = _customer_clause(customer)
            if not who:
                return []
            sql += f" AND ({who})"
            params += who_params
        sql += " ORDER BY l.sold_at DESC, l.receipt DESC, l.line_no DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return _purchases(rows)

    def by_serial(self, serial: str, limit: int = 20) -> list[Purchase]:
        """The sold lines with this serial number (of any SKU), newest first."""
        key = serial.strip().upper()
        if not key:
            return []
        with self._lock:
            rows = self._conn.execute(
                f"{_LINES} WHERE l.serial = ? AND l.serial != '' ORDER BY l.sold_at DESC LIMIT ?",
                (key, limit),
            ).fetchall()
        return _purchases(rows)

    def _many(self, sql: str, params: tuple[Any, ...]) -> list[SaleView]:
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_view(*r) for r in rows]


def _purchases(rows: list[tuple[str, str, int, str]]) -> list[Purchase]:
    """(payload, sold_at, line_no, receipt) rows as purchases, newest first, a sale's lines in their order, each
    sale read once."""
    rows = sorted(rows, key=lambda r: (r[3], r[2]))
    rows.sort(key=lambda r: r[1], reverse=True)  # stable: a sale's lines stay together and in order
    out: list[Purchase] = []
    views: dict[str, SaleView] = {}
    for payload, sold_at, line_no, receipt in rows:
        sale = views.get(receipt)
        if sale is None:
            sale = views[receipt] = _view(payload, sold_at)
        line = sale.line(line_no)
        if line is not None:
            out.append(Purchase(sale, line))
    return out


def _customer_clause(customer: SaleCustomer | str) -> tuple[str, list[Any]]:
    """SQL over sale `s` matching a customer, and its parameters; ("", []) when it names no one."""
    if isinstance(customer, SaleCustomer):
        email, phone, loyalty = customer.email, customer.phone, customer.loyalty_id
    else:
        text = customer.strip()
        email = text if "@" in text else ""
        phone = text if is_phone_like(text) else ""
        loyalty = text if not email else ""
    terms: list[str] = []
    params: list[Any] = []
    if email_key(email):
        terms.append("s.email = ?")
        params.append(email_key(email))
    if len(phone_key(phone)) >= MIN_PHONE_DIGITS:
        terms.append("(s.phone_key >= ? AND s.phone_key < ?)")
        params += [phone_key(phone), phone_key(phone) + _HIGH]
    if loyalty_key(loyalty):
        terms.append("s.loyalty_id = ?")
        params.append(loyalty_key(loyalty))
    return " OR ".join(terms), params
