"""Receipt numbers: the kiosk makes them at once, offline too; the backend checks whose they are.

A number is ``<KIOSK-PART>-<yyyymmdd>-<seq>``. The kiosk part is the kiosk id in
capitals, or, for an id too long to fit the contract's 64-character ``Code``,
``K`` and a stable 12-hex digest of it. Numbers are unique across the fleet
because kiosk ids are; so a number belongs to exactly one kiosk, and ingest
refuses a kiosk's event that uses another kiosk's number (which would
otherwise make that kiosk's genuine application look like a duplicate).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

MAX_LENGTH = 64  # the contract's Code
LONG_ID_PREFIX = "K"


def kiosk_part(kiosk_id: str) -> str:
    """The kiosk id as it appears in a number (capitals; a digest for very long ids)."""
    if len(kiosk_id) + len("-yyyymmdd-") + 6 <= MAX_LENGTH:
        return kiosk_id.upper()
    return LONG_ID_PREFIX + hashlib.sha256(kiosk_id.encode()).hexdigest()[:12].upper()


def receipt_number(kiosk_id: str, now: datetime, sequence: int) -> str:
    return f"{kiosk_part(kiosk_id)}-{now:%Y%m%d}-{sequence:04d}"


def belongs_to(receipt_no: str, kiosk_id: str) -> bool:
    """Whether ``receipt_no`` is one that ``kiosk_id`` could have made."""
    prefix = kiosk_part(kiosk_id) + "-"
    rest = receipt_no[len(prefix) :]
    return receipt_no.startswith(prefix) and len(rest) >= 10 and rest[:8].isdigit()
