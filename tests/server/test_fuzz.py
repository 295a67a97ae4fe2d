"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis): no 500, ever.

Cases come from schemathesis' strategies and run under hypothesis directly (its pytest plugin does
not support this pytest yet). Every operation is fuzzed as a manager, as a kiosk and anonymously,
with valid and invalid data.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 40


@pytest.fixture(scope="module")
def target(sqlite_server):
    return schemathesis.openapi.from_url(f"{sqlite_server.url}/openapi.json"), sqlite_server


def _fuzz(op, base_url: str, headers: dict, examples: int, mode: GenerationMode):
    @given(case=op.as_strategy(mode))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(base_url=base_url, headers=headers)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.text)
        if response.status_code >= 400:
            detail = response.json().get("detail", {})
            assert detail.get("error") and detail.get("message"), response.text

    return run


def test_every_operation_survives_fuzzing(target):
    schema, server = target
    principals = {
        "manager": server.sign_in("manager"),
        "kiosk": server.enrol(server.examples["store"], "kiosk"),
        "web_shop": {"X-Api-Key": server.examples["web_shop_key"]},
        "anonymous": {},
    }
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 15
    runs = 0
    for op in ops:
        for who, headers in principals.items():
            if op.path == "/api/v1/auth/sign-out" and who == "manager":
                continue  # it would end the session the rest of the run uses
            if who == "web_shop" and op.path != "/api/v1/orders":
                continue  # the key can do nothing else (the permission matrix shows that)
            if op.path == "/api/v1/sync/events" and who != "anonymous":
                continue  # an open event stream: its refusals are fuzzed anonymously, its data in tests/sync
            for mode in GenerationMode:  # valid requests, and requests that break the schema
                try:
                    _fuzz(op, server.url, headers, EXAMPLES if who in ("manager", "web_shop") else 10, mode)()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid ones
                    continue
                runs += 1
    assert runs >= 70
