"""Fixtures for the card reader: a private pcscd with the vpcd virtual reader, and demo cards.

The daemon fixtures (``pcscd_daemon``, ``pcscd_with_vpcd``) live in
tests/conftest.py: libpcsclite reads its socket's name once per process, so
every test that uses PC/SC (here and the kiosk app's) shares one private pcscd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devices.card.demo import make_demo_card
from devices.card.private_pcscd import PcscdDaemon
from devices.card.virtual_card import PullOut, VirtualCard


@pytest.fixture
def insert_virtual_card(
    pcscd_with_vpcd: PcscdDaemon,
) -> Iterator[Callable[..., VirtualCard]]:
    """Inserts a demo card of a kind into the vpcd reader; every card is removed afterwards."""
    cards: list[VirtualCard] = []

    def insert(kind: str, *, pull_out: PullOut | None = None) -> VirtualCard:
        card = VirtualCard(make_demo_card(kind), port=pcscd_with_vpcd.vpcd_port, pull_out=pull_out)
        card.insert()
        cards.append(card)
        return card

    yield insert
    for card in cards:
        card.remove()
