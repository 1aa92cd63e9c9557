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

import httpx  # noqa: E402
from cryptography import x509  # noqa: E402

from kiosk.journal import Journal  # noqa: E402
from kiosk.simulate import SimulatedKiosk, Visit, play_visit  # noqa: E402
from mqtt.broker import LocalBroker, free_port, port_open  # noqa: E402
from mqtt.device_health import DeviceHealthStore  # noqa: E402
from mqtt.outbox import Outbox  # noqa: E402
from provisioning.ca import make_csr, new_key  # noqa: E402
from provisioning.request_signing import KioskAuth, KioskSigner  # noqa: E402

BIN = Path(sys.executable).parent
KIOSK_ID = "demo-kiosk-01"  # replaced by the id the backend gives at enrolment
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


DEMO_CITIZEN_ID_NUMBER = "11010519491231002X"  # 张三, data/citizens/; the demo card's holder
OPS_TOKEN: list[str] = []  # the demo's operator token: /api/v1/ops needs a role


def get_json(url: str, token: str | None = None) -> dict:
    token = token or (OPS_TOKEN[0] if OPS_TOKEN else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers), timeout=2
    ) as response:
        return json.load(response)


def enrol_and_vouch(api: str) -> tuple[KioskSigner, str]:
    """Enrol the demo kiosk as kioskctl does (one-time code, CSR, certificate), then let it
    vouch for the demo citizen (card read, face matched): the backend's session reference,
    which the kiosk's application and rating name as their proof that 张三 was there."""
    code = post_json(
        f"{api}/api/v1/ops/enrolment-codes",
        {"site": "东城区政务服务中心 1 楼（演示）", "region_code": "110101"},
        OPS_TOKEN[0],
    )["code"]
    key = new_key()
    enrolled = post_json(
        f"{api}/api/v1/enrol", {"code": code, "csr_pem": make_csr(key, "kiosk").decode()}
    )
    signer = KioskSigner(key, x509.load_pem_x509_certificate(enrolled["certificate_pem"].encode()))
    with httpx.Client(base_url=api, auth=KioskAuth(signer), timeout=10) as client:
        response = client.post(
            "/api/v1/kiosk/citizen-sessions",
            json={
                "id_number": DEMO_CITIZEN_ID_NUMBER,
                "name": "张三",
                "card_type": "resident_id",
                "face": {"decision": "match", "distance": 0.35, "liveness": "passed"},
            },
        )
        response.raise_for_status()
    return signer, response.json()["session_ref"]


def post_json(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(url, json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


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
        # fleet-sim's kiosks are simulated, not enrolled: admit them (production: auto/true)
        "FLEET_REQUIRE_ENROLMENT": "false",
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
        if not (Path(env["FLEET_CA_DIR"]) / "ca.cert.pem").exists():  # the fleet CA enrols kiosks
            subprocess.run(
                [str(BIN / "fleet-backend"), "ca", "init"], env=env, check=True, capture_output=True
            )
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
        print(f"demo: starting the backend on {api} (serve + ingest)")
        start("serve", "fleet-backend", "serve", "--host", "127.0.0.1", "--port", str(api_port))
        start("ingest", "fleet-backend", "ingest")
        wait("the API", lambda: get_json(f"{api}/healthz")["status"] == "ok", 30)
        wait("ingest", lambda: "subscribed" in (logs / "ingest.log").read_text(), 30)
        signer, session_ref = enrol_and_vouch(api)
        kiosk_id = env["KIOSK_ID"] = signer.kiosk_id
        print(f"demo: kiosk enrolled as {kiosk_id}; it vouched for 张三 (card and face)")
        start("agent", "kiosk-agent")
        # A dozen simulated kiosks in several regions, for a lively ops centre (fleet-sim --help).
        # Numbered from 0101 per region, so that none takes the id the real enrolment gave.
        start(
            "fleet-sim", "fleet-sim", "--kiosks", "12", "--first", "101",
            "--data-dir", str(work / "fleet-sim"),
        )  # fmt: skip

        db = Outbox.open(Path(env["KIOSK_DATA_DIR"]) / "kiosk.db").db
        outbox = Outbox(db)
        journal = Journal(db, outbox)
        kiosk = SimulatedKiosk.open(DeviceHealthStore(db), journal)
        print("demo: a citizen inserts a card, verifies their face, applies, prints, rates …")
        visit = Visit(receipt_url=f"{api}/app/#/applications/", citizen_session=session_ref)
        events = play_visit(kiosk, journal, kiosk_id, datetime.now(UTC), visit)
        print("demo: the receipt the kiosk printed (simulated printer):")
        print("  " + kiosk.printer.as_text().strip().replace("\n", "\n  "))
        kiosk.close()
        url = f"{api}/api/v1/ops/events?kiosk={kiosk_id}"
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
        proof = application.get("proof") or {}
        print(
            f"  proved by: {proof.get('kind')} (the backend's session {proof.get('session_ref')} "
            f"at kiosk {proof.get('kiosk_id')}, opened on card and face)"
        )
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
