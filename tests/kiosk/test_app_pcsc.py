"""One journey with the real PC/SC stack: a private pcscd, the vpcd reader, the virtual card.

The app's simulated reader is swapped for ``PcscCardReader`` (demo issuer key)
for this test, on the test process's one private pcscd (tests/conftest.py); the card is the same demo card, served over vpcd, so the read
and the challenge-response go through pyscard and pcscd as on a kiosk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devices.card.auth import IssuerPublicKey
from devices.card.demo import make_demo_card
from devices.card.private_pcscd import PcscdDaemon
from devices.card.virtual_card import VirtualCard
from tests.kiosk.conftest import KioskDriver


@pytest.fixture
def pcsc_reader(kiosk_app: Any, pcscd_with_vpcd: PcscdDaemon) -> Iterator[Any]:
    from devices.card.pcsc import PcscCardReader

    reader = PcscCardReader(IssuerPublicKey.demo(), poll_interval=0.1)
    reader.subscribe(kiosk_app._card_event)
    reader.start()
    simulated = kiosk_app.hardware.card_reader
    kiosk_app.hardware.card_reader = reader
    yield reader
    kiosk_app.hardware.card_reader = simulated
    reader.stop()


def test_a_session_over_pcscd_and_the_virtual_card(
    kiosk: KioskDriver, pcsc_reader: Any, pcscd_with_vpcd: PcscdDaemon
) -> None:
    before = len(kiosk.outbox())
    card = VirtualCard(make_demo_card("genuine"), port=pcscd_with_vpcd.vpcd_port)
    card.insert()
    try:
        kiosk.wait_screen("home", timeout=30)
        kiosk.shot("home-pcsc")
        assert "张*，您好" in kiosk.texts()
    finally:
        card.remove()
    kiosk.wait_screen("attract", timeout=15)
    events = kiosk.new_events(before)
    assert [k for k, _ in events] == [
        "session.started",
        "card.read",
        "face.verified",
        "session.ended",
    ]
    assert events[1][1]["outcome"] == "ok" and events[1][1]["holder"] == "110105********002X"
    assert events[-1][1]["reason"] == "card_removed"
