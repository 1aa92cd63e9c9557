"""Fixtures for the card reader: a private pcscd with the vpcd virtual reader, and demo cards.

The daemon (``devices.card.private_pcscd``, shared with the benchmark) runs in
its own mount namespace, and this test process finds it through
PCSCLITE_CSOCK_NAME; tests can stop and start "their" pcscd at will.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.card.demo import make_demo_card
from devices.card.private_pcscd import VPCD_DRIVER, PcscdDaemon, can_isolate, find_pcscd
from devices.card.virtual_card import PullOut, VirtualCard


@pytest.fixture(scope="session")
def pcscd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscdDaemon]:
    """The controller of this session's private pcscd (not started yet)."""
    pcscd = find_pcscd()
    if pcscd is None:
        pytest.skip("pcscd is not installed (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        pytest.skip(f"vpcd driver missing at {VPCD_DRIVER} (Debian package vsmartcard-vpcd)")
    isolated = can_isolate()
    if isolated:
        root = tmp_path_factory.mktemp("pcscd")
        daemon = PcscdDaemon(root, pcscd, isolated=True)
        # libpcsclite reads this once per process, at its first call.
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
        os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_path)
    else:
        if Path("/run/pcscd/pcscd.comm").exists():
            pytest.skip("cannot run a private pcscd (needs root and unshare) beside the system one")
        daemon = PcscdDaemon(tmp_path_factory.mktemp("pcscd"), pcscd, isolated=False)
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
    yield daemon
    daemon.stop()
    if previous is None:
        os.environ.pop("PCSCLITE_CSOCK_NAME", None)
    else:
        os.environ["PCSCLITE_CSOCK_NAME"] = previous


@pytest.fixture
def pcscd_with_vpcd(pcscd_daemon: PcscdDaemon) -> PcscdDaemon:
    """A running private pcscd whose only reader is vpcd."""
    pcscd_daemon.ensure(with_vpcd=True)
    return pcscd_daemon


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
