"""The stock ledger: levels per (store, SKU) and the movements that changed them. `StockLedger.write` is the
one way a level changes: every change is a movement row, and the level moves by the sum of its rows.

Writers decide what changes by their own rules and hand the ledger the rows: `book` for changes clamped at
zero (order steps, transfers), `reserve` for a batch of orders (intake), and a sync push builds its rows
itself (device commands are checked against the figures as the batch has left them) and calls `write`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Update, bindparam, insert, select, update
from sqlmodel import Session

from ...domain.inventory import available_to_promise
from ..models import InventoryLevel, InventoryMovement
from .bulk import executemany
from .changelog import ChangeLog

FIELDS = ("on_hand", "reserved", "safety_stock", "incoming", "damaged")
_LEVEL = InventoryLevel.__table__
_LOCK = (
    select(
        _LEVEL.c.sku,
        _LEVEL.c.on_hand,
        _LEVEL.c.reserved,
        _LEVEL.c.safety_stock,
        _LEVEL.c.incoming,
        _LEVEL.c.damaged,
        _LEVEL.c.location,
    )
    .where(_LEVEL.c.store_code == bindparam("store"), _LEVEL.c.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_LEVEL.c.sku)
    .with_for_update()
)  # in SKU order: two writers lock in the same order
_AVAILABLE = select(_LEVEL.c.on_hand, _LEVEL.c.reserved, _LEVEL.c.safety_stock).where(
    _LEVEL.c.store_code == bindparam("store"), _LEVEL.c.sku == bindparam("sku")
)
_NEW_LEVELS = insert(_LEVEL)
_LEDGER = insert(InventoryMovement.__table__)
_CHUNK = 500  # SKUs per lock query


class Level(NamedTuple):
    on_hand: int
    reserved: int
    safety_stock: int
    incoming: int
    damaged: int
    location: str


class Booking(NamedTuple):
    """A change to one level for `book`: deltas by field (on_hand=, reserved=, incoming=), and whether on-hand
    is then found to be 0 (not in stock)."""

    reason: str
    deltas: dict[str, int]
    zero_on_hand: bool = False


def entry(
    store: str,
    sku: str,
    field: str,
    delta: int,
    reason: str,
    reference: str,
    at: datetime,
    device: str | None = None,
    mutation_id: int | None = None,
) -> dict:
    """One ledger row, as `StockLedger.write` takes it. Rows carry the device's mutation only for the device's
    own store: the ledger's uniqueness per (device, mutation, SKU, field) is what proves a mutation was
    applied once."""
    return {
        "store_code": store,
        "sku": sku,
        "field": field,
        "delta": delta,
        "reason": reason,
        "reference": reference,
        "device_id": device,
        "mutation_id": mutation_id,
        "created_at": at,
    }


@functools.cache
def _change(fields: tuple[str, ...]) -> Update:
    """The levels' UPDATE for one set of fields, built once (bulk.executemany compiles each once)."""
    c = _LEVEL.c
    return (
        update(_LEVEL)
        .where(c.store_code == bindparam("k_store"), c.sku == bindparam("k_sku"))
        .values(
            {
                **{c[f]: c[f] + bindparam(f"d_{f}") for f in fields},
                c.updated_at: bindparam("v_updated_at"),
                c.version: bindparam("v_version"),
            }
        )
    )


class StockLedger:
    def __init__(self, session: Session, changes: ChangeLog) -> None:
        self.session, self.changes = session, changes

    def lock(self, store: str, skus: Iterable[str]) -> dict[str, Level]:
        """Lock the store's levels of these SKUs (in SKU order) and read them; a SKU with no level here is not
        in the answer. Writers lock the counter first (ChangeLog.lock), then levels, then take versions."""
        wanted = sorted(set(skus))
        found: dict[str, Level] = {}
        for start in range(0, len(wanted), _CHUNK):
            rows = self.session.execute(_LOCK, {"store": store, "skus": wanted[start : start + _CHUNK]}).all()
            found.update((row[0], Level(*row[1:])) for row in rows)
        return found

    def available(self, store: str, sku: str) -> int:
        row = self.session.execute(_AVAILABLE, {"store": store, "sku": sku}).first()
        return available_to_promise(*row) if row else 0

    def write(
        self,
        store: str,
        entries: list[dict],
        *,
        new: Collection[str] = (),
        first_version: int | None = None,
        now: datetime | None = None,
    ) -> None:
        """Write ledger rows of one store (see `entry`) and move each level they name by the sum of its rows.
        `new`: levels that are not there yet (`lock` did not find them): inserted, starting from zero, even
        with no row. Each level written takes a version, in SKU order, from `first_version` when the caller
        took a block for it (else from the change log now). One statement per kind of change: this runs for
        every push and every batch of web-shop orders."""
        new = set(new)
        net: dict[str, dict[str, int]] = {sku: {} for sku in new}
        for e in entries:
            per = net.setdefault(e["sku"], {})
            per[e["field"]] = per.get(e["field"], 0) + e["delta"]
        if net:
            now = now or datetime.now(UTC)
            skus = sorted(net)
            first = self.changes.take(len(skus)) if first_version is None else first_version
            created, changed = [], {}
            for i, sku in enumerate(skus):
                deltas = net[sku]
                if sku in new:
                    created.append(
                        {
                            "store_code": store,
                            "sku": sku,
                            **{f: deltas.get(f, 0) for f in FIELDS},
                            "location": "",
                            "updated_at": now,
                            "version": first + i,
                        }
                    )
                    continue
                fields = tuple(sorted(deltas))
                changed.setdefault(fields, []).append(
                    {
                        "k_store": store,
                        "k_sku": sku,
                        **{f"d_{f}": deltas[f] for f in fields},
                        "v_updated_at": now,
                        "v_version": first + i,
                    }
                )
            for fields, rows in changed.items():
                executemany(self.session, _change(fields), rows)
            executemany(self.session, _NEW_LEVELS, created)
        executemany(self.session, _LEDGER, entries)

    def book(
        self,
        store: str,
        reference: str,
        bookings: dict[str, Booking],
        *,
        device: str | None = None,
        mutation_id: int | None = None,
    ) -> None:
        """Change levels of one store by deltas, never below zero, with one ledger row per field for the change
        really made (`zero_on_hand` then sets on-hand to 0, a row of its own, "not_in_stock"). A level that is
        not there yet starts at zero."""
        found = self.lock(store, bookings)
        now = datetime.now(UTC)
        entries: list[dict] = []
        new: list[str] = []
        for sku, booking in bookings.items():
            level = found.get(sku)
            figures = dict(zip(FIELDS, level, strict=False)) if level else dict.fromkeys(FIELDS, 0)
            made = len(entries)
            zero = booking.zero_on_hand
            for field, delta in booking.deltas.items():
                before = figures[field]
                after = max(0, before + delta)
                if field == "on_hand" and zero:
                    after, zero = 0, False
                if after != before:
                    figures[field] = after
                    entries.append(
                        entry(store, sku, field, after - before, booking.reason, reference, now, device, mutation_id)
                    )
            if zero and figures["on_hand"]:
                entries.append(
                    entry(
                        store, sku, "on_hand", -figures["on_hand"], "not_in_stock", reference, now, device, mutation_id
                    )
                )
            if level is None and len(entries) > made:
                new.append(sku)
        self.write(store, entries, new=new, now=now)

    def reserve(
        self,
        store: str,
        wants: list[tuple[str, dict[str, int]]],
        reason: str,
        *,
        locked: dict[str, Level] | None = None,
        first_version: int | None = None,
    ) -> dict[str, str]:
        """Reserve units at one store for several references at once (a batch of orders; `wants` is
        [(reference, {sku: qty})]): one ledger row per reference and SKU, each level changed once. Returns
        each SKU's floor location. `locked`: what `lock` returned, when the caller locked the levels already
        (before it took the versions from `first_version` on, one per SKU)."""
        skus = {sku for _, wanted in wants for sku in wanted}
        found = self.lock(store, skus) if locked is None else locked
        now = datetime.now(UTC)
        entries = [
            entry(store, sku, "reserved", qty, reason, reference, now)
            for reference, wanted in wants
            for sku, qty in wanted.items()
        ]
        self.write(store, entries, new=[s for s in skus if s not in found], first_version=first_version, now=now)
        return {sku: found[sku].location if sku in found else "" for sku in skus}
