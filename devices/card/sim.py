"""The simulated card reader (``--sim``): demos, training, a technician's laptop.

In process, no pcscd. A technician (or the demo script) tells it to attach or
detach the reader and to insert a genuine card, a clone, an expired card or a
blank one, or to take the card out. Reading runs the very same application
code as PC/SC against the card-side applet, so a clone fails the real
challenge-response and an expired card fails the real date check. Cards by
kind are certified with the demo issuer key; the reader trusts the demo
issuer's public key unless given another. Events are
delivered from the simulator's own supervisor thread, as with real readers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import date

from devices.card import application
from devices.card.applet import Applet
from devices.card.auth import CardProof, IssuerPublicKey
from devices.card.demo import DemoCard, make_demo_card
from devices.card.identity import CardIdentity
from devices.card.reader import CardEvent, CardEventCallback, CardEventKind, Subscribers
from devices.errors import CardRemoved, DeviceUnavailable
from devices.health import DeviceHealth

logger = logging.getLogger(__name__)

SIM_READER_NAME = "Simulated Card Reader 00 00"


class SimCardReader:
    """A ``CardReader`` whose reader and card are driven by method calls."""

    def __init__(
        self,
        issuer_key: IssuerPublicKey | None = None,
        *,
        attached: bool = True,
        apdu_delay: float = 0.0,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._issuer_key = issuer_key or IssuerPublicKey.demo()
        self._apdu_delay = apdu_delay  # a few ms per APDU makes demos feel like hardware
        self._today = today
        self._subscribers = Subscribers()
        self._lock = threading.Condition()
        self._attached = attached
        self._card: Applet | None = None
        self._events: queue.Queue[CardEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._last_serial: bytes | None = None  # of the last card read: ``prove`` wants it

    # -- what a trainer or a demo script does --------------------------------------

    def attach_reader(self) -> None:
        with self._lock:
            if self._attached:
                return
            self._attached = True
        self._events.put(CardEvent(CardEventKind.READER_ATTACHED, SIM_READER_NAME))

    def detach_reader(self) -> None:
        self.remove_card()
        with self._lock:
            if not self._attached:
                return
            self._attached = False
        self._events.put(CardEvent(CardEventKind.READER_DETACHED, SIM_READER_NAME))

    def insert_card(self, card: DemoCard | str | Applet = DemoCard.GENUINE) -> None:
        """Insert a demo card by kind (``"genuine"``, ``"clone"``, ...) or any applet."""
        applet = card if not isinstance(card, str) else make_demo_card(card)
        with self._lock:
            if not self._attached:
                raise DeviceUnavailable("simulated reader is detached", key="card.reader_absent")
            had_card = self._card is not None
            applet.reset()
            self._card = applet
            self._lock.notify_all()
        if had_card:
            self._events.put(CardEvent(CardEventKind.CARD_REMOVED, SIM_READER_NAME))
        self._events.put(CardEvent(CardEventKind.CARD_INSERTED, SIM_READER_NAME))

    def remove_card(self) -> None:
        with self._lock:
            if self._card is None:
                return
            self._card = None
            self._lock.notify_all()
        self._events.put(CardEvent(CardEventKind.CARD_REMOVED, SIM_READER_NAME))

    # -- CardReader ----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._pump, name="card-sim", daemon=True)
        self._thread.start()
        if self._attached:
            self._events.put(CardEvent(CardEventKind.READER_ATTACHED, SIM_READER_NAME))

    def stop(self) -> None:
        if self._thread is None:
            return
        self._events.put(None)
        self._thread.join(5)
        self._thread = None

    def subscribe(self, callback: CardEventCallback) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def card_present(self) -> bool:
        with self._lock:
            return self._card is not None

    def wait_for_card(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._card is not None, timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._card is None, timeout)

    def read_identity(self) -> CardIdentity:
        card = self._current_card()
        identity = application.read_identity(
            _SimTransport(self, card), self._issuer_key, today=self._today
        )
        self._last_serial = bytes.fromhex(identity.serial)
        return identity

    def prove(self, challenge: bytes) -> CardProof:
        card = self._current_card()
        return application.prove(
            _SimTransport(self, card),
            self._issuer_key,
            challenge,
            expected_serial=self._last_serial,
        )

    def _current_card(self) -> Applet:
        with self._lock:
            if not self._attached:
                raise DeviceUnavailable("simulated reader is detached", key="card.reader_absent")
            card = self._card
        if card is None:
            raise CardRemoved(f"no card in {SIM_READER_NAME!r}")
        card.reset()
        return card

    def health(self) -> DeviceHealth:
        with self._lock:
            if not self._attached:
                return DeviceHealth("absent", "simulated reader detached")
        return DeviceHealth("ok", "simulated")

    def _transmit(self, card: Applet, apdu: bytes) -> bytes:
        if self._apdu_delay:
            time.sleep(self._apdu_delay)
        with self._lock:
            if self._card is not card:
                raise CardRemoved("card removed during the read")
            return card.process(apdu)

    def _pump(self) -> None:
        while (event := self._events.get()) is not None:
            self._subscribers.emit(event)


class _SimTransport:
    def __init__(self, reader: SimCardReader, card: Applet) -> None:
        self._reader = reader
        self._card = card

    def transmit(self, apdu: bytes) -> bytes:
        return self._reader._transmit(self._card, apdu)
