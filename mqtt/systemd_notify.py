"""sd_notify without a dependency: tell systemd we are ready, and that we are still alive.

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket)
to a ``Type=notify`` service and ``WATCHDOG_USEC`` when the unit has
``WatchdogSec=``. The protocol is one datagram per message, ``READY=1`` or
``WATCHDOG=1``, so a few lines of ``socket`` do it; no libsystemd binding.
Outside systemd (a terminal, the tests, the demo) every call is a no-op.

A watchdog is only worth having if a ping means "the work is progressing",
so ``Watchdog.ping`` is meant to be called from a program's main loop (the
agent's publish loop, ingest's batch loop): a loop that hangs stops the pings
and systemd restarts the service. ``LoopWatchdog`` is for a program whose
main loop is not ours (uvicorn's asyncio loop): a thread that pings only
while a probe of that loop answers. This module lives in ``mqtt/`` because
both the kiosk and the backend may import it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)


def _address(environ: Mapping[str, str]) -> str | None:
    path = environ.get("NOTIFY_SOCKET")
    if not path:
        return None
    if path.startswith("@"):
        return "\0" + path[1:]  # abstract namespace
    return path


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one notification (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``); False outside systemd."""
    address = _address(os.environ if environ is None else environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as err:
        logger.warning("sd_notify %r to %s failed: %s", state, address, err)
        return False
    return True


def ready(status: str | None = None) -> bool:
    """``READY=1``: startup is done (``Type=notify`` units wait for it)."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds systemd waits between pings before it kills us; None without ``WatchdogSec=``."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (a parent that exec'd us, say)
    try:
        value = int(usec) / 1_000_000
    except ValueError:
        return None
    return value if value > 0 else None


class Watchdog:
    """Pings ``WATCHDOG=1`` from a main loop, at most every third of the interval.

    Cheap enough to call on every loop pass: between pings it is one clock read.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.interval = watchdog_interval(environ)
        self._every = self.interval / 3 if self.interval else None
        self._last = float("-inf")
        self._ready_sent = False

    @property
    def enabled(self) -> bool:
        return self._every is not None

    def ready(self, status: str | None = None) -> None:
        """``READY=1`` once, however often a loop calls it."""
        if not self._ready_sent:
            notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self._environ)
            self._ready_sent = True

    def ping(self) -> None:
        if self._every is None:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            notify("WATCHDOG=1", self._environ)
            self._last = now


class LoopWatchdog(threading.Thread):
    """Pings the watchdog from a thread, but only while ``probe()`` says the real loop is alive.

    ``probe`` should make the watched loop do a little work and wait for it
    (for asyncio: run a no-op coroutine on the loop with a timeout) and return
    True if it came back. A blocked loop makes the probe fail; the pings stop.
    """

    def __init__(self, probe: Callable[[], bool], environ: Mapping[str, str] | None = None) -> None:
        super().__init__(name="sd-watchdog", daemon=True)
        self.probe = probe
        self.watchdog = Watchdog(environ)
        self._stop_event = threading.Event()

    def run(self) -> None:
        if not self.watchdog.enabled:
            return
        assert self.watchdog.interval is not None
        every = self.watchdog.interval / 3
        while not self._stop_event.wait(every):
            try:
                healthy = self.probe()
            except Exception:
                logger.warning("watchdog probe failed", exc_info=True)
                healthy = False
            if healthy:
                self.watchdog.ping()
            else:
                logger.warning("main loop did not answer the watchdog probe; not pinging")

    def stop(self) -> None:
        self._stop_event.set()
