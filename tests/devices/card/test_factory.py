"""Configuration into readers, and the rule that only pcsc modules import pyscard."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import devices
from devices.card import CardReaderConfig, make_card_reader
from devices.card.auth import IssuerPublicKey
from devices.card.pcsc import PcscCardReader
from devices.card.sim import SimCardReader

DEMO_KEY_HEX = IssuerPublicKey.demo().hex()


def test_sim_backend_defaults_to_the_demo_key() -> None:
    assert isinstance(make_card_reader(CardReaderConfig(backend="sim")), SimCardReader)


def test_pcsc_backend_needs_an_issuer_key() -> None:
    with pytest.raises(ValueError, match="issuer public key"):
        make_card_reader(CardReaderConfig(backend="pcsc"))
    reader = make_card_reader(CardReaderConfig(backend="pcsc", issuer_public_key_hex=DEMO_KEY_HEX))
    assert isinstance(reader, PcscCardReader)


def test_a_kiosk_configured_with_the_old_symmetric_key_is_refused() -> None:
    old_master_key_hex = b"govkiosk-demo-issuer-key-NOT-SECRET".hex()
    with pytest.raises(ValueError, match="32 bytes"):
        make_card_reader(CardReaderConfig(backend="pcsc", issuer_public_key_hex=old_master_key_hex))


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown card reader backend"):
        make_card_reader(CardReaderConfig(backend="sam"))  # type: ignore[arg-type]


def test_only_the_pcsc_modules_import_pyscard() -> None:
    root = Path(devices.__file__).parent.parent
    importers = set()
    for path in root.glob("**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "smartcard" or n.startswith("smartcard.") for n in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {
        "devices/card/pcsc.py",
        "devices/card/pcsc_errors.py",
        "devices/card/pcsc_supervisor.py",
    }
