"""Configuration in, card reader out: the one place that knows the backends by name.

The kiosk's settings pick ``pcsc`` (real readers) or ``sim`` (``--sim``); a
SAM identity-card reader would be one more entry here and nothing else in the
UI changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from devices.card.auth import IssuerPublicKey
from devices.card.reader import CardReader

logger = logging.getLogger(__name__)

Backend = Literal["pcsc", "sim"]


@dataclass(frozen=True)
class CardReaderConfig:
    """``issuer_public_key_hex`` (the issuer's Ed25519 public key, 64 hex digits) is required
    for ``pcsc``: a real kiosk must never fall back to the published demo key. A kiosk
    holds only the public key: it can check cards, not make them. ``reader_name`` picks
    readers whose name contains it."""

    backend: Backend = "pcsc"
    issuer_public_key_hex: str | None = None
    reader_name: str | None = None
    poll_interval: float = 0.5


def make_card_reader(config: CardReaderConfig) -> CardReader:
    if config.backend == "sim":
        from devices.card.sim import SimCardReader

        hex_key = config.issuer_public_key_hex
        return SimCardReader(IssuerPublicKey.from_hex(hex_key) if hex_key else None)
    if config.backend == "pcsc":
        if not config.issuer_public_key_hex:
            raise ValueError(
                "the pcsc card reader needs the issuer public key (issuer_public_key_hex)"
            )
        key = IssuerPublicKey.from_hex(config.issuer_public_key_hex)
        if key.is_demo:
            logger.warning("card reader uses the DEMO issuer key: demo cards will be accepted")
        # Imported here so that the simulator works where pyscard is not installed.
        from devices.card.pcsc import PcscCardReader

        return PcscCardReader(
            key, reader_name=config.reader_name, poll_interval=config.poll_interval
        )
    raise ValueError(f"unknown card reader backend {config.backend!r} (expected pcsc or sim)")
