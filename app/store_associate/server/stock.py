"""Stock levels changed by orders and transfers: every change is a ledger row beside the level it changes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from ..domain.inventory import available_to_promise
from .crud import next_versions
from .models import InventoryLevel, InventoryMovement


def level_for_update(session: Session, store: str, sku: str) -> InventoryLevel:
    level = session.execute(select(InventoryLevel).where(InventoryLevel.store_code == store,
                                                         InventoryLevel.sku == sku).with_for_update()
                            ).scalar_one_or_none()
    if level is None:
        level = InventoryLevel(store_code=store, sku=sku)
        session.add(level)
    return level


def available(session: Session, store: str, sku: str) -> int:
    level = session.execute(select(InventoryLevel).where(InventoryLevel.store_code == store,
                                                         InventoryLevel.sku == sku)).scalar_one_or_none()
    return available_to_promise(level.on_hand, level.reserved, level.safety_stock) if level else 0


def book(session: Session, store: str, sku: str, reference: str, reason: str, *, device: str | None = None,
         mutation_id: int | None = None, zero_on_hand: bool = False, **deltas: int) -> None:
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
            session.add(InventoryMovement(store_code=store, sku=sku, field_name=field, delta=after - before,
                                          reason=reason, reference=reference, device_id=device,
                                          mutation_id=mutation_id))
            changed = True
    if zero_on_hand and level.on_hand:
        session.add(InventoryMovement(store_code=store, sku=sku, field_name="on_hand", delta=-level.on_hand,
                                      reason="not_in_stock", reference=reference, device_id=device,
                                      mutation_id=mutation_id))
        level.on_hand, changed = 0, True
    if changed:
        level.updated_at, level.version = datetime.now(UTC), next_versions(session, 1)


def reserve_many(session: Session, store: str, wanted: dict[str, int], reference: str, reason: str,
                 first_version: int) -> dict[str, InventoryLevel]:
    """Reserve units of several SKUs at once (order intake): the levels are locked with one query and take
    consecutive versions from `first_version`, one ledger row each. Returns the levels by SKU."""
    levels = {lv.sku: lv for lv in session.execute(
        select(InventoryLevel).where(InventoryLevel.store_code == store, InventoryLevel.sku.in_(list(wanted)))
        .with_for_update()).scalars()}
    now = datetime.now(UTC)
    for i, (sku, qty) in enumerate(wanted.items()):
        level = levels.get(sku)
        if level is None:
            level = levels[sku] = InventoryLevel(store_code=store, sku=sku)
            session.add(level)
        level.reserved = (level.reserved or 0) + qty
        level.updated_at, level.version = now, first_version + i
        session.add(InventoryMovement(store_code=store, sku=sku, field_name="reserved", delta=qty, reason=reason,
                                      reference=reference))
    return levels
