"""Configuration in, card reader out: the one place that knows the backends by name.

The kiosk's settings pick ``pcsc`` (real readers) or ``sim`` (``--sim``); a
SAM identity-card reader would be one more entry here and nothing else in the
UI changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from devices.card.auth import IssuerKey
from devices.card.reader import CardReader

logger = logging.getLogger(__name__)

Backend = Literal["pcsc", "sim"]


@dataclass(frozen=True)
class CardReaderConfig:
    """``issuer_key_hex`` is required for ``pcsc``: a real kiosk must never fall back to the
    published demo key. ``reader_name`` picks readers whose name contains it."""

    backend: Backend = "pcsc"
    issuer_key_hex: str | None = None
    reader_name: str | None = None
    poll_interval: float = 0.5


def make_card_reader(config: CardReaderConfig) -> CardReader:
    if config.backend == "sim":
        from devices.card.sim import SimCardReader

        key = IssuerKey.from_hex(config.issuer_key_hex) if config.issuer_key_hex else None
        return SimCardReader(key)
    if config.backend == "pcsc":
        if not config.issuer_key_hex:
            raise ValueError("the pcsc card reader needs the issuer key (issuer_key_hex)")
        key = IssuerKey.from_hex(config.issuer_key_hex)
        if key.is_demo:
            logger.warning("card reader uses the DEMO issuer key: demo cards will be accepted")
        # Imported here so that the simulator works where pyscard is not installed.
        from devices.card.pcsc import PcscCardReader

        return PcscCardReader(
            key, reader_name=config.reader_name, poll_interval=config.poll_interval
        )
    raise ValueError(f"unknown card reader backend {config.backend!r} (expected pcsc or sim)")
