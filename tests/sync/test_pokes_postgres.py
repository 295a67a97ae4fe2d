"""Two server processes on one PostgreSQL database: a change through one pokes devices on the other
(LISTEN/NOTIFY)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import postgres_database, seed_database, start_server

pytestmark = pytest.mark.postgres


def test_poke_crosses_server_processes():
    with postgres_database() as url:
        examples = seed_database(url, skus=60)
        first, second = start_server(url, examples), start_server(url, examples)
        try:
            writer, listener = first.enrol("NYC-01"), second.enrol("NYC-01")
            staff = first.sign_in_on(writer, "associate")
            got = threading.Event()
            opened = threading.Event()

            def listen() -> None:
                with httpx.stream(
                    "GET",
                    f"{second.url}/api/v1/sync/events",
                    headers=listener,
                    params={"store": "NYC-01", "seconds": 60},
                    timeout=70,
                ) as r:
                    for line in r.iter_lines():
                        opened.set()  # the first line ("retry:") means the stream is subscribed
                        if line.startswith("event: changed"):
                            got.set()
                            return

            t = threading.Thread(target=listen, daemon=True)
            t.start()
            assert opened.wait(30)
            r = httpx.post(
                f"{first.url}/api/v1/sync/push",
                headers=writer,
                json={
                    "mutations": [
                        {
                            "id": 1,
                            "name": "adjust_stock",
                            "version": 1,
                            "staff_number": staff,
                            "args": {"sku": "100001", "delta": 1, "reason": "found"},
                            "created_at": datetime.now(UTC).isoformat(),
                        }
                    ]
                },
            )
            assert r.json()["results"][0]["status"] == "applied"
            assert got.wait(30), "the second server process did not pass the poke on"
        finally:
            first.stop()
            second.stop()
