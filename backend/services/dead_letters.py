"""Dead letters: their payloads kept masked and encrypted, read newest first, opened on record.

A refused message may hold a citizen's data (an application's form, a
sealed applicant, a comment), so ingest never stores its payload in clear:
``protect_payload`` gives the columns of one dead letter, a masked copy
(identity and mobile numbers masked: what the ops centre shows) and the
original AES-GCM-encrypted under the citizen-data key (backend/gov/keys.py,
kept outside the database). If the keys cannot be loaded, the dead letter is
still kept, never dropped: with the masked copy only, marked
``masked_only``, and the log says so once (and once when the keys are back).
An admin opens an encrypted payload with ``reveal``, which writes the read
to the hash-chained audit log in the same transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.privacy import mask_personal_data
from backend.gov.keys import DataKeys
from backend.models import DeadLetter
from backend.models.base import utcnow
from backend.models.dead_letter import MAX_KEPT_BYTES
from backend.services import audit
from backend.services.pagination import decode_cursor, encode_cursor

logger = logging.getLogger(__name__)

PAYLOAD_PURPOSE = "dead-letter-v1"
ENCRYPTED = "encrypted"
MASKED_ONLY = "masked_only"
KEYS_RETRY_S = 60.0


class NotRevealable(Exception):
    """The dead letter has no encrypted original (masked only), or does not exist."""


def masked_payload(payload: bytes) -> bytes:
    """The payload as text with its identity and mobile numbers masked (bytes not UTF-8 are replaced)."""
    return mask_personal_data(payload.decode("utf-8", errors="replace")).encode()


def protect_payload(payload: bytes, keys: DataKeys | None) -> dict[str, object]:
    """The ``payload``, ``payload_enc`` and ``payload_protection`` columns of one dead letter."""
    if keys is None:
        return {
            "payload": masked_payload(payload),
            "payload_enc": None,
            "payload_protection": MASKED_ONLY,
        }
    return {
        "payload": masked_payload(payload),
        "payload_enc": keys.encrypt_bytes(payload, PAYLOAD_PURPOSE),
        "payload_protection": ENCRYPTED,
    }


class _IngestKeys:
    """The keys ingest encrypts with: loaded on first use, a failure retried after a minute."""

    def __init__(self, load: Callable[[], DataKeys]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._keys: DataKeys | None = None
        self._failed_at: float | None = None

    def get(self) -> DataKeys | None:
        with self._lock:
            if self._keys is not None:
                return self._keys
            if self._failed_at is not None and time.monotonic() - self._failed_at < KEYS_RETRY_S:
                return None
            try:
                self._keys = self._load()
            except Exception as err:  # any failure means: keep dead letters masked only
                if self._failed_at is None:
                    logger.warning(
                        "citizen-data keys unavailable: dead letters are kept masked only "
                        "(their originals are not recoverable) until they are back: %s",
                        err,
                    )
                self._failed_at = time.monotonic()
                return None
            if self._failed_at is not None:
                logger.warning("citizen-data keys are back: dead letters are encrypted again")
            self._failed_at = None
            return self._keys


def _load_from_settings() -> DataKeys:
    """The keys of FLEET_CA_DIR; ingest never makes them (``serve`` or ``load-demo`` does)."""
    from backend.core.config import get_settings
    from backend.gov.keys import DATA_KEYS_FILE, KeyUnavailable, load_data_keys
    from provisioning.ca import ca_passphrase

    ca_dir = get_settings().ca_dir
    if not (ca_dir / DATA_KEYS_FILE).exists():
        raise KeyUnavailable(f"{ca_dir / DATA_KEYS_FILE} does not exist yet")
    return load_data_keys(ca_dir, ca_passphrase())


_ingest_keys = _IngestKeys(_load_from_settings)


def protect_ingested_payload(payload: bytes) -> dict[str, object]:
    """``protect_payload`` with the ingest process's keys (None when unavailable)."""
    return protect_payload(payload, _ingest_keys.get())


def reveal(
    session: Session, keys: DataKeys, dead_letter_id: int, *, actor: str, reason: str
) -> bytes:
    """The original payload of one dead letter; the read is audited in the caller's transaction."""
    row = session.get(DeadLetter, dead_letter_id)
    if row is None or row.payload_protection != ENCRYPTED or row.payload_enc is None:
        raise NotRevealable(dead_letter_id)
    payload = keys.decrypt_bytes(row.payload_enc, PAYLOAD_PURPOSE)
    audit.record(
        session,
        actor=actor,
        action="dead_letter.revealed",
        target=f"dead_letter:{row.id}",
        detail={"reason": mask_personal_data(reason)[:300], "topic": row.topic},
    )
    return payload


def record(session: Session, *, topic: str, code: str, reason: str, payload: bytes) -> None:
    """Keep one refused message (or a refused side effect of a stored event) with its reason."""
    session.add(
        DeadLetter(
            received_at=utcnow(),
            topic=topic[:512],
            reason_code=code[:32],
            reason=reason[:1000],
            **protect_ingested_payload(payload[:MAX_KEPT_BYTES]),  # masked + encrypted
            payload_size=len(payload),
        )
    )
    session.flush()


def list_dead_letters(
    session: Session, *, reason_code: str | None = None, limit: int = 100, cursor: str | None = None
) -> tuple[Sequence[DeadLetter], str | None]:
    query = select(DeadLetter)
    if reason_code:
        query = query.where(DeadLetter.reason_code == reason_code)
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.where(DeadLetter.id < last_id)
    rows = session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].id)
    return rows, next_cursor


def count_dead_letters(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0
