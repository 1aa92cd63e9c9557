"""The PC/SC backend: ISO 7816 cards in any reader pcsc-lite knows (pyscard).

Social-security and other chip cards are read here; the citizen-card
application logic is shared (``application``), this module only moves APDUs
and turns PC/SC failures into ``devices.errors``. Each read opens its own
context and an exclusive transaction, so a read never interleaves with the
supervisor's polling or with another program using the reader.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from smartcard import scard

from devices.card import application
from devices.card import pcsc_errors as pcsc
from devices.card.auth import CardProof, IssuerPublicKey
from devices.card.identity import CardIdentity
from devices.card.pcsc_supervisor import PcscSupervisor
from devices.card.reader import CardEventCallback, Subscribers
from devices.errors import CardRemoved, DeviceUnavailable
from devices.health import DeviceHealth

logger = logging.getLogger(__name__)


class PcscTransport:
    """``ApduTransport`` over one connected PC/SC card handle."""

    def __init__(self, card: int, protocol: int, reader: str) -> None:
        self._card = card
        self._protocol = protocol
        self.reader = reader

    def transmit(self, apdu: bytes) -> bytes:
        result = pcsc.call(scard.SCardTransmit, self._card, self._protocol, list(apdu))
        response = bytes(pcsc.check(result, f"transmit to card in {self.reader!r}"))
        if len(response) < 2:
            # What some drivers (vpcd among them) report when the card went away
            # between command and answer: success, and nothing.
            raise CardRemoved(f"no answer from the card in {self.reader!r}")
        return response


@contextmanager
def connect(reader_filter: Callable[[str], bool], preferred: list[str]) -> Iterator[PcscTransport]:
    """A transport to the card in the first acceptable reader, inside a transaction.

    ``preferred`` (readers the supervisor saw a card in) are tried first.
    """
    context = pcsc.check(
        pcsc.call(scard.SCardEstablishContext, scard.SCARD_SCOPE_USER), "connecting to pcscd"
    )
    try:
        hresult, readers = pcsc.call(scard.SCardListReaders, context, [])
        if hresult & 0xFFFFFFFF not in (pcsc.SUCCESS, pcsc.NO_READERS):
            raise pcsc.error_for(hresult, "listing readers")
        readers = [name for name in readers if reader_filter(name)]
        if not readers:
            raise DeviceUnavailable("no card reader connected", key="card.reader_absent")
        reader = next((name for name in preferred if name in readers), sorted(readers)[0])
        hresult, card, protocol = pcsc.call(
            scard.SCardConnect,
            context,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult & 0xFFFFFFFF != pcsc.SUCCESS:
            error = pcsc.error_for(hresult, f"connecting to the card in {reader!r}")
            if isinstance(error, CardRemoved):
                error = CardRemoved(f"no card in {reader!r}")
            raise error
        try:
            pcsc.check(pcsc.call(scard.SCardBeginTransaction, card), "beginning a transaction")
            try:
                yield PcscTransport(card, protocol, reader)
            finally:
                _quietly(scard.SCardEndTransaction, card, scard.SCARD_LEAVE_CARD)
        finally:
            # Reset: the next session starts from a clean card state.
            _quietly(scard.SCardDisconnect, card, scard.SCARD_RESET_CARD)
    finally:
        _quietly(scard.SCardReleaseContext, context)


def _quietly(function: Callable[..., object], *args: object) -> None:
    """Clean-up calls: the card may be gone already; that is not a new error."""
    try:
        function(*args)
    except Exception:
        logger.debug("%s failed during clean-up", function.__name__, exc_info=True)


class PcscCardReader:
    """``CardReader`` over PC/SC: the supervisor for events and health, ``connect`` for reads."""

    def __init__(
        self,
        issuer_key: IssuerPublicKey,
        *,
        reader_name: str | None = None,
        poll_interval: float = 0.5,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._issuer_key = issuer_key
        self._reader_name = reader_name
        self._today = today
        self._subscribers = Subscribers()
        self._last_serial: bytes | None = None  # of the last card read: ``prove`` wants it
        self._supervisor = PcscSupervisor(
            self._subscribers, accept=self._accept, poll_interval=poll_interval
        )

    def _accept(self, name: str) -> bool:
        return self._reader_name is None or self._reader_name in name

    def start(self) -> None:
        self._supervisor.start()

    def stop(self) -> None:
        self._supervisor.stop()

    def subscribe(self, callback: CardEventCallback) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def card_present(self) -> bool:
        return bool(self._supervisor.readers_with_card())

    def wait_for_card(self, timeout: float) -> bool:
        return self._supervisor.wait_for_card(timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        return self._supervisor.wait_for_card(timeout, present=False)

    def read_identity(self) -> CardIdentity:
        with connect(self._accept, self._supervisor.readers_with_card()) as transport:
            logger.debug("reading the card in %r", transport.reader)
            identity = application.read_identity(transport, self._issuer_key, today=self._today)
        self._last_serial = bytes.fromhex(identity.serial)
        return identity

    def prove(self, challenge: bytes) -> CardProof:
        with connect(self._accept, self._supervisor.readers_with_card()) as transport:
            return application.prove(
                transport, self._issuer_key, challenge, expected_serial=self._last_serial
            )

    def health(self) -> DeviceHealth:
        return self._supervisor.health()

    def __enter__(self) -> PcscCardReader:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
