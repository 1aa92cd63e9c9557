"""``kiosk --sim``, the console script, starts the app on a display and keeps running."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import wait_for

BIN = Path(sys.executable).parent


def test_kiosk_sim_starts_and_runs(xvfb: str, tmp_path: Path) -> None:
    """Also as systemd runs it (Type=notify, WatchdogSec=): READY=1 once drawn, then pings."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.2)
    env = {
        **os.environ,
        "DISPLAY": xvfb,
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIOSK_MQTT_URL": "mqtt://127.0.0.1:1",
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "3000000",
    }
    log = tmp_path / "kiosk.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "kiosk"), "--sim", "--size", "540x960"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    received: list[str] = []

    def heard(message: str) -> bool:
        with contextlib.suppress(TimeoutError):
            received.append(notify.recv(4096).decode())
        return any(message in m for m in received)

    try:
        assert wait_for(lambda: (tmp_path / "data" / "kiosk.db").exists(), 30), log.read_text()
        assert wait_for(lambda: heard("READY=1"), 30), log.read_text()[-3000:]
        received.clear()
        assert wait_for(lambda: heard("WATCHDOG=1"), 5)  # pinged from the Kivy clock
        time.sleep(2)  # the event loop runs: health polls, catalog sync attempt
        assert proc.poll() is None, log.read_text()[-3000:]
    finally:
        proc.terminate()
        proc.wait(15)
        notify.close()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_kiosk_refuses_bad_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "kiosk"), "--sim"],
        env={**os.environ, "KIOSK_ID": "Bad Id!"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "kiosk: bad settings" in result.stderr
