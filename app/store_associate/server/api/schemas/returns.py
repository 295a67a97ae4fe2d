"""Returns as the API shows them: one return (ReturnOut, the shape devices pull) and a store's problems."""

from __future__ import annotations

from pydantic import BaseModel


class ReturnProblemOut(BaseModel):
    """Something a manager must look at. `kind` (the i18n key returns.problem.<kind>): unit_already_returned (a
    refund refused: the units were refunded by another return meanwhile), total_differs (the refund's total is not
    what the device showed), decision_changed (the policy decided otherwise when the refund came), refund_failed
    (a balance or the payment provider refused its part)."""

    id: int
    return_number: str
    store: str
    kind: str
    detail: dict
    created_at: str | None
    resolved_at: str | None


class ReturnLineOut(BaseModel):
    line_no: int
    sale_line_no: int | None
    sku: str
    qty: int
    reason: str
    note: str
    condition: str
    disposition: str
    serial: str
    outcome: str
    approved: bool
    refund: str
    fee: str
    tax: str
    received_qty: int


class ReturnOut(BaseModel):
    """A return: status (domain/return_flow.ReturnStatus), the server's policy decision (money as decimal strings,
    explanations as i18n keys with their parameters), the approval, the refund's parts and open problems."""

    number: str
    store: str
    receipt: str | None
    gift_code: str
    rma: str
    channel: str
    status: str
    customer: dict | None
    currency: str
    rules_version: int
    decision: dict
    approved_by: str | None
    approval: dict
    created_by: str
    refund_total: str
    refund: list
    refunded_at: str | None
    created_at: str | None
    updated_at: str | None
    lines: list[ReturnLineOut]
    problems: list[ReturnProblemOut]
    version: int
