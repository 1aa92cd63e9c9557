"""Device health, from each device's probe to the agent's snapshot and the outbox.

The kiosk app owns the devices; the agent, a separate process, reports their
health. This reporter is the bridge: it asks every device's ``health()``
probe, writes the answer where the agent reads it (``DeviceHealthStore`` in
the kiosk's SQLite file) and turns every change into something to act on:
a device that goes into fault (or absent) becomes a ``device.fault`` event,
one that comes back a ``device.recovered`` event. Changes are logged once
when lost and once when back, not at every poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from devices.health import DeviceHealth, HealthProbe
from kiosk.journal import Journal
from mqtt.device_health import DeviceHealthStore

logger = logging.getLogger(__name__)

BROKEN = frozenset({"fault", "absent"})


def fault_code(health: DeviceHealth | None) -> str | None:
    """What is wrong, as a stable code, or None when the device can serve."""
    if health is None or health.state not in BROKEN:
        return None
    return "paper_out" if health.paper == "out" else health.state


class HealthReporter:
    def __init__(
        self,
        probes: Mapping[str, HealthProbe],
        store: DeviceHealthStore,
        journal: Journal,
        *,
        interval_s: float = 10.0,
    ) -> None:
        self.probes = dict(probes)
        self.store = store
        self.journal = journal
        self.interval_s = interval_s
        self._last: dict[str, DeviceHealth] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> dict[str, DeviceHealth]:
        """Ask every probe once, record and report what changed; returns the readings."""
        readings = {}
        for name, probe in self.probes.items():
            try:
                health = probe.health()
            except Exception as err:  # a probe must never take the kiosk down
                logger.exception("health probe of %s raised", name)
                health = DeviceHealth(state="fault", detail=f"probe failed: {type(err).__name__}")
            readings[name] = health
            self._record(name, health)
        return readings

    def _record(self, name: str, health: DeviceHealth) -> None:
        self.store.set(name, health.state, health.detail, paper=health.paper)
        before = self._last.get(name)
        self._last[name] = health
        code, was = fault_code(health), fault_code(before)
        if code is not None and code != was:
            logger.warning("%s: %s (%s)", name, code, health.detail)
            body = {"device": name, "code": code, "detail": (health.detail or "")[:500] or None}
            self.journal.record("device.fault", body, f"设备故障：{name} {code}")
        elif code is None and was is not None:
            logger.info("%s is back: %s", name, health.state)
            self.journal.record("device.recovered", {"device": name}, f"设备恢复：{name}")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="health-reporter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval_s)
