"""fleet-sim: ids, the failure syntax and control lines, and one simulated kiosk on a real broker."""

from __future__ import annotations

import argparse
import json
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.fleet_sim import Fleet, SimKiosk, SimSettings, kiosk_ids, main, parse_failure
from mqtt.agent.app_commands import AppCommandQueue
from mqtt.broker import LocalBroker
from mqtt.client import new_client
from tests.conftest import wait_for


def test_ids_follow_enrolment_and_failures_parse() -> None:
    assert kiosk_ids(5, ["110101", "320102"], 1) == [
        "k110101-0001",
        "k320102-0001",
        "k110101-0002",
        "k320102-0002",
        "k110101-0003",
    ]
    assert kiosk_ids(1, ["110102"], 7) == ["k110102-0007"]
    assert parse_failure("k110101-0001:paper_out@30") == ("k110101-0001", "paper_out", 30.0)
    assert parse_failure("k110101-0001:offline") == ("k110101-0001", "offline", 0.0)
    for bad in ("k110101-0001", "k110101-0001:melt", "k110101-0001:offline@soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_failure(bad)


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kiosks", "0"]) == 2
    assert main(["--kiosks", "1", "--regions", "11"]) == 2
    assert main(["--kiosks", "1", "--fail", "k999999-0001:offline"]) == 2
    assert "not one of the simulated kiosks" in capsys.readouterr().err


def test_a_simulated_kiosk_reports_health_serves_commands_and_fails_on_request(
    tmp_path: Path, broker: LocalBroker
) -> None:
    kiosk = SimKiosk(
        "k110101-0001",
        tmp_path / "k110101-0001",
        SimSettings(mqtt_url=broker.url),
        health_interval_s=0.5,
        visit_interval_s=0.3,
        rng=random.Random(1),
    )
    fleet = Fleet({kiosk.kiosk_id: kiosk})
    seen: dict[str, list[dict]] = {"health": [], "events": [], "status": []}
    lock = threading.Lock()
    listener = new_client("test-listener")

    def on_message(client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        with lock:
            seen[message.topic.split("/", 2)[2]].append(json.loads(message.payload))

    listener.on_message = on_message
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe([("kiosk/+/health", 1), ("kiosk/+/events", 1), ("kiosk/+/status", 1)])
    listener.loop_start()
    kiosk.start()
    try:
        assert wait_for(lambda: any(e["kind"] == "rating.submitted" for e in seen["events"]), 20)
        assert seen["health"][-1]["body"]["devices"]["card_reader"]["state"] == "ok"
        assert fleet.control("fail k110101-0001 paper_out").startswith("ok")
        assert fleet.control("fail k110101-0001 melt").startswith("error")
        assert fleet.control("fail k110101-0404 offline").startswith("error")
        assert wait_for(lambda: seen["health"][-1]["body"]["paper"] == "out", 10)
        queue = AppCommandQueue(tmp_path / "k110101-0001" / "kiosk.db")
        c1, c2 = str(uuid.uuid4()), str(uuid.uuid4())
        queue.put(c1, "print_test_page", {}, datetime.now(UTC) + timedelta(minutes=1))
        assert wait_for(lambda: queue.get(c1).state == "failed", 10)  # no paper: it says so
        fleet.control("recover k110101-0001")
        queue.put(c2, "print_test_page", {}, datetime.now(UTC) + timedelta(minutes=1))
        assert wait_for(lambda: queue.get(c2).state == "done", 10)
        assert "locked=False" in fleet.control("list")
        fleet.control("fail k110101-0001 offline")
        assert wait_for(
            lambda: seen["status"] and seen["status"][-1]["body"]["state"] == "offline", 15
        )
        fleet.control("recover k110101-0001 offline")
        assert wait_for(lambda: seen["status"][-1]["body"]["state"] == "online", 15)
    finally:
        kiosk.stop()
        listener.loop_stop()
        listener.disconnect()
