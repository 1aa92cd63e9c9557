"""Device probes -> the agent's device table and fault/recovery events, with the real simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.card.sim import SimCardReader
from devices.health import DeviceHealth
from devices.printer import SimulatedPrinter
from kiosk.health_reporter import HealthReporter
from kiosk.journal import Journal
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox


class Exploding:
    def health(self) -> DeviceHealth:
        raise RuntimeError("driver bug")


@pytest.fixture
def kiosk_db(tmp_path: Path):
    outbox = Outbox.open(tmp_path / "kiosk.db")
    return outbox, DeviceHealthStore(outbox.db), Journal(outbox.db, outbox)


def kinds(outbox: Outbox) -> list[tuple[str, str]]:
    return [(e.kind, e.body) for e in outbox.next_batch(100)]


def test_a_printer_running_out_of_paper_and_refilled(kiosk_db) -> None:
    outbox, store, journal = kiosk_db
    printer = SimulatedPrinter()
    reporter = HealthReporter({"printer": printer}, store, journal)

    reporter.poll_once()
    assert store.all()["printer"].state == "ok" and store.paper() == "ok"
    assert outbox.stats().depth == 0  # nothing to report while all is well

    printer.set_paper("low")
    reporter.poll_once()
    assert store.paper() == "low" and outbox.stats().depth == 0

    printer.set_paper("out")
    reporter.poll_once()
    reporter.poll_once()  # still out: reported once, not at every poll
    assert store.paper() == "out"
    events = outbox.next_batch(10)
    assert [(e.kind, '"paper_out"' in e.body) for e in events] == [("device.fault", True)]

    printer.set_paper("ok")
    reporter.poll_once()
    assert [e.kind for e in outbox.next_batch(10)] == ["device.fault", "device.recovered"]
    assert len(journal.recent()) == 2


def test_a_reader_unplugged_and_a_probe_that_raises(kiosk_db) -> None:
    outbox, store, journal = kiosk_db
    reader = SimCardReader()
    reader.start()
    try:
        reporter = HealthReporter({"card_reader": reader, "camera": Exploding()}, store, journal)
        reporter.poll_once()
        reader.detach_reader()
        reporter.poll_once()
        states = store.all()
        assert states["card_reader"].state == "absent"
        assert states["camera"].state == "fault" and "RuntimeError" in states["camera"].detail
        faults = [e for e in outbox.next_batch(10) if e.kind == "device.fault"]
        assert {('"card_reader"' in e.body, '"camera"' in e.body) for e in faults} == {
            (False, True),
            (True, False),
        }
    finally:
        reader.stop()
