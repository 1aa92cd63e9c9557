"""`make demo`: the whole spine on one machine, with one simulated kiosk.

Starts Mosquitto, the backend (serve + ingest) and a kiosk agent, plays a
citizen's visit into the kiosk's outbox, waits until the backend has every
event, prints what arrived and the URLs to look at, then runs until Ctrl-C
and stops everything it started. ``--once`` stops after the transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.journal import Journal  # noqa: E402
from kiosk.simulate import SimulatedKiosk, Visit, play_visit  # noqa: E402
from mqtt.broker import LocalBroker, free_port, port_open  # noqa: E402
from mqtt.device_health import DeviceHealthStore  # noqa: E402
from mqtt.outbox import Outbox  # noqa: E402

BIN = Path(sys.executable).parent
KIOSK_ID = "demo-kiosk-01"
NAMES = {
    "session.started": "会话开始",
    "card.read": "读卡核验",
    "face.verified": "人脸核验",
    "application.submitted": "提交申请",
    "receipt.printed": "打印回执",
    "rating.submitted": "好差评",
    "session.ended": "会话结束",
}


def pick_port(preferred: int) -> int:
    return preferred if not port_open("127.0.0.1", preferred) else free_port()


OPS_TOKEN: list[str] = []  # the demo's operator token: /api/v1/ops needs a role


def get_json(url: str, token: str | None = None) -> dict:
    token = token or (OPS_TOKEN[0] if OPS_TOKEN else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers), timeout=2
    ) as response:
        return json.load(response)


def wait(what: str, predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: timed out waiting for {what}; see the logs in var/demo/logs/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop after the transaction arrived")
    args = parser.parse_args()

    work = REPO / "var" / "demo"
    shutil.rmtree(work, ignore_errors=True)
    logs = work / "logs"
    logs.mkdir(parents=True)

    broker = LocalBroker(work / "broker", pick_port(1883))
    api_port = pick_port(8000)
    api = f"http://127.0.0.1:{api_port}"
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": f"sqlite:///{work / 'fleet.db'}",
        "FLEET_MQTT_URL": broker.url,
        "FLEET_INGEST_NAME": "demo",
        "KIOSK_ID": KIOSK_ID,
        "KIOSK_MQTT_URL": broker.url,
        "KIOSK_DATA_DIR": str(work / "kiosk"),
        "KIOSK_HEALTH_INTERVAL_S": "10",
        "PYTHONUNBUFFERED": "1",
    }
    children: list[subprocess.Popen[bytes]] = []

    def start(name: str, *argv: str) -> None:
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - handed to the child
        children.append(
            subprocess.Popen(
                [str(BIN / argv[0]), *argv[1:]], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        log.close()

    def stop_all() -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        broker.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"demo: starting Mosquitto on {broker.url}")
        broker.start()
        subprocess.run(
            [str(BIN / "fleet-backend"), "db", "upgrade"], env=env, check=True, capture_output=True
        )
        # The demo catalog, FAQ and citizens (data/); the demo's own key folder, development keys.
        env.setdefault("FLEET_ENVIRONMENT", "development")
        env.setdefault("FLEET_CA_DIR", str(work / "ca"))
        env.setdefault("FLEET_DEV_OUTBOX_DIR", str(work / "dev-outbox"))
        env.setdefault("FLEET_FACE_CHECK", "sandbox")  # phone binding's face check: the sandbox
        env["FLEET_PUBLIC_BASE_URL"] = api
        loaded = subprocess.run(
            [str(BIN / "fleet-backend"), "load-demo", "--data", str(REPO / "data")],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"demo: {loaded.stdout.strip()}")
        print(
            "demo: mini-app log-in codes go to "
            f"{env['FLEET_DEV_OUTBOX_DIR']}/sms.jsonl (demo citizen 张三: 13800138000)"
        )
        print(
            "demo: log in as 13800138000 and 张三's real name binds at once; any other phone "
            "binds with the code sent to 13800138000 (same file)"
        )
        # The ops centre: an admin to log in as, a token for this script's API calls.
        admin_password = secrets.token_urlsafe(9)
        fleet_cli = [str(BIN / "fleet-backend"), "admin"]
        subprocess.run(
            [*fleet_cli, "create-user", "--username", "admin", "--role", "admin", "--password-stdin"],
            env=env, input=admin_password + "\n", check=True, capture_output=True, text=True,
        )  # fmt: skip
        token = subprocess.run(
            [*fleet_cli, "create-token", "--role", "operator", "--name", "demo-script"],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        OPS_TOKEN.append(token.stdout.strip())
        reviewer = subprocess.run(
            [*fleet_cli, "create-token", "--role", "reviewer", "--name", "demo-reviewer"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"demo: starting the backend on {api} (serve + ingest) and kiosk agent {KIOSK_ID}")
        start("serve", "fleet-backend", "serve", "--host", "127.0.0.1", "--port", str(api_port))
        start("ingest", "fleet-backend", "ingest")
        start("agent", "kiosk-agent")
        # A dozen simulated kiosks in several regions, for a lively ops centre (fleet-sim --help).
        start("fleet-sim", "fleet-sim", "--kiosks", "12", "--data-dir", str(work / "fleet-sim"))
        wait("the API", lambda: get_json(f"{api}/healthz")["status"] == "ok", 30)
        wait("ingest", lambda: "subscribed" in (logs / "ingest.log").read_text(), 30)

        db = Outbox.open(Path(env["KIOSK_DATA_DIR"]) / "kiosk.db").db
        outbox = Outbox(db)
        journal = Journal(db, outbox)
        kiosk = SimulatedKiosk.open(DeviceHealthStore(db), journal)
        print("demo: a citizen inserts a card, verifies their face, applies, prints, rates …")
        visit = Visit(receipt_url=f"{api}/app/#/applications/")
        events = play_visit(kiosk, journal, KIOSK_ID, datetime.now(UTC), visit)
        print("demo: the receipt the kiosk printed (simulated printer):")
        print("  " + kiosk.printer.as_text().strip().replace("\n", "\n  "))
        kiosk.close()
        url = f"{api}/api/v1/ops/events?kiosk={KIOSK_ID}"
        wait(
            "the transaction to reach the backend",
            lambda: len(get_json(url)["items"]) == len(events) and outbox.stats().depth == 0,
            60,
        )
        print(
            f"demo: the backend stored all {len(events)} events, each once; the kiosk's outbox is empty:"
        )
        for item in reversed(get_json(url)["items"]):
            print(
                f"  seq {item['seq']:>2}  {NAMES.get(item['kind'], item['kind'])}  ({item['kind']})"
            )
        receipt = next(
            json.loads(e.body)["receipt_no"] for e in events if e.kind == "application.submitted"
        )
        application_url = f"{api}/api/v1/review/applications/{receipt}"
        wait("the application", lambda: get_json(application_url, reviewer), 30)
        application = get_json(application_url, reviewer)
        print(f"demo: application {receipt} ({application['item_name']}), as the backend has it:")
        for step in application["history"]:
            print(f"  {step['state_name']}  ({step['actor']}: {step['reason']})")
        print()
        print(f"  API docs:        {api}/docs")
        print(f"  Kiosks (JSON):   {api}/api/v1/ops/kiosks")
        print(f"  Events (JSON):   {url}")
        print(f"  Ops centre:      {api}/ops/   (user admin, password {admin_password})")
        print(
            f"  Mini-app:        {api}/app/   (phone 13800138000 张三 11010519491231002X; "
            f"SMS codes in {env['FLEET_DEV_OUTBOX_DIR']}/sms.jsonl)"
        )
        print(f"  Reviewer API:    {api}/api/v1/review/applications   (bearer token {reviewer})")
        print(f"  MQTT broker:     {broker.url}")
        print("  Touch screen:    .venv/bin/kiosk --sim   (on a display; F1 inserts the demo card)")
        print(f"  Logs:            {logs}/")
        if args.once:
            return 0
        print("\ndemo: running; press Ctrl-C to stop everything.")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("demo: a process stopped unexpectedly; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: stopping …")
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
