"""Customer e-mail over real SMTP (aiosmtpd on localhost): queued with the order step, sent by the
server's sender, with the pickup QR that the counter then scans to hand the order over."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import cv2
import httpx
import numpy as np
import pytest

from store_associate.scan import decode_frame
from tests.conftest import free_port, seed_database, smtp_server, start_server


@pytest.fixture()
def smtp():
    with smtp_server() as found:
        yield found


def push(server, device, n: int, name: str, staff: str, **args) -> dict:
    r = httpx.post(
        f"{server.url}/api/v1/sync/push",
        headers=device,
        json={
            "mutations": [
                {
                    "id": n,
                    "name": name,
                    "version": 1,
                    "args": args,
                    "staff_number": staff,
                    "created_at": datetime.now(UTC).isoformat(),
                }
            ]
        },
    )
    r.raise_for_status()
    return r.json()["results"][0]


def test_ready_email_with_qr_then_handover_by_that_qr(smtp, tmp_path):
    inbox, port = smtp
    url = f"sqlite:///{tmp_path / 'server.db'}"
    server = start_server(
        url,
        seed_database(url, skus=60),
        extra_env={"STORE_ASSOCIATE_SMTP_HOST": "127.0.0.1", "STORE_ASSOCIATE_SMTP_PORT": str(port)},
    )
    try:
        order = httpx.post(
            f"{server.url}/api/v1/orders",
            json={
                "store": "NYC-01",
                "customer": {"name": "Quinn Q", "email": "quinn@example.com"},
                "lines": [{"sku": "100010", "qty": 1}],
            },
            headers={"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        n, device = order["number"], server.enrol("NYC-01")
        staff = server.sign_in_on(device, "associate")
        assert push(server, device, 1, "pick_line", staff, order=n, line_no=1, qty=1)["status"] == "applied"
        assert inbox.messages == []  # nothing is sent before every line is staged
        assert push(server, device, 2, "stage_order", staff, order=n, bin="B-4")["status"] == "applied"
        (mail,) = inbox.wait_for(1)
        assert mail["To"] == "quinn@example.com" and n in mail["Subject"] and "ready" in mail["Subject"]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert "Opening hours" in text and "Monday" in text and f"PU-{order['pickup_code']}" in text
        image = next(part for part in mail.walk() if part.get_content_type() == "image/png")
        frame = cv2.imdecode(np.frombuffer(image.get_content(), np.uint8), cv2.IMREAD_COLOR)
        (qr,) = decode_frame(frame)
        assert qr.text == f"PU-{order['pickup_code']}"
        # The counter scans the customer's QR: it finds the order, and the order is handed over.
        assert push(server, device, 3, "hand_over", staff, order=n, lines=[1])["status"] == "applied"
        done = inbox.wait_for(2)
        assert "collected" in done[1]["Subject"]
    finally:
        server.stop()


def test_unreachable_smtp_keeps_messages_queued(tmp_path):
    from sqlalchemy import select
    from sqlmodel import Session

    from store_associate.config import Settings
    from store_associate.server.db import make_engine
    from store_associate.server.models import Notification
    from store_associate.server.notify import send_pending

    url = f"sqlite:///{tmp_path / 'server.db'}"
    server = start_server(url, seed_database(url, skus=60))  # no SMTP configured: nothing is sent
    try:
        order = httpx.post(
            f"{server.url}/api/v1/orders",
            json={
                "store": "NYC-01",
                "customer": {"name": "R", "email": "r@example.com"},
                "lines": [{"sku": "100011", "qty": 1}],
            },
            headers={"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        device = server.enrol("NYC-01")
        staff = server.sign_in_on(device, "associate")
        push(server, device, 1, "reject_line", staff, order=order["number"], line_no=1, reason="damaged")
    finally:
        server.stop()
    engine = make_engine(url)
    nobody_listens = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), mail_from="x@example.com")
    assert send_pending(engine, nobody_listens) == 0
    with Session(engine) as s:
        (note,) = s.execute(select(Notification)).scalars().all()
    assert (note.kind, note.status) == ("rejected", "pending")
