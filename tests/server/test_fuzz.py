"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis), with all of its checks.

Cases come from schemathesis' strategies and run under hypothesis directly (its pytest plugin does not
support this pytest yet); each response goes through `case.validate_response`, which runs every check
schemathesis has (the default set: none is left out here). So beyond "no 500" the API must answer what its
OpenAPI says: a documented status, the documented content type and body (the one ErrorOut shape for every
error), schema-valid data accepted, schema-invalid data refused, and credentials enforced where declared.

Three of the checks judge sequences of requests rather than one answer, and find nothing to judge here: they
run on every case, but schemathesis feeds them only from its stateful phase (operations linked in the OpenAPI)
and from identities configured as its auth peers. use_after_free needs a DELETE (the API has none: revoking a
device is a POST that keeps it readable), ensure_resource_availability a create linked to a read, and
object_level_authorization peers' objects to replay; whether one store's principal can read another store's
data is tested directly in test_permission_matrix and the store-scoping tests. max_response_time is off: no
timing asserts.

Every operation is fuzzed as each principal the API knows: admin, manager, associate, a device with nobody
signed in, a kiosk, the web shop's key, and anonymously, with valid and invalid data. A principal that may
not call an operation (see domain/permissions) is fuzzed with fewer examples: its answers are refusals.
"""

from __future__ import annotations

import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from store_associate.domain.permissions import Permission, Role, allowed

# Examples per operation, principal and mode (valid, invalid). The data is fuzzed in depth once per operation,
# by the first principal that may call it; the others that may call it repeat it more briefly (their scope and
# answers differ, the generated data does not), and those that may not get a few: their answers are refusals.
DEPTH_EXAMPLES = 20
ALLOWED_EXAMPLES = 5
REFUSED_EXAMPLES = 2

# Valid data (as the schema says) that the API refuses for a reason no JSON Schema can state: a code whose
# check digit is wrong (400), a blank search (400), an enrolment code that does not exist (400), a SKU not in
# the catalogue or a store that hands over no orders (422 at intake), a tracking number that does not fit the
# carrier (422), mutation ids that are not increasing (422), a pickup window on a warehouse (422), PINs
# wrong too often (423), and a busy intake (503). positive_data_acceptance takes these statuses on these
# operations only; `no_request_invalid_for_valid_data` below still fails any of them answering request.invalid,
# the error of a request that does not fit the schema.
BUSINESS_STATUSES = {
    "/api/v1/products/lookup": ["400"],
    "/api/v1/products/search": ["400"],
    "/api/v1/devices/enrol": ["400"],
    "/api/v1/auth/sign-in": ["423"],
    "/api/v1/orders": ["422", "503"],
    "/api/v1/orders/requests": ["422", "503"],
    "/api/v1/transfers/{transfer_id}/ship": ["422"],
    "/api/v1/sync/push": ["422"],
    "/api/v1/stores/{code}/pickup-window": ["422"],
}
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
NEGATIVE_DEFAULT = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            # Credentials come from the principals below, as real ones: generated ones would be replaced by them,
            # and a case whose invalid part was its credential would reach the server valid.
            "generation": {"with-security-parameters": False},
            "operations": [
                {
                    "include-path": path,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_DEFAULT, *extra]}},
                }
                for path, extra in BUSINESS_STATUSES.items()
            ]
            + [
                # A device locked after wrong PINs answers 423 to any sign-in, before it reads the body.
                {
                    "include-path": "/api/v1/auth/sign-in",
                    "checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_DEFAULT, "423"]}},
                },
            ],
        }
    )


def error_shape(ctx, response, case) -> None:  # noqa: ANN001 - schemathesis' check signature
    """Every error answers {"detail": {"error", "message"}} (response_schema_conformance checks it against the
    OpenAPI's ErrorOut too; this says it in the project's words, and for undocumented statuses as well)."""
    if response.status_code >= 400:
        detail = response.json().get("detail", {})
        assert isinstance(detail, dict) and detail.get("error") and detail.get("message"), response.text


def no_request_invalid_for_valid_data(ctx, response, case) -> None:  # noqa: ANN001
    """Data the schema calls valid never gets the answer to data that does not fit it."""
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 422:
        error = response.json()["detail"]["error"]
        assert error != "request.invalid", f"schema-valid data refused as invalid: {response.text}"


def _permission(op) -> str:  # noqa: ANN001
    return op.definition.raw.get("x-permission", "public")


def _may_call(role: Role | None, permission: str) -> bool:
    if permission == "public":
        return True
    if role is None:
        return False
    if permission in {p.value for p in Permission}:
        return allowed(role, Permission(permission))
    return role is not Role.WEB_SHOP  # device, session, any: an enrolled device (and a person on it)


@pytest.fixture(scope="module")
def target(sqlite_server):
    return schemathesis.openapi.from_url(f"{sqlite_server.url}/openapi.json", config=_config()), sqlite_server


def _fuzz(op, base_url: str, headers: dict, examples: int, mode: GenerationMode, tally: dict):  # noqa: ANN001
    @given(case=op.as_strategy(mode))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):  # noqa: ANN001, ANN202
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        tally["cases"] += 1
        tally["statuses"][response.status_code] = tally["statuses"].get(response.status_code, 0) + 1
        # Every check schemathesis has, and the two above.
        case.validate_response(
            response,
            headers=headers,
            transport_kwargs={"base_url": base_url, "headers": headers},
            additional_checks=[error_shape, no_request_invalid_for_valid_data],
        )

    return run


def test_openapi_documents_every_error_with_one_shape(target):
    """The statuses a route gives are in its OpenAPI with ErrorOut; FastAPI's own HTTPValidationError is gone."""
    schema, _ = target
    spec = schema.raw_schema
    assert "HTTPValidationError" not in str(spec)
    error_out = spec["components"]["schemas"]["ErrorOut"]
    assert error_out["required"] == ["detail"]
    assert spec["components"]["schemas"]["ErrorDetail"]["required"] == ["error", "message"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            errors = {s for s in responses if s.startswith("4")}
            for status in errors:
                assert responses[status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }, (method, path, status)
            if op.get("x-permission", "public") != "public":
                assert "401" in errors, (method, path)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in errors, (method, path)
            if op.get("requestBody"):
                assert "413" in errors, (method, path)
    assert {"400", "409", "423"} <= {
        s for ops in spec["paths"].values() for op in ops.values() for s in op["responses"]
    }


def test_a_body_that_cannot_be_read_is_request_invalid(target):
    """Not UTF-8: FastAPI's own 400 ("There was an error parsing the body") answers like any invalid body."""
    _, server = target
    r = httpx.post(
        f"{server.url}/api/v1/devices/enrol",
        content=b'{"code": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["error"] == "request.invalid" and r.json()["detail"]["message"]


def test_every_operation_answers_what_its_openapi_says(target):
    schema, server = target
    started = time.monotonic()
    store = server.examples["store"]
    principals: dict[str, tuple[Role | None, dict]] = {
        "admin": (Role.ADMIN, server.sign_in("admin")),
        "manager": (Role.MANAGER, server.sign_in("manager")),
        "associate": (Role.ASSOCIATE, server.sign_in("associate")),
        "device": (Role.DEVICE, server.enrol(store, "tablet")),
        "kiosk": (Role.KIOSK, server.enrol(store, "kiosk")),
        "web_shop": (Role.WEB_SHOP, {"X-Api-Key": server.examples["web_shop_key"]}),
        "anonymous": (None, {}),
    }
    # Signing out last: it ends the session the principal's other operations use.
    ops = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: op.path == "/api/v1/auth/sign-out"
    )
    assert len(ops) >= 25
    tally = {"cases": 0, "runs": 0, "statuses": {}}
    failures: list[str] = []
    slow: dict[str, float] = {}
    in_depth: set[str] = set()
    for who, (role, headers) in principals.items():
        for op in ops:
            may = _may_call(role, _permission(op))
            examples = REFUSED_EXAMPLES
            if may:
                examples = ALLOWED_EXAMPLES if op.label in in_depth else DEPTH_EXAMPLES
                in_depth.add(op.label)
            if op.path == "/api/v1/sync/events" and may:
                continue  # an open event stream never ends a case: its refusals are fuzzed, its data in tests/sync
            # Valid requests, and requests that break the schema. Invalid data from a principal that may not call
            # the operation is sent anonymously only: for the others it meets the same refusal.
            modes = list(GenerationMode) if may or who == "anonymous" else [GenerationMode.POSITIVE]
            for mode in modes:
                began = time.monotonic()
                try:
                    _fuzz(op, server.url, headers, examples, mode, tally)()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid ones
                    continue
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all failures, reported together
                    failures.append(f"--- {who}, {op.label}, {mode.value}:\n{str(exc)[:1500]}")
                finally:
                    slow[f"{who} {op.label} {mode.value}"] = time.monotonic() - began
                tally["runs"] += 1
    seconds = time.monotonic() - started
    print(
        f"\nschemathesis: {len(ops)} operations x {len(principals)} principals, {tally['runs']} runs, "
        f"{tally['cases']} cases, {seconds:.0f} s; statuses {dict(sorted(tally['statuses'].items()))}"
    )
    print("slowest:", ", ".join(f"{k} {v:.1f} s" for k, v in sorted(slow.items(), key=lambda kv: -kv[1])[:8]))
    assert not failures, "\n".join(failures)
    assert tally["runs"] >= 200, tally
