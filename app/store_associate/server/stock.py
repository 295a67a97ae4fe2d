"""Stock levels changed by orders and transfers: every change is a ledger row beside the level it changes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from ..domain.inventory import available_to_promise
from .crud import next_versions
from .models import InventoryLevel, InventoryMovement


def level_for_update(session: Session, store: str, sku: str) -> InventoryLevel:
    level = session.execute(
        select(InventoryLevel).where(InventoryLevel.store_code == store, InventoryLevel.sku == sku).with_for_update()
    ).scalar_one_or_none()
    if level is None:
        level = InventoryLevel(store_code=store, sku=sku)
        session.add(level)
    return level


def available(session: Session, store: str, sku: str) -> int:
    level = session.execute(
        select(InventoryLevel).where(InventoryLevel.store_code == store, InventoryLevel.sku == sku)
    ).scalar_one_or_none()
    return available_to_promise(level.on_hand, level.reserved, level.safety_stock) if level else 0


def book(
    session: Session,
    store: str,
    sku: str,
    reference: str,
    reason: str,
    *,
    device: str | None = None,
    mutation_id: int | None = None,
    zero_on_hand: bool = False,
    **deltas: int,
) -> None:
    """Change a level by deltas (on_hand=, reserved=, incoming=; never below zero) and write one ledger row
    per field with the change really made. `zero_on_hand` then sets on-hand to 0 (found not in stock).

    Ledger rows carry the device's mutation only for the device's own store: the ledger's uniqueness per
    (device, mutation, SKU, field) is what proves a mutation was applied once."""
    level = level_for_update(session, store, sku)
    changed = False
    for field, delta in deltas.items():
        before = getattr(level, field) or 0
        after = max(0, before + delta)
        if field == "on_hand" and zero_on_hand:
            after, zero_on_hand = 0, False
        if after != before:
            setattr(level, field, after)
            session.add(
                InventoryMovement(
                    store_code=store,
                    sku=sku,
                    field_name=field,
                    delta=after - before,
                    reason=reason,
                    reference=reference,
                    device_id=device,
                    mutation_id=mutation_id,
                )
            )
            changed = True
    if zero_on_hand and level.on_hand:
        session.add(
            InventoryMovement(
                store_code=store,
                sku=sku,
                field_name="on_hand",
                delta=-level.on_hand,
                reason="not_in_stock",
                reference=reference,
                device_id=device,
                mutation_id=mutation_id,
            )
        )
        level.on_hand, changed = 0, True
    if changed:
        level.updated_at, level.version = datetime.now(UTC), next_versions(session, 1)


_LOCK_LEVELS = (
    select(InventoryLevel.sku, InventoryLevel.location)
    .where(InventoryLevel.store_code == bindparam("store"), InventoryLevel.sku.in_(bindparam("skus", expanding=True)))
    .order_by(InventoryLevel.sku)
    .with_for_update()
)  # in SKU order: two writers lock in the same order
_NEW_LEVELS = insert(InventoryLevel.__table__)
_LEVEL = InventoryLevel.__table__.c
_RESERVE = (
    update(InventoryLevel.__table__)
    .where(_LEVEL.store_code == bindparam("s"), _LEVEL.sku == bindparam("k"))
    .values(reserved=_LEVEL.reserved + bindparam("q"), version=bindparam("v"), updated_at=bindparam("t"))
)
_LEDGER = insert(InventoryMovement.__table__)


def lock_levels(session: Session, store: str, skus: set[str] | list[str]) -> dict[str, str]:
    """Lock the store's levels of these SKUs (in SKU order) for a reservation; returns the floor location of
    each that exists. Writers lock levels before they take versions (crud.next_versions)."""
    return dict(session.execute(_LOCK_LEVELS, {"store": store, "skus": sorted(skus)}).all())


def reserve_batch(
    session: Session,
    store: str,
    wants: list[tuple[str, dict[str, int]]],
    reason: str,
    first_version: int,
    locked: dict[str, str] | None = None,
) -> dict[str, str]:
    """Reserve units at one store for several references at once (a batch of orders; `wants` is
    [(reference, {sku: qty})]). The levels are locked with one query and each is changed once, in one
    executemany, taking consecutive versions from `first_version` in SKU order (one per SKU); one ledger row
    per reference and SKU. Returns each SKU's floor location. `locked`: what lock_levels returned, when the
    caller locked them already. Core statements built once: this runs for every web-shop order."""
    totals: dict[str, int] = {}
    for _, wanted in wants:
        for sku, qty in wanted.items():
            totals[sku] = totals.get(sku, 0) + qty
    skus = sorted(totals)
    found = lock_levels(session, store, skus) if locked is None else locked
    now = datetime.now(UTC)
    params = [{"s": store, "k": sku, "q": totals[sku], "v": first_version + i, "t": now} for i, sku in enumerate(skus)]
    missing = [p for p in params if p["k"] not in found]
    if missing:  # never stocked here: the level starts now, at zero on hand
        session.execute(
            _NEW_LEVELS,
            [
                {
                    "store_code": store,
                    "sku": p["k"],
                    "on_hand": 0,
                    "reserved": 0,
                    "safety_stock": 0,
                    "incoming": 0,
                    "damaged": 0,
                    "location": "",
                    "updated_at": now,
                    "version": p["v"],
                }
                for p in missing
            ],
        )
    session.execute(_RESERVE, params)
    session.execute(
        _LEDGER,
        [
            {
                "store_code": store,
                "sku": sku,
                "field": "reserved",
                "delta": qty,
                "reason": reason,
                "reference": reference,
                "device_id": None,
                "mutation_id": None,
                "created_at": now,
            }
            for reference, wanted in wants
            for sku, qty in wanted.items()
        ],
    )
    return {sku: found.get(sku) or "" for sku in skus}


def reserve_many(
    session: Session, store: str, wanted: dict[str, int], reference: str, reason: str, first_version: int
) -> dict[str, str]:
    """reserve_batch for one reference: versions from `first_version`, one per SKU."""
    return reserve_batch(session, store, [(reference, wanted)], reason, first_version)
