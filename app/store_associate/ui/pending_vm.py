"""View-model of "Waiting to send": pending actions, and the ones the server refused, with what to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..device.outbox import Entry
from ..device.runtime import Device
from .i18n import age, number, t


@dataclass(frozen=True)
class ActionRow:
    id: int
    status: str  # pending | rejected | orphaned
    title: str
    when: str
    reason: str  # why it was refused (empty while pending)
    advice: str  # what the person can do


def describe(e: Entry) -> str:
    a = e.args
    if e.name == "adjust_stock":
        sign = "+" if a.get("delta", 0) > 0 else ""
        return t(
            "action.adjust",
            sku=a.get("sku", "?"),
            delta=f"{sign}{a.get('delta', 0)}",
            reason=t(f"adjust.reason.{a.get('reason', 'correction')}"),
        )
    if e.name == "count_stock":
        return t("action.count", sku=a.get("sku", "?"), counted=number(a.get("counted", 0)))
    if "order" in a:
        return t("action.order", order=a["order"], step=t(f"step.{e.name}"))
    return t("action.other", name=e.name)


class PendingViewModel:
    def __init__(self, device: Device, clock=lambda: datetime.now(UTC)) -> None:  # noqa: ANN001
        self.device = device
        self.clock = clock

    def rows(self) -> list[ActionRow]:
        now = self.clock()
        out = []
        for e in self.device.outbox.entries():
            when = age(datetime.fromisoformat(e.created_at), now)
            if e.status == "pending":
                reason, advice = "", t("pending.advice.pending")
            elif e.status == "orphaned":
                reason, advice = t("pending.orphaned"), t("pending.advice.orphaned")
            else:
                reason = t(e.reason or "reject.malformed")
                if e.reason.startswith("order."):
                    advice = t("advice.order.refused")
                else:
                    advice = t(f"advice.{e.reason}") if e.reason else t("advice.reject.malformed")
            out.append(ActionRow(e.id, e.status, describe(e), when, reason, advice))
        return out

    def summary(self) -> str:
        s = self.device.status
        if not s.pending and not s.rejected:
            return t("pending.none")
        return t("pending.summary", pending=s.pending, rejected=s.rejected)

    def dismiss(self, local_id: int) -> None:
        self.device.dismiss(local_id)
