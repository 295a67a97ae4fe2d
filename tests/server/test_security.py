"""Security properties of the running server: headers, CORS, size limits, nothing secret in its logs."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import start_server


def test_security_headers_on_every_answer(sqlite_server):
    for path in ("/health", "/api/v1/stores", "/api/v1/nope"):
        r = httpx.get(sqlite_server.url + path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in r.headers["content-security-policy"]
    docs = httpx.get(sqlite_server.url + "/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


def test_cors_only_for_the_apps_own_origins(sqlite_server):
    allowed = httpx.options(
        sqlite_server.url + "/api/v1/stores",
        headers={"Origin": "http://127.0.0.1:8550", "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://127.0.0.1:8550"
    foreign = httpx.options(
        sqlite_server.url + "/api/v1/stores",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in foreign.headers
    simple = httpx.get(sqlite_server.url + "/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_request_size_limit_without_content_length(sqlite_server):
    def chunks():
        for _ in range(40):
            yield b"x" * 50_000  # 2 MB in chunks, no Content-Length header

    r = httpx.post(
        sqlite_server.url + "/api/v1/devices/enrol", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


@dataclass
class LoggedRun:
    log: str
    secrets: dict[str, str]
    staff_number: str
    device_id: str


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory) -> LoggedRun:
    """A server run through enrolments and sign-ins, good and bad, asked to log at INFO; its whole log."""
    from tests.conftest import make_enrolment_code, seed_database

    url = f"sqlite:///{tmp_path_factory.mktemp('logged') / 'server.db'}"
    examples = seed_database(url, skus=50)
    server = start_server(url, examples, extra_env={"STORE_ASSOCIATE_LOG_LEVEL": "info"})
    try:
        code = make_enrolment_code(url, "NYC-01")
        enrolled = httpx.post(f"{server.url}/api/v1/devices/enrol", json={"code": code}).json()
        token = enrolled["device_token"]
        bad_code = "ZZZZ-9999"
        assert httpx.post(f"{server.url}/api/v1/devices/enrol", json={"code": bad_code}).status_code == 400
        person = next(p for p in examples["sign_ins"] if p["role"] == "manager")
        r = httpx.post(
            f"{server.url}/api/v1/auth/sign-in",
            headers={"X-Device-Token": token},
            json={"staff_number": person["staff_number"], "pin": person["pin"]},
        )
        session = r.json()["session_token"]
        wrong = httpx.post(
            f"{server.url}/api/v1/auth/sign-in",
            headers={"X-Device-Token": token},
            json={"staff_number": person["staff_number"], "pin": "000000"},
        )
        assert wrong.status_code == 401
        httpx.get(
            f"{server.url}/api/v1/stores", headers={"X-Device-Token": token, "Authorization": f"Bearer {session}"}
        )
    finally:
        server.stop()
    secrets = {
        "enrolment code": code,
        "bad enrolment code": bad_code,
        "device token": token,
        "session token": session,
        "PIN": f'"{person["pin"]}"',
        "wrong PIN": "000000",
    }
    return LoggedRun(server.log.read_text(errors="replace"), secrets, person["staff_number"], enrolled["device_id"])


def test_no_pins_tokens_or_codes_in_server_logs(logged_run):
    # What the routes log must be there, or "no secret in it" proves nothing. Refusals are warnings, which the
    # server logs at any level.
    assert f"sign_in refused: staff {logged_run.staff_number}, device {logged_run.device_id}" in logged_run.log
    assert "enrol refused: staff -, device -" in logged_run.log
    for what, secret in logged_run.secrets.items():
        assert secret not in logged_run.log, what


def test_at_info_the_log_has_the_good_events_too_and_still_no_secret(logged_run):
    assert f"enrol ok: staff -, device {logged_run.device_id}, store NYC-01" in logged_run.log
    assert f"sign_in ok: staff {logged_run.staff_number}, device {logged_run.device_id}" in logged_run.log
    for what, secret in logged_run.secrets.items():
        assert secret not in logged_run.log, what
