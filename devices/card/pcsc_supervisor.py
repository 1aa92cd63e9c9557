"""The one thread that watches the PC/SC readers: events and availability.

It owns its own PC/SC context (contexts must not be shared between threads
blocked in SCardGetStatusChange and others transmitting), polls
SCardGetStatusChange with the PnP pseudo-reader so that reader hot-plug and
card insertion wake it at once, re-lists readers each round, and survives
pcscd going away and coming back. It logs once when the reader is lost and
once when it is back, and keeps the health that ``health()`` returns without
blocking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from smartcard import scard

from devices.card import pcsc_errors as pcsc
from devices.card.reader import CardEvent, CardEventKind, Subscribers
from devices.health import DeviceHealth, DeviceState

logger = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
_STATE_PRESENT = pcsc.code("SCARD_STATE_PRESENT")
_STATE_CHANGED = pcsc.code("SCARD_STATE_CHANGED")


class PcscSupervisor:
    """Watches the readers that ``accept`` lets through; emits ``CardEvent``s to ``subscribers``."""

    def __init__(
        self,
        subscribers: Subscribers,
        *,
        accept: Callable[[str], bool] = lambda name: True,
        poll_interval: float = 0.5,
        retry_interval: float = 1.0,
    ) -> None:
        self._subscribers = subscribers
        self._accept = accept
        self._poll_ms = max(10, int(poll_interval * 1000))
        self._retry_interval = retry_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._context: int | None = None
        self._states: dict[str, int] = {}  # reader -> last event state (without CHANGED)
        self._present: dict[str, bool] = {}  # reader -> card present
        self._pnp_state = 0
        self._lock = threading.Lock()
        self._health = DeviceHealth("unknown", "supervisor not started")
        self._card_event = threading.Condition(self._lock)
        self._first_round = threading.Event()

    # -- the face the reader shows -------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._first_round.clear()
        self._thread = threading.Thread(target=self._run, name="card-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        context = self._context
        if context is not None:
            # Wakes a blocked SCardGetStatusChange; allowed from another thread.
            try:
                scard.SCardCancel(context)
            except Exception:
                logger.debug("SCardCancel failed during stop", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            self._health = DeviceHealth("unknown", "supervisor stopped")

    def health(self) -> DeviceHealth:
        with self._lock:
            return self._health

    def readers_with_card(self) -> list[str]:
        with self._lock:
            return sorted(name for name, present in self._present.items() if present)

    def wait_for_card(self, timeout: float, *, present: bool = True) -> bool:
        """Wait until some card is in (or, with ``present=False``, none is).

        A fresh supervisor first completes one polling round, so that "no card"
        means pcscd said so, not that nobody asked yet.
        """
        deadline = time.monotonic() + timeout
        if not self._first_round.wait(timeout):
            return False
        with self._card_event:
            return self._card_event.wait_for(
                lambda: any(self._present.values()) == present,
                max(0.0, deadline - time.monotonic()),
            )

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        logger.debug("card supervisor started")
        try:
            while not self._stopping.is_set():
                try:
                    self._poll_once()
                except Exception as err:  # the supervisor must outlive any surprise
                    logger.exception("card supervisor round failed")
                    self._go_down("fault", f"supervisor error: {err}")
                    self._stopping.wait(self._retry_interval)
        finally:
            self._release_context()
            self._forget_readers()
            logger.debug("card supervisor stopped")

    def _poll_once(self) -> None:
        if self._context is None:
            hresult, context = pcsc.call(scard.SCardEstablishContext, scard.SCARD_SCOPE_USER)
            if hresult & 0xFFFFFFFF != pcsc.SUCCESS:
                self._go_down("fault", f"PC/SC service unavailable: {pcsc.message(hresult)}")
                self._stopping.wait(self._retry_interval)
                return
            self._context = context

        hresult, readers = pcsc.call(scard.SCardListReaders, self._context, [])
        hresult &= 0xFFFFFFFF
        if hresult == pcsc.NO_READERS:
            readers = []
        elif hresult != pcsc.SUCCESS:
            what = (
                "PC/SC service unavailable" if hresult in pcsc.SERVICE_DOWN else "listing readers"
            )
            self._go_down("fault", f"{what}: {pcsc.message(hresult)}")
            self._release_context()
            self._stopping.wait(self._retry_interval)
            return
        readers = sorted(name for name in readers if self._accept(name))
        self._sync_readers(readers)
        if readers:
            self._set_health("ok", None)
        else:
            self._set_health("absent", "no card reader connected")

        watched = [(name, self._states.get(name, 0)) for name in readers]
        watched.append((PNP_NOTIFICATION, self._pnp_state))
        hresult, states = pcsc.call(
            scard.SCardGetStatusChange, self._context, self._poll_ms, watched
        )
        hresult &= 0xFFFFFFFF
        if hresult in (pcsc.TIMEOUT, pcsc.CANCELLED):
            self._first_round.set()
            return
        if hresult in pcsc.SERVICE_DOWN:
            self._go_down("fault", f"PC/SC service stopped: {pcsc.message(hresult)}")
            self._release_context()
            self._stopping.wait(self._retry_interval)
            return
        if hresult != pcsc.SUCCESS:
            logger.debug("SCardGetStatusChange: %s", pcsc.message(hresult))
            self._stopping.wait(self._retry_interval)
            return
        for name, event_state, _atr in states:
            if name == PNP_NOTIFICATION:
                self._pnp_state = event_state & ~_STATE_CHANGED
            elif name in self._present:
                self._states[name] = event_state & ~_STATE_CHANGED
                self._set_present(name, bool(event_state & _STATE_PRESENT))
        self._first_round.set()

    # -- bookkeeping -----------------------------------------------------------------

    def _sync_readers(self, readers: list[str]) -> None:
        for name in [n for n in self._present if n not in readers]:
            self._drop_reader(name)
        for name in readers:
            if name not in self._present:
                with self._lock:
                    self._present[name] = False
                logger.info("card reader attached: %s", name)
                self._subscribers.emit(CardEvent(CardEventKind.READER_ATTACHED, name))

    def _drop_reader(self, name: str) -> None:
        self._set_present(name, False)
        with self._lock:
            self._present.pop(name, None)
        self._states.pop(name, None)
        logger.info("card reader detached: %s", name)
        self._subscribers.emit(CardEvent(CardEventKind.READER_DETACHED, name))

    def _forget_readers(self) -> None:
        for name in list(self._present):
            self._drop_reader(name)

    def _set_present(self, name: str, present: bool) -> None:
        with self._card_event:
            if self._present.get(name, False) == present:
                return
            self._present[name] = present
            self._card_event.notify_all()
        kind = CardEventKind.CARD_INSERTED if present else CardEventKind.CARD_REMOVED
        self._subscribers.emit(CardEvent(kind, name))

    def _go_down(self, state: DeviceState, detail: str) -> None:
        self._forget_readers()
        self._set_health(state, detail)
        self._first_round.set()

    def _set_health(self, state: DeviceState, detail: str | None) -> None:
        with self._lock:
            previous = self._health
            self._health = DeviceHealth(state, detail)
        if previous.state == state:
            return
        if state == "ok":
            if previous.state in ("fault", "absent"):
                logger.info("card reader back (was %s)", previous.state)
        else:
            logger.warning("card reader %s: %s", state, detail)

    def _release_context(self) -> None:
        context, self._context = self._context, None
        self._pnp_state = 0
        self._states.clear()
        if context is not None:
            try:
                scard.SCardReleaseContext(context)
            except Exception:
                logger.debug("SCardReleaseContext failed", exc_info=True)
