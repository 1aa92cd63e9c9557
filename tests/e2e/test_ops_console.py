"""The ops console in headless Chromium, against the real backend, broker, ingest and fleet-sim.

An operator logs in, sees the charts drawn with data (screenshot kept in
test-artifacts/), sees a kiosk that was SIGKILLed go offline and its alert
open within the window, acknowledges it, sends "print test page" to another
kiosk and sees the kiosk's acknowledgement; a technician is refused a kiosk
outside their region. Afterwards the audit log verifies, and fails once a row
is changed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from mqtt.broker import free_port
from tests.conftest import REPO, Processes, wait_for

BIN = Path(sys.executable).parent
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct-horse-battery"
OFFLINE_AFTER_S = 6
STEADY = "k110101-0001"  # 北京市东城区: the technician's region
OTHER = "k320102-0001"  # 南京市玄武区
DOOMED = "k110102-0001"  # 北京市西城区: SIGKILLed during the test


def _cli(env: dict[str, str], *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "fleet-backend", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/ops/")
    assert "/ops/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/ops/")


def _reload_until(page: Page, url: str, selector: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator(selector).count():
            return True
        time.sleep(0.5)
    return False


def test_ops_console_end_to_end(
    fleet: Processes, fleet_db: Engine, browser: Browser, tmp_path: Path
) -> None:
    env = {
        **fleet.env,
        "FLEET_ALERT_INTERVAL_S": "1",
        "FLEET_ALERT_OFFLINE_AFTER_S": str(OFFLINE_AFTER_S),
        "FLEET_PUBLISHER_NAME": "e2e",
    }
    fleet.env = env
    for username, role, regions in (("op1", "operator", []), ("tech1", "technician", ["110101"])):
        region_args = [a for r in regions for a in ("--region", r)]
        made = _cli(env, "admin", "create-user", "--username", username, "--role", role, "--password-stdin", *region_args, stdin=PASSWORD + "\n")  # fmt: skip
        assert made.returncode == 0, made.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fleet.ingest("ingest-1")
    fleet.start("serve", ["fleet-backend", "serve", "--port", str(port)])
    sim_args = ["--health-interval", "1", "--visit-interval", "1", "--seed", "7"]
    fleet.start("sim-a", ["fleet-sim", "--kiosks", "2", "--regions", "110101,320102", "--data-dir", str(tmp_path / "sim-a"), *sim_args, "--fail", f"{OTHER}:reader_fault@3"])  # fmt: skip
    fleet.start("sim-b", ["fleet-sim", "--kiosks", "1", "--regions", "110102", "--data-dir", str(tmp_path / "sim-b"), *sim_args])  # fmt: skip
    assert wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200 if _port_open(port) else False, 30), fleet.log("serve")  # fmt: skip

    def online() -> set[str]:
        with fleet_db.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT id FROM kiosks WHERE online"))}

    def rated() -> int:
        with fleet_db.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE kind = 'rating.submitted'")).scalar_one()  # fmt: skip

    assert wait_for(lambda: online() == {STEADY, OTHER, DOOMED}, 40), (online(), fleet.log("sim-a"))
    assert wait_for(lambda: rated() >= 3, 40), fleet.log("sim-a")

    def faults() -> int:
        with fleet_db.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE kind = 'device.fault'")).scalar_one()  # fmt: skip

    assert wait_for(lambda: faults() >= 1, 20), fleet.log("sim-a")  # the broken reader
    time.sleep(2)  # a fleet sample or two for the online-rate chart

    # -- the operator: fleet page and charts -------------------------------------------------
    operator = browser.new_context(viewport={"width": 1600, "height": 1400}, locale="zh-CN")
    page = operator.new_page()
    _login(page, base, "op1")
    assert page.locator("#count-total").inner_text() == "3"
    assert page.locator(f'#kiosks tr[data-kiosk="{STEADY}"]').count() == 1
    page.wait_for_selector('#charts[data-loaded="1"]', timeout=15_000)
    for chart in ("online", "transactions", "faults", "satisfaction-region", "satisfaction-item"):
        assert page.locator(f"#chart-{chart} canvas").count() >= 1, chart
    assert page.locator("#region-tree").inner_text().count("北京市") >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ops-console-fleet.png"), full_page=True)
    assert (ARTIFACTS / "ops-console-fleet.png").stat().st_size > 20_000

    # -- a kiosk dies: offline, and its alert opens within the window ------------------------
    killed_at = time.monotonic()
    fleet.running["sim-b"].send_signal(signal.SIGKILL)
    fleet.running.pop("sim-b").wait(10)
    alert_row = f'tr.alert-row[data-kiosk="{DOOMED}"][data-rule="offline"]'
    assert _reload_until(page, f"{base}/ops/alerts", alert_row, OFFLINE_AFTER_S + 20), fleet.log("serve")  # fmt: skip
    opened_after = time.monotonic() - killed_at
    assert opened_after < OFFLINE_AFTER_S + 15  # the window, the rule period and a page load
    page.goto(f"{base}/ops/?state=offline")
    assert page.locator(f'#kiosks tr[data-kiosk="{DOOMED}"] td.state').inner_text() == "离线"
    page.goto(f"{base}/ops/alerts")
    page.locator(alert_row).locator("button.ack").click()
    page.wait_for_url(f"{base}/ops/alerts")
    state = page.locator(alert_row).locator("td.state").inner_text()
    assert "已确认" in state and "user:op1" in state

    # -- a remote command, carried out by the simulated kiosk app, acknowledged --------------
    page.goto(f"{base}/ops/kiosks/{STEADY}")
    page.click("#cmd-print_test_page")
    page.wait_for_url(f"{base}/ops/kiosks/{STEADY}?sent=*")
    done = '#command-list tr[data-name="print_test_page"][data-state="done"]'
    assert _reload_until(page, f"{base}/ops/kiosks/{STEADY}", done, 20), fleet.log("sim-a")
    assert "测试页已打印" in page.locator(done).inner_text()
    page.wait_for_selector('#kiosk-history[data-rendered="1"]', timeout=10_000)  # health history
    page.screenshot(path=str(ARTIFACTS / "ops-console-kiosk.png"), full_page=True)
    operator.close()

    # -- a technician is refused a kiosk outside their region --------------------------------
    technician = browser.new_context(locale="zh-CN")
    tpage = technician.new_page()
    _login(tpage, base, "tech1")
    assert tpage.locator(f'#kiosks tr[data-kiosk="{OTHER}"]').count() == 0
    refused = tpage.goto(f"{base}/ops/kiosks/{OTHER}")
    assert refused is not None and refused.status == 403
    allowed = tpage.goto(f"{base}/ops/kiosks/{STEADY}")
    assert allowed is not None and allowed.status == 200
    technician.close()

    # -- the audit log verifies, then fails after a row is changed ---------------------------
    verified = _cli(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    with fleet_db.begin() as conn:
        actions = {r[0] for r in conn.execute(text("SELECT action FROM audit_log"))}
        assert {"user.create", "login", "alert.acknowledge", "command.send"} <= actions
        conn.execute(
            text("UPDATE audit_log SET actor = 'user:nobody' WHERE action = 'command.send'")
        )
    broken = _cli(env, "audit", "verify")
    assert broken.returncode == 1 and "BROKEN at entry" in broken.stderr


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
