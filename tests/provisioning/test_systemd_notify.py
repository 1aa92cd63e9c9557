"""sd_notify over a real datagram socket that the test binds, as systemd would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt.systemd_notify import LoopWatchdog, Watchdog, notify, watchdog_interval


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def received(sock: socket.socket, count: int) -> list[str]:
    return [sock.recv(4096).decode() for _ in range(count)]


def test_ready_and_watchdog_reach_the_socket(notify_socket) -> None:
    sock, path = notify_socket
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "300000", "WATCHDOG_PID": str(os.getpid())}
    watchdog = Watchdog(env)
    assert watchdog.interval == pytest.approx(0.3)
    watchdog.ready("up")
    watchdog.ready()  # once only
    watchdog.ping()
    watchdog.ping()  # within a third of the interval: not sent again
    time.sleep(0.11)
    watchdog.ping()
    assert received(sock, 3) == ["READY=1\nSTATUS=up", "WATCHDOG=1", "WATCHDOG=1"]
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_abstract_socket_names_are_supported() -> None:
    name = f"govkiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"READY=1"


def test_outside_systemd_everything_is_a_no_op() -> None:
    assert notify("READY=1", {}) is False
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None
    Watchdog({}).ping()


def test_the_loop_watchdog_pings_only_while_the_probe_answers(notify_socket) -> None:
    sock, path = notify_socket
    healthy = [True]
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "150000"}
    thread = LoopWatchdog(lambda: healthy[0], env)
    thread.start()
    assert received(sock, 2) == ["WATCHDOG=1", "WATCHDOG=1"]
    healthy[0] = False
    time.sleep(0.1)
    sock.settimeout(0.01)
    try:  # drain a ping that was on its way
        while True:
            sock.recv(64)
    except TimeoutError:
        pass
    sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sock.recv(64)
    thread.stop()
    thread.join(2)


def test_kiosk_agent_says_ready_and_pings_from_its_loop(notify_socket, tmp_path: Path) -> None:
    """The real program under a NOTIFY_SOCKET: READY=1, then WATCHDOG=1 while its loop runs."""
    sock, path = notify_socket
    env = {
        **os.environ,
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "600000",
        "KIOSK_ID": "kiosk-notify-01",
        "KIOSK_DATA_DIR": str(tmp_path / "kiosk"),
        "KIOSK_MQTT_URL": "mqtt://127.0.0.1:9",  # no broker: the loop still runs, so still alive
    }
    proc = subprocess.Popen(
        [Path(sys.executable).parent / "kiosk-agent"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        messages = received(sock, 3)
    finally:
        proc.terminate()
        proc.wait(10)
    assert messages[0].startswith("READY=1")
    assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
