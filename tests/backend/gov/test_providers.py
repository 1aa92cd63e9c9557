"""The SMS gateway: a real HTTP endpoint takes each message, and a failing one sends nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.models import SmsCode
from tests.backend.gov_fixtures import ZHANG_SAN, Gov, make_gov


class Gateway:
    """A stand-in SMS platform on loopback: records each POST, or answers 503 when told to."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.failing = False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if gateway.failing:
                    self.send_response(503)
                else:
                    gateway.messages.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.server.shutdown()


@pytest.fixture
def gov(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path, gateway: Gateway) -> Iterator[Gov]:
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path, sms_gateway_url=gateway.url)
    with g.client:
        yield g


def test_log_in_codes_go_through_the_gateway_not_to_files(gov: Gov, gateway: Gateway) -> None:
    sent = gov.client.post("/api/v1/app/auth/sms-code", json={"phone": ZHANG_SAN["phone"]})
    assert sent.status_code == 202, sent.text
    (message,) = gateway.messages
    assert message["phone"] == ZHANG_SAN["phone"] and "验证码" in message["text"]
    assert not (gov.settings.dev_outbox_dir / "sms.jsonl").exists()


def test_a_gateway_that_refuses_gives_503_and_keeps_no_code(gov: Gov, gateway: Gateway) -> None:
    gateway.failing = True
    refused = gov.client.post("/api/v1/app/auth/sms-code", json={"phone": ZHANG_SAN["phone"]})
    assert refused.status_code == 503
    assert refused.json()["detail"]["message"] == "短信暂时无法发送，请稍后再试"
    with gov.sessions()() as session:
        assert session.scalar(select(func.count()).select_from(SmsCode)) == 0
    gateway.failing = False  # the citizen may try again at once: the refusal spent no limit
    again = gov.client.post("/api/v1/app/auth/sms-code", json={"phone": ZHANG_SAN["phone"]})
    assert again.status_code == 202 and len(gateway.messages) == 1
