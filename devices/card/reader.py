"""What the kiosk needs from a card reader, whatever its technology.

PC/SC readers (social-security and other ISO 7816 cards) and, later, SAM
identity-card readers on a serial line both fit behind ``CardReader``; the UI
and the journey only ever see this Protocol, ``CardEvent`` and
``CardIdentity``.

Threading contract: ``start()`` starts the backend's supervisor thread; event
callbacks run on that thread (the UI hops to its main thread itself, with
Kivy's ``@mainthread``). ``read_identity`` blocks for the duration of one read
(about a second) and is meant for a worker thread; ``prove`` blocks for a
few commands (a tenth of a second on the virtual card; a real chip's
signature may take a few tenths). ``health()`` never blocks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from devices.card.auth import CardProof
from devices.card.identity import CardIdentity
from devices.health import DeviceHealth

logger = logging.getLogger(__name__)


class CardEventKind(StrEnum):
    READER_ATTACHED = "reader_attached"
    READER_DETACHED = "reader_detached"
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"


@dataclass(frozen=True)
class CardEvent:
    kind: CardEventKind
    reader: str


CardEventCallback = Callable[[CardEvent], None]


class CardReader(Protocol):
    """A chip-card reader as the kiosk uses it. Also a ``devices.health.HealthProbe``."""

    def start(self) -> None:
        """Start watching the reader; idempotent."""
        ...

    def stop(self) -> None:
        """Stop watching and release the reader; idempotent."""
        ...

    def subscribe(self, callback: CardEventCallback) -> Callable[[], None]:
        """Call ``callback`` for every event from now on; returns the unsubscribe function."""
        ...

    def card_present(self) -> bool:
        """Whether a card is in the reader, as last observed by the supervisor."""
        ...

    def wait_for_card(self, timeout: float) -> bool:
        """Block until a card is present or ``timeout`` seconds passed; True if present."""
        ...

    def wait_for_removal(self, timeout: float) -> bool:
        """Block until no card is in or ``timeout`` seconds passed; True if none is.
        The journey ends a session when the citizen takes the card out."""
        ...

    def read_identity(self) -> CardIdentity:
        """Read, authenticate and check the card in the reader.

        Raises ``CardRemoved`` (also when no card is in), ``CardNotAuthentic``,
        ``CardExpired``, ``CardUnsupported``, ``CardDataInvalid`` or
        ``DeviceUnavailable``; never returns a partial identity.
        """
        ...

    def prove(self, challenge: bytes) -> CardProof:
        """A fresh INTERNAL AUTHENTICATE with ``challenge`` (16 bytes) by the card in the reader.

        The card must be the one ``read_identity`` read last (same serial):
        ``CardRemoved`` if no card is in or another card is. Also
        ``CardNotAuthentic`` (bad certificate or answer) or ``DeviceUnavailable``.
        The proof is checked against the card's certificate before it is returned.
        """
        ...

    def health(self) -> DeviceHealth:
        """``ok``, ``absent`` (no reader), ``fault`` (service down) or ``unknown``."""
        ...


class Subscribers:
    """The callbacks of one reader. A failing callback is logged and does not stop the others
    or the supervisor thread that delivers events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[CardEventCallback] = []

    def subscribe(self, callback: CardEventCallback) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, event: CardEvent) -> None:
        logger.debug("card event %s on %r", event.kind, event.reader)
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                logger.exception("card event callback %r failed on %s", callback, event.kind)
