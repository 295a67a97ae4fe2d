"""Customers: the one insert (many rows, one statement, their ids in order) and finding a customer a sale
names, by loyalty card first, then by e-mail, else making one, for one sale or a batch.

Order intake (server/intake.py) makes a customer per order with the same statement (`NEW_CUSTOMERS`); a
web-shop customer's e-mail is therefore often on several rows: a sale takes the newest that fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from ..models import Customer
from .bulk import executemany

NEW_CUSTOMERS = insert(Customer.__table__).returning(Customer.__table__.c.id, sort_by_parameter_order=True)
_C = Customer.__table__.c
_BY_LOYALTY = select(_C.id, _C.loyalty_id).where(_C.loyalty_id.in_(bindparam("ids", expanding=True)))
_BY_EMAIL = (
    select(_C.id, _C.email, _C.loyalty_id).where(_C.email.in_(bindparam("emails", expanding=True))).order_by(_C.id)
)
_LINK = update(Customer.__table__).where(_C.id == bindparam("k_id")).values(loyalty_id=bindparam("v_loyalty"))
_CHUNK = 500


@dataclass
class _Known:
    """A customer found, or to be made (id None until inserted)."""

    id: int | None
    loyalty_id: str | None
    row: dict | None = None  # the row to insert, for one to be made


def customer_row(name: str, email: str, phone: str, locale: str, now: datetime, loyalty_id: str | None = None) -> dict:
    return {
        "name": name,
        "email": email,
        "phone": phone,
        "locale": locale,
        "created_at": now,
        "loyalty_id": loyalty_id,
    }


class Customers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, rows: list[dict]) -> list[int]:
        """Insert customers (rows as `customer_row` makes them); their ids, in the rows' order."""
        if not rows:
            return []
        return list(self.session.execute(NEW_CUSTOMERS, rows).scalars().all())

    def resolve(self, wanted: list[dict | None], now: datetime) -> list[int | None]:
        """The customer id for each of `wanted` ({name, email, phone, loyalty_id, locale} or None for no
        customer), made where none is found:

        - by loyalty id (unique): that customer, whatever the e-mail says;
        - else by e-mail (as given or in lower case): the newest customer with it whose loyalty id is none or
          this one; a loyalty id sent with it is then written on that customer (the card is theirs now);
        - else a new customer (e-mail in lower case), made once per loyalty id or e-mail for the whole batch.

        Name, phone and locale of a customer found are kept as they are: a till's typing does not overwrite
        what the customer gave."""
        loyalties = {c["loyalty_id"] for c in wanted if c and c.get("loyalty_id")}
        emails = {e for c in wanted if c and c.get("email") for e in (c["email"], c["email"].lower())}
        by_loyalty: dict[str, _Known] = {}
        for chunk in _chunks(sorted(loyalties)):
            for cid, loyalty in self.session.execute(_BY_LOYALTY, {"ids": chunk}):
                by_loyalty[loyalty] = _Known(cid, loyalty)
        by_email: dict[str, list[_Known]] = {}  # lower-case e-mail -> customers, newest first
        for chunk in _chunks(sorted(emails)):
            for cid, email, loyalty in self.session.execute(_BY_EMAIL, {"emails": chunk}):
                known = by_loyalty.get(loyalty) if loyalty else None
                by_email.setdefault(email.lower(), []).insert(0, known or _Known(cid, loyalty))
        chosen: list[_Known | None] = []
        links: list[_Known] = []
        for c in wanted:
            if not c:
                chosen.append(None)
                continue
            loyalty, email = c.get("loyalty_id") or None, (c.get("email") or "").lower()
            found = by_loyalty.get(loyalty) if loyalty else None
            if found is None and email:
                found = next((k for k in by_email.get(email, ()) if k.loyalty_id in (None, loyalty)), None)
                if found is not None and loyalty and found.loyalty_id is None:
                    found.loyalty_id = loyalty
                    if found.row is not None:
                        found.row["loyalty_id"] = loyalty
                    else:
                        links.append(found)
                    by_loyalty[loyalty] = found
            if found is None:
                found = _Known(
                    None,
                    loyalty,
                    customer_row(
                        c.get("name") or "", email, c.get("phone") or "", c.get("locale") or "en", now, loyalty
                    ),
                )
                if loyalty:
                    by_loyalty[loyalty] = found
                if email:
                    by_email.setdefault(email, []).insert(0, found)
            chosen.append(found)
        executemany(self.session, _LINK, [{"k_id": k.id, "v_loyalty": k.loyalty_id} for k in links])
        made = list({id(k): k for k in chosen if k is not None and k.id is None}.values())
        for k, cid in zip(made, self.insert([k.row for k in made]), strict=True):
            k.id = cid
        return [k.id if k else None for k in chosen]


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]
