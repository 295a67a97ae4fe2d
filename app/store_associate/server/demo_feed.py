"""The demo's shoppers and warehouse: web-shop orders arrive over time (through the real intake API, with
the web shop's key), and parcels for ship-to-store orders leave the warehouse a little later with a
carrier and a tracking number. Only `store-associate demo` runs it."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from ..domain.inventory import available_to_promise
from .handlers import ship_transfer
from .models import InventoryLevel, Transfer
from .periodic import Periodic
from .uow import UnitOfWork

SHOPPERS = ["Jamie Rivera", "Noor Haddad", "Chris Okafor", "Ana Silva", "Lee Chen", "Sasha Kowalski", "Omar Patel"]


class DemoFeed(Periodic):
    def __init__(
        self, uow: UnitOfWork, api_url: str, web_shop_key: str, store: str, every: float = 60.0, seed: int = 7
    ) -> None:
        self.uow, self.api_url, self.key, self.store = uow, api_url, web_shop_key, store
        self.rng = random.Random(seed)
        self.rounds = 0
        super().__init__("demo-feed", self._round, every)

    def _round(self) -> None:
        for _ in range(3 if self.rounds == 0 else 1):  # a queue to work on from the first minute
            self.place_order()
        self.ship_waiting()
        self.rounds += 1

    def _stocked(self) -> list[str]:
        with self.uow as uow:
            rows = uow.session.execute(
                select(
                    InventoryLevel.sku, InventoryLevel.on_hand, InventoryLevel.reserved, InventoryLevel.safety_stock
                ).where(InventoryLevel.store_code == self.store)
            ).all()
        return [sku for sku, on_hand, reserved, safety in rows if available_to_promise(on_hand, reserved, safety) >= 3]

    def place_order(self) -> str | None:
        skus = self._stocked()
        if len(skus) < 4:
            return None
        picked = self.rng.sample(skus, self.rng.randint(1, 3))
        lines = [{"sku": s, "qty": self.rng.choice([1, 1, 1, 2])} for s in picked]
        if self.rng.random() < 0.3:
            lines[0]["substitute"] = self.rng.choice([s for s in skus if s not in picked])
        body = {
            "store": self.store,
            "fulfilment": "ship_to_store" if self.rng.random() < 0.15 else "pickup",
            "customer": {"name": self.rng.choice(SHOPPERS), "email": "shopper@example.com"},
            "lines": lines,
            "promised_at": (datetime.now(UTC) + timedelta(minutes=self.rng.choice([-10, 30, 60, 120]))).isoformat(),
            "id_check": self.rng.random() < 0.1,
        }
        r = httpx.post(
            f"{self.api_url}/api/v1/orders",
            json=body,
            timeout=10,
            headers={"X-Api-Key": self.key, "Idempotency-Key": uuid.uuid4().hex},
        )
        r.raise_for_status()
        return r.json()["number"]

    def ship_waiting(self) -> int:
        """The warehouse sends what was asked of it (UPS, with a tracking number that checks out), as a manager
        recording the shipment would (handlers.ship_transfer)."""
        shipped = 0
        with self.uow as uow:
            uow.changes.lock()  # before the transfers' rows, as every writer does
            for transfer in uow.session.execute(select(Transfer).where(Transfer.status == "requested")).scalars():
                tracking = "1Z" + "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(16))
                if ship_transfer(uow, transfer, "ups", tracking):
                    shipped += 1
            uow.commit()
        return shipped
