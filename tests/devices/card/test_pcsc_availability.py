"""Reader and service availability on the real stack: no reader, no pcscd, recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devices.card.auth import IssuerPublicKey
from devices.card.pcsc import PcscCardReader
from devices.card.reader import CardEventKind
from devices.errors import DeviceUnavailable
from devices.health import DeviceState
from tests.devices.card.conftest import PcscdDaemon
from tests.devices.card.test_pcsc import EventLog

HEALTH_TIMEOUT = 5.0


def wait_for_health(reader: PcscCardReader, state: DeviceState) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while reader.health().state != state:
        assert time.monotonic() < deadline, f"health stayed {reader.health()} instead of {state}"
        time.sleep(0.02)


@pytest.fixture
def reader_events() -> EventLog:
    return EventLog()


@pytest.fixture
def pcsc_reader(reader_events: EventLog) -> Iterator[PcscCardReader]:
    """A started PC/SC reader; the test decides what pcscd is doing."""
    reader = PcscCardReader(IssuerPublicKey.demo(), poll_interval=0.1)
    reader.subscribe(reader_events)
    reader.start()
    yield reader
    reader.stop()


def test_pcscd_without_readers_is_absent(
    pcscd_daemon: PcscdDaemon, pcsc_reader: PcscCardReader
) -> None:
    pcscd_daemon.ensure(with_vpcd=False)

    wait_for_health(pcsc_reader, "absent")
    with pytest.raises(DeviceUnavailable, match="no card reader") as caught:
        pcsc_reader.read_identity()
    assert caught.value.key == "card.reader_absent"


def test_pcscd_down_is_a_fault_and_recovery_is_seen(
    pcscd_daemon: PcscdDaemon, pcsc_reader: PcscCardReader, reader_events: EventLog
) -> None:
    pcscd_daemon.stop()

    wait_for_health(pcsc_reader, "fault")
    assert pcsc_reader.health().detail
    with pytest.raises(DeviceUnavailable) as caught:
        pcsc_reader.read_identity()
    assert caught.value.key == "card.service_down"
    assert not isinstance(caught.value.__cause__, DeviceUnavailable)

    pcscd_daemon.start(with_vpcd=True)

    wait_for_health(pcsc_reader, "ok")
    assert reader_events.wait_for(CardEventKind.READER_ATTACHED).reader.startswith("Virtual PCD")


def test_pcscd_stopping_under_a_running_supervisor_detaches_the_reader(
    pcscd_daemon: PcscdDaemon, pcsc_reader: PcscCardReader, reader_events: EventLog
) -> None:
    pcscd_daemon.ensure(with_vpcd=True)
    reader_events.wait_for(CardEventKind.READER_ATTACHED)

    pcscd_daemon.stop()

    assert reader_events.wait_for(CardEventKind.READER_DETACHED) is not None
    wait_for_health(pcsc_reader, "fault")
    assert pcsc_reader.health().state == "fault"
