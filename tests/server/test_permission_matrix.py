"""Every route of the OpenAPI schema, called as every kind of principal: the expected refusals.

A route that is not in ROUTES below, or whose x-permission differs from the one written here, fails
the test: adding a route means deciding who may call it.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from store_associate.domain.permissions import Permission, Role, allowed

HOME, OTHER = "NYC-01", "BOS-01"

# (method, path) -> (permission as in the schema, store-scoped?, request: (path, params, json))
ROUTES: dict[tuple[str, str], tuple[str, bool, tuple[str, dict, dict | None]]] = {
    ("GET", "/health"): ("public", False, ("/health", {}, None)),
    ("POST", "/api/v1/auth/sign-in"): ("device", False, ("/api/v1/auth/sign-in", {}, "SIGN_IN")),
    ("POST", "/api/v1/auth/sign-out"): ("session", False, ("/api/v1/auth/sign-out", {}, None)),
    ("GET", "/api/v1/auth/me"): ("any", False, ("/api/v1/auth/me", {}, None)),
    ("POST", "/api/v1/devices/enrolment-codes"): (
        "devices.enrol",
        True,
        ("/api/v1/devices/enrolment-codes", {}, {"store": HOME, "kind": "tablet"}),
    ),
    ("POST", "/api/v1/devices/enrol"): ("public", False, ("/api/v1/devices/enrol", {}, {"code": "ZZZZ-ZZZZ"})),
    ("GET", "/api/v1/devices"): ("devices.manage", True, ("/api/v1/devices", {"store": HOME}, None)),
    ("POST", "/api/v1/devices/{device_id}/revoke"): (
        "devices.manage",
        False,
        ("/api/v1/devices/0000/revoke", {}, None),
    ),
    ("GET", "/api/v1/audit"): ("audit.read", True, ("/api/v1/audit", {"store": HOME}, None)),
    ("GET", "/api/v1/products/lookup"): ("catalog.read", False, ("/api/v1/products/lookup", {"code": "4011"}, None)),
    ("GET", "/api/v1/products/search"): ("catalog.read", False, ("/api/v1/products/search", {"q": "pasta"}, None)),
    ("GET", "/api/v1/products/{sku}"): ("catalog.read", False, ("/api/v1/products/100001", {}, None)),
    ("GET", "/api/v1/stores"): ("stores.read", False, ("/api/v1/stores", {}, None)),
    ("GET", "/api/v1/stores/{code}"): ("stores.read", False, (f"/api/v1/stores/{OTHER}", {}, None)),
    ("GET", "/api/v1/stores/{code}/pickup-window"): (
        "stores.read",
        False,
        (f"/api/v1/stores/{OTHER}/pickup-window", {}, None),
    ),
    ("POST", "/api/v1/stores/{code}/pickup-window"): (
        "stores.manage",
        True,
        (f"/api/v1/stores/{HOME}/pickup-window", {}, {"hours": None}),
    ),
    ("GET", "/api/v1/availability/{sku}"): (
        "stock.read",
        False,
        ("/api/v1/availability/100001", {"store": HOME}, None),
    ),
    ("GET", "/api/v1/sync/pull"): ("sync.pull", True, ("/api/v1/sync/pull", {"store": HOME, "limit": 5}, None)),
    ("POST", "/api/v1/sync/push"): ("sync.push", False, ("/api/v1/sync/push", {}, {"mutations": []})),
    ("GET", "/api/v1/sync/events"): ("sync.pull", True, ("/api/v1/sync/events", {"store": HOME, "seconds": 1}, None)),
    ("GET", "/api/v1/sync/status"): ("devices.manage", True, ("/api/v1/sync/status", {"store": HOME}, None)),
    ("POST", "/api/v1/orders"): ("order.intake", False, ("/api/v1/orders", {}, "ORDER")),
    ("GET", "/api/v1/orders"): ("orders.read", True, ("/api/v1/orders", {"store": HOME}, None)),
    ("POST", "/api/v1/orders/requests"): ("order_request.create", False, ("/api/v1/orders/requests", {}, "REQUEST")),
    ("GET", "/api/v1/orders/{number}"): ("orders.read", False, ("/api/v1/orders/SA-00000000", {}, None)),
    ("GET", "/api/v1/orders/{number}/events"): ("orders.read", False, ("/api/v1/orders/SA-00000000/events", {}, None)),
    ("GET", "/api/v1/transfers"): ("orders.read", True, ("/api/v1/transfers", {"store": HOME}, None)),
    ("POST", "/api/v1/sales"): ("sales.post", True, ("/api/v1/sales", {}, "SALE")),
    ("GET", "/api/v1/sales"): ("sales.read", False, ("/api/v1/sales", {"sku": "100001"}, None)),
    ("GET", "/api/v1/sales/{receipt}"): ("sales.read", False, ("/api/v1/sales/NYC01-000000-00-0000", {}, None)),
    ("GET", "/api/v1/returns/problems"): ("returns.approve", True, ("/api/v1/returns/problems", {"store": HOME}, None)),
    ("GET", "/api/v1/returns/{number}"): ("returns.create", False, ("/api/v1/returns/R-000000000000", {}, None)),
    ("GET", "/api/v1/balances/{code}"): ("customers.read", False, ("/api/v1/balances/SC-000000000000", {}, None)),
    ("GET", "/api/v1/payments/failed"): ("audit.read", True, ("/api/v1/payments/failed", {"store": HOME}, None)),
    ("POST", "/api/v1/transfers/{transfer_id}/ship"): (
        "transfers.ship",
        False,
        ("/api/v1/transfers/999999/ship", {}, {"carrier": "ups", "tracking": "1Z999AA10123456784"}),
    ),
}

PRINCIPALS = [
    "anonymous",
    "device",
    "kiosk",
    "associate",
    "manager",
    "admin",
    "web_shop",
    "till",
    "other_associate",
    "other_manager",
    "other_till",
]


@pytest.fixture(scope="module")
def principals(server) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "device": server.enrol(HOME),
        "kiosk": server.enrol(HOME, "kiosk"),
        "associate": server.sign_in("associate"),
        "manager": server.sign_in("manager"),
        "admin": _admin(server),
        "web_shop": {"X-Api-Key": server.examples["web_shop_key"]},
        "till": {"X-Api-Key": _till_key(server, HOME)},
        "other_associate": server.sign_in("associate", OTHER),
        "other_manager": server.sign_in("manager", OTHER),
        "other_till": {"X-Api-Key": _till_key(server, OTHER)},
    }


def _till_key(server, store: str) -> str:
    """A store till's key (access.create_api_key, as an operator makes one)."""
    from sqlmodel import Session

    from store_associate.server.access import create_api_key
    from store_associate.server.db import make_engine

    engine = make_engine(server.database_url)
    with Session(engine) as s:
        key = create_api_key(s, f"till {store}", role=Role.TILL, store=store)
        s.commit()
    engine.dispose()
    return key


def _admin(server) -> dict[str, str]:
    device = server.enrol(HOME)
    person = server.person("admin")
    r = httpx.post(
        f"{server.url}/api/v1/auth/sign-in",
        headers=device,
        json={"staff_number": person["staff_number"], "pin": person["pin"]},
    )
    r.raise_for_status()
    return {**device, "Authorization": f"Bearer {r.json()['session_token']}"}


def role_of(name: str) -> Role | None:
    return {
        "anonymous": None,
        "device": Role.DEVICE,
        "kiosk": Role.KIOSK,
        "associate": Role.ASSOCIATE,
        "manager": Role.MANAGER,
        "admin": Role.ADMIN,
        "web_shop": Role.WEB_SHOP,
        "till": Role.TILL,
        "other_associate": Role.ASSOCIATE,
        "other_manager": Role.MANAGER,
        "other_till": Role.TILL,
    }[name]


def expected(permission: str, scoped: bool, name: str) -> str:
    """'ok', 'unauthenticated' (401) or 'forbidden' (403)."""
    role = role_of(name)
    if permission == "public":
        return "ok"
    if permission == "device":  # sign-in (of a home-store associate): needs a device of that store, not a kiosk
        if role in (None, Role.WEB_SHOP, Role.TILL):  # a system key is no device
            return "unauthenticated"
        return "forbidden" if role is Role.KIOSK or name.startswith("other_") else "ok"
    if permission == "session":
        return "ok" if role in (Role.ASSOCIATE, Role.MANAGER, Role.ADMIN) else "unauthenticated"
    if permission == "any":
        return "unauthenticated" if role is None else "ok"
    if role is None:
        return "unauthenticated"
    if not allowed(role, Permission(permission)):
        return "forbidden"
    if scoped and name.startswith("other_"):
        return "forbidden"
    return "ok"


def test_every_route_is_in_the_matrix(server):
    schema = httpx.get(f"{server.url}/openapi.json").json()
    found = {}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            found[(method.upper(), path)] = op.get("x-permission")
    missing = sorted(set(found) - set(ROUTES))
    assert not missing, f"routes without a permission entry in this test: {missing}"
    stale = sorted(set(ROUTES) - set(found))
    assert not stale, f"entries for routes that no longer exist: {stale}"
    wrong = {k: (v, ROUTES[k][0]) for k, v in found.items() if v != ROUTES[k][0]}
    assert not wrong, f"x-permission differs (schema, test): {wrong}"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_refusals(server, principals, route):
    permission, scoped, (path, params, body) = ROUTES[route]
    method = route[0]
    failures = []
    for name in PRINCIPALS:
        headers = dict(principals[name])
        json_body = body
        if body == "SIGN_IN":
            person = server.person("associate")
            json_body = {"staff_number": person["staff_number"], "pin": person["pin"]}
            headers.pop("Authorization", None)
        if route == ("POST", "/api/v1/auth/sign-out"):
            headers = dict(principals[name])
        if body == "REQUEST":
            json_body = {"customer": {"name": "K", "email": "k@example.com"}, "lines": [{"sku": "100001", "qty": 1}]}
            headers["Idempotency-Key"] = f"request-{name}-{len(failures)}"
        if body == "ORDER":
            json_body = {
                "store": HOME,
                "customer": {"name": "M", "email": "m@example.com"},
                "lines": [{"sku": "100001", "qty": 1}],
            }
            headers["Idempotency-Key"] = f"matrix-{name}-{len(failures)}"
        if body == "SALE":  # a sale of the home store (another store's till is refused it: scoped)
            json_body = {
                "receipt": f"NYC01-MATRIX-{name.upper().replace('_', '-')}-{uuid.uuid4().hex[:6].upper()}",
                "store": HOME,
                "sold_at": "2026-12-01T10:00:00Z",
                "currency": "USD",
                "lines": [{"sku": "100001", "qty": 1, "unit_price": "1.00"}],
                "tenders": [{"kind": "cash", "amount": "1.00"}],
            }
        r = httpx.request(method, server.url + path, params=params, json=json_body, headers=headers, timeout=30)
        want = expected(permission, scoped, name)
        got = {401: "unauthenticated", 403: "forbidden"}.get(r.status_code, "ok")
        if r.status_code >= 500:
            got = f"server error {r.status_code}"
        if got != want:
            failures.append(f"{name}: expected {want}, got {r.status_code} {r.text[:120]}")
        if route == ("POST", "/api/v1/auth/sign-out") and got == "ok":
            principals[name] = _resign(server, name)
    assert not failures, failures


def _resign(server, name: str) -> dict[str, str]:
    if name == "admin":
        return _admin(server)
    role = name.removeprefix("other_")
    return server.sign_in(role, OTHER if name.startswith("other_") else HOME)
