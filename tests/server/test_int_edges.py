"""Every integer the API takes, at its edges, against a real server (SQLite and PostgreSQL): no 5xx, the error
shape, nothing changed.

The integers are found in the server's own /openapi.json (query and path parameters, and body fields, through
$refs, arrays and nullable unions), so a new integer is covered the day it is added; each needs a baseline
here (a request that is valid apart from the integer, sent by a principal allowed to make it), or the test
fails and says which. For each integer the values sent are the schema's edges (minimum - 1, minimum, maximum,
maximum + 1), the database's (2**63 - 1, 2**63, -2**63, -2**63 - 1), 0 and -1, an integral JSON number
written as a float (159.0: an integer to JSON Schema) and one that is not integral (159.5).

Values inside the declared range must pass validation (the schema says they are valid); values outside it, or
not integers, are refused with 422 in the usual {"detail": {"error", "message"}} shape, change nothing the
store can see, and leave the connection open.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DB_EDGES = (INT64_MAX, INT64_MAX + 1, INT64_MIN, INT64_MIN - 1, 0, -1)


@dataclass
class IntegerInput:
    method: str
    path: str
    location: str  # query, path or body
    pointer: tuple  # the parameter's name, or the body field's keys (0 for an array's item)
    schema: dict

    @property
    def operation(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def __str__(self) -> str:
        return f"{self.operation} {self.location}:{'.'.join(map(str, self.pointer))}"


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _integers_in(spec: dict, schema: dict, pointer: tuple, seen: frozenset = frozenset()) -> Iterator[tuple]:
    ref = schema.get("$ref")
    if ref in seen:
        return
    schema = _resolve(spec, schema)
    seen = seen | {ref} if ref else seen
    if schema.get("type") == "integer":
        yield pointer, schema
    for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())):
        yield from _integers_in(spec, branch, pointer, seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _integers_in(spec, sub, (*pointer, name), seen)
    if "items" in schema:
        yield from _integers_in(spec, schema["items"], (*pointer, 0), seen)


def integer_inputs(spec: dict) -> list[IntegerInput]:
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", ()):
                for _, schema in _integers_in(spec, param.get("schema", {}), ()):
                    found.append(IntegerInput(method, path, param["in"], (param["name"],), schema))
            for media in op.get("requestBody", {}).get("content", {}).values():
                for pointer, schema in _integers_in(spec, media.get("schema", {}), ()):
                    found.append(IntegerInput(method, path, "body", pointer, schema))
    return found


@dataclass
class Request:
    """A request that is valid apart from the integer under test."""

    who: str
    path: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: Any = None
    headers: dict = field(default_factory=dict)
    stream: bool = False


def _mutation(mid: int = 1) -> dict:
    # An adjustment of a SKU no store has: a push that reaches the database, whose step is then rejected
    # (consumed and reported), so an accepted id changes no stock.
    return {
        "id": mid,
        "name": "adjust_stock",
        "version": 1,
        "created_at": "2026-01-01T00:00:00Z",
        "args": {"sku": "NO-SUCH-SKU-0", "delta": 1, "reason": "found"},
    }


def baselines(ex: dict) -> dict[str, Callable[[], Request]]:
    store, sku = ex["store"], ex["in_stock_here"]["sku"]
    customer = {"name": "Edge Case", "email": "edges@example.com"}
    return {
        "GET /api/v1/audit": lambda: Request("manager", query={"store": store}),
        "GET /api/v1/products/search": lambda: Request("associate", query={"q": "ab"}),
        "GET /api/v1/availability/{sku}": lambda: Request("associate", path={"sku": sku}, query={"store": store}),
        "GET /api/v1/orders": lambda: Request("manager", query={"store": store}),
        "GET /api/v1/payments/failed": lambda: Request("manager", query={"store": store}),
        "GET /api/v1/returns/problems": lambda: Request("manager", query={"store": store}),
        "GET /api/v1/transfers": lambda: Request("manager", query={"store": store}),
        # An unknown carrier: the transfer is looked up (the integer reaches the database), then the request
        # is refused, so an existing transfer is not shipped by this test.
        "POST /api/v1/transfers/{transfer_id}/ship": lambda: Request(
            "manager", path={"transfer_id": 1}, body={"carrier": "zz", "tracking": "EDGE0001"}
        ),
        "GET /api/v1/sync/pull": lambda: Request("associate", query={"store": store, "format": "columns"}),
        "GET /api/v1/sync/events": lambda: Request("associate", query={"store": store}, stream=True),
        "POST /api/v1/sync/push": lambda: Request("device", body={"mutations": [_mutation()], "pending": 0}),
        "POST /api/v1/devices/enrolment-codes": lambda: Request(
            "manager", body={"store": store, "kind": "tablet", "valid_minutes": 60}
        ),
        "POST /api/v1/stores/{code}/pickup-window": lambda: Request(
            "manager", path={"code": store}, body={"hours": None}
        ),
        "POST /api/v1/orders": lambda: Request(
            "web_shop",
            body={"store": store, "customer": customer, "lines": [{"sku": sku, "qty": 1}]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        # A code nobody issued: the request is read and refused (400), no device is made.
        "POST /api/v1/devices/enrol": lambda: Request(
            "anonymous", body={"code": "NOPE-0000", "name": "edges", "enrolment_id": "e" * 16, "attempt": 1}
        ),
        "POST /api/v1/orders/requests": lambda: Request(
            "kiosk",
            body={"customer": customer, "lines": [{"sku": sku, "qty": 1}]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        "GET /api/v1/sales": lambda: Request("associate", query={"sku": sku}),
        # A sale in a currency the store does not sell in: read, checked and refused (sales.wrong_currency), so
        # no sale is recorded by this test.
        "POST /api/v1/sales": lambda: Request(
            "till",
            body={
                "receipt": f"EDGE-{uuid.uuid4().hex[:12].upper()}",
                "store": store,
                "sold_at": "2026-01-01T00:00:00Z",
                "currency": "XTS",
                "lines": [{"line_no": 1, "sku": sku, "qty": 1, "unit_price": "1.00"}],
                "tenders": [{"kind": "cash", "amount": "1.00"}],
            },
        ),
    }


def _set(body: Any, pointer: tuple, value: Any) -> None:
    for key in pointer[:-1]:
        body = body[key]
    body[pointer[-1]] = value


def edge_values(schema: dict, location: str) -> list[tuple[Any, bool]]:
    """(value, valid) pairs: valid when inside the declared range, a float that is integral counting as its
    integer. In a JSON body, true and a string of digits are not integers (in a query or a path all is text)."""
    low, high = schema.get("minimum", INT64_MIN), schema.get("maximum", INT64_MAX)
    values: list[tuple[Any, bool]] = [(v, low <= v <= high) for v in (low - 1, low, high, high + 1, *DB_EDGES)]
    for v in (low, high):
        if abs(v) < 2**53:  # exactly representable: 159.0 is 159
            values += [(float(v), True), (v + 0.5, False)]
    if location == "body":
        values += [(True, False), (str(low), False)]
    # (1 == 1.0 == True: duplicates are told apart by their type too)
    return list({(type(v), v): (v, ok) for v, ok in values}.values())


@pytest.fixture(scope="module")
def api(server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    ex = server.examples
    principals = {
        "manager": server.sign_in("manager"),
        "associate": server.sign_in("associate"),
        # A device nobody is signed in on: its pushes are its own, and it pushes as itself.
        "device": server.enrol(ex["store"], "tablet"),
        "kiosk": server.enrol(ex["store"], "kiosk"),
        "web_shop": {"X-Api-Key": ex["web_shop_key"]},
        "till": {"X-Api-Key": _till_key(server.database_url, ex["store"])},
        "anonymous": {},
    }
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield spec, principals, client, ex


def _till_key(database_url: str, store: str) -> str:
    from sqlmodel import Session

    from store_associate.domain.permissions import Role
    from store_associate.server.access import create_api_key
    from store_associate.server.db import make_engine

    engine = make_engine(database_url)
    with Session(engine) as s:
        key = create_api_key(s, "till (edges)", role=Role.TILL, store=store)
        s.commit()
    engine.dispose()
    return key


def _snapshot(client: httpx.Client, principals: dict, store: str) -> tuple:
    """What a refused request must not change: the store's newest order, audit entry and transfer, its
    pickup window, and what the pushing device has had applied."""
    manager = principals["manager"]
    orders = client.get("/api/v1/orders", params={"store": store, "limit": 1}, headers=manager).json()
    audit = client.get("/api/v1/audit", params={"store": store, "limit": 1}, headers=manager).json()
    transfers = client.get("/api/v1/transfers", params={"store": store, "limit": 5}, headers=manager).json()
    window = client.get(f"/api/v1/stores/{store}/pickup-window", headers=manager).json()
    pulled = client.get(
        "/api/v1/sync/pull", params={"store": store, "cursor": 2**62, "limit": 1}, headers=principals["device"]
    ).json()
    return orders, audit, transfers, window, pulled["last_applied"]


def _send(client: httpx.Client, req: Request, headers: dict, path: str) -> httpx.Response:
    url = path.format(**req.path)
    if not req.stream:
        return client.request(
            "POST" if req.body is not None else "GET",
            url,
            params=req.query,
            json=req.body,
            headers={**headers, **req.headers},
        )
    # An event stream that opens stays open: its status and headers are all this needs.
    with client.stream("GET", url, params=req.query, headers={**headers, **req.headers}) as response:
        body = response.read() if response.status_code >= 400 else b""
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def test_every_integer_input_is_bounded_to_what_the_database_holds(api):
    spec, _, _, _ = api
    unbounded = [
        str(i)
        for i in integer_inputs(spec)
        if not INT64_MIN
        <= i.schema.get("minimum", INT64_MIN - 1)
        <= i.schema.get("maximum", INT64_MAX + 1)
        <= INT64_MAX
    ]
    assert not unbounded, f"integers without a minimum and maximum within 64 bits: {unbounded}"


def test_every_integer_input_at_its_edges(api):
    spec, principals, client, ex = api
    inputs = integer_inputs(spec)
    base = baselines(ex)
    assert len(inputs) >= 12, [str(i) for i in inputs]
    missing = sorted({i.operation for i in inputs} - set(base))
    assert not missing, f"integer inputs without a baseline request in this test: {missing}"
    store = ex["store"]
    failures: list[str] = []
    sent = 0
    for target in inputs:
        for value, valid in edge_values(target.schema, target.location):
            req = base[target.operation]()
            if target.location == "path":
                req.path[target.pointer[0]] = value
            elif target.location == "query":
                req.query[target.pointer[0]] = value
            else:
                _set(req.body, target.pointer, value)
            try:
                before = None if valid else _snapshot(client, principals, store)
                response = _send(client, req, principals[req.who], target.path)
            except httpx.TransportError as exc:  # the server dropped the connection the request came on
                failures.append(f"connection lost: {target} = {value!r}: {exc!r}")
                continue
            sent += 1
            label = f"{target} = {value!r}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 500:
                failures.append(f"server error: {label}")
                continue
            if response.headers.get("connection", "").lower() == "close":
                failures.append(f"connection closed: {label}")
            if response.status_code >= 400:
                detail = response.json().get("detail")
                if not (isinstance(detail, dict) and detail.get("error") and detail.get("message")):
                    failures.append(f"error shape: {label}")
                    continue
            invalid = response.status_code == 422 and response.json()["detail"]["error"] == "request.invalid"
            if valid and invalid:
                failures.append(f"a value the schema allows was refused: {label}")
            if not valid:
                if not invalid:
                    failures.append(f"a value outside the schema was not refused with 422: {label}")
                elif _snapshot(client, principals, store) != before:
                    failures.append(f"a refused request changed something: {label}")
    # The pickup window was set to edge values: put the chain's back for the tests that share the server.
    client.post(f"/api/v1/stores/{store}/pickup-window", json={"hours": None}, headers=principals["manager"])
    assert sent >= 12 * 10
    assert not failures, "\n".join(failures)
