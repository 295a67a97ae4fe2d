"""Every sync command, sent in the name of every kind of person: the same permission table as the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from store_associate.domain.commands import COMMANDS
from store_associate.domain.permissions import Role, allowed

ARGS = {
    "adjust_stock": {"sku": "100070", "delta": 1, "reason": "found"},
    "count_stock": {"sku": "100070", "counted": 5, "seen_on_hand": 5},
    "acknowledge_order": {"order": "ORDER"},
    "pick_line": {"order": "ORDER", "line_no": 1, "qty": 1},
    "reject_line": {"order": "ORDER", "line_no": 1, "reason": "damaged"},
    "stage_order": {"order": "ORDER", "bin": "B-1"},
    "hand_over": {"order": "ORDER", "lines": [1]},
    "assign_order": {"order": "ORDER", "picker": ""},
    "substitute_line": {"order": "ORDER", "line_no": 1},
    "reroute_lines": {"order": "ORDER", "lines": [1], "to": "BOS-01"},
    "receive_line": {"order": "ORDER", "line_no": 1},
    "resend_ready": {"order": "ORDER"},
    # Returns: a receipt-less one of this device (the first allowed actor opens it; later steps meet its state).
    "open_return": {"return_id": "0000MATRXZ01", "customer_email": "m@example.com"},
    "return_lines": {
        "return_id": "0000MATRXZ01",
        "lines": [{"line_no": 1, "sku": "100071", "qty": 1, "condition": "new", "reason": "wrong_size"}],
    },
    "approve_return": {
        "return_id": "0000MATRXZ01",
        "approver": "1001",
        "reason": "goodwill",
        "note": "ok",
        "lines": [1],
    },
    "receive_return": {
        "return_id": "0000MATRXZ01",
        "lines": [{"line_no": 1, "qty": 1, "condition": "new", "disposition": "restock"}],
    },
    "refund_return": {"return_id": "0000MATRXZ01", "shown_total": "0"},
    "cancel_return": {"return_id": "0000MATRXZ01", "reason": "test"},
}
ACTORS = {
    "associate": ("associate", "NYC-01"),
    "manager": ("manager", "NYC-01"),
    "admin": ("admin", None),
    "other_store_associate": ("associate", "BOS-01"),
}


def test_every_command_has_a_case():
    assert {name for name, _ in COMMANDS} == set(ARGS)


@pytest.mark.parametrize("actor", list(ACTORS) + ["nobody", "unknown"])
@pytest.mark.parametrize("name", sorted(ARGS))
def test_command_permissions(server, actor, name):
    device = server.enrol("NYC-01")
    order = httpx.post(
        f"{server.url}/api/v1/orders",
        json={
            "store": "NYC-01",
            "customer": {"name": "M", "email": "m@example.com"},
            "lines": [{"sku": "100071", "qty": 1}],
        },
        headers={"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": uuid.uuid4().hex},
    ).json()
    args = {k: (order["number"] if v == "ORDER" else v) for k, v in ARGS[name].items()}
    if actor == "nobody":
        staff = None
    elif actor == "unknown":
        staff = "0000000"
    else:
        role, store = ACTORS[actor]
        staff = server.person(role, store)["staff_number"]
        if actor != "other_store_associate":  # (who cannot sign in on this store's devices at all)
            server.sign_in_on(device, role, store)
    r = httpx.post(
        f"{server.url}/api/v1/sync/push",
        headers=device,
        json={
            "mutations": [
                {
                    "id": 1,
                    "name": name,
                    "version": 1,
                    "args": args,
                    "staff_number": staff,
                    "created_at": datetime.now(UTC).isoformat(),
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    command = next(c for (n, _), c in COMMANDS.items() if n == name)
    may = actor in ACTORS and actor != "other_store_associate" and allowed(Role(ACTORS[actor][0]), command.permission)
    if may:
        # Allowed: applied, or refused by a business rule of the order's state, never "not allowed".
        assert result["reason"] != "reject.not_allowed", result
    else:
        assert (result["status"], result["reason"]) == ("rejected", "reject.not_allowed"), result
    # A kiosk sends no commands at all.
    kiosk = server.enrol("NYC-01", "kiosk")
    assert httpx.post(f"{server.url}/api/v1/sync/push", headers=kiosk, json={"mutations": []}).status_code == 403
