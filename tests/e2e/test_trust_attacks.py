"""A dishonest enrolled kiosk against the real fleet: TLS broker, ``serve`` and ``ingest``.

Everything runs as in a deployment: Mosquitto with the configuration
``fleet-broker-config`` writes (TLS, client certificates, ACL) and the fleet CA
of the backend, ``fleet-backend serve`` and ``fleet-backend ingest`` as
subprocesses (ingest with its service certificate), the demo data loaded by
``fleet-backend load-demo``, and two kiosks enrolled through the real
``/api/v1/enrol``. Kiosk A is the attacker: it holds its own certificate and
publishes with paho what kiosk-agent would, on the topics the ACL grants it.
Kiosk B is honest. Each attack is counted and its outcome read back from the
database and the API (never from logs); one summary line per attack is printed.

1. A applies 600 times for 张三 (a 秒批 item) with no session, a made-up one and
   B's real one: nothing approved, no licence, all ``unmatched`` for a reviewer.
2. A uses B's next receipt numbers: all ``foreign_receipt`` dead letters; B's
   genuine applications with those numbers are then all accepted.
3. A publishes on B's topics: the broker refuses (0x87), nothing is stored.
4. A's clock claims the year 9999: the later real snapshot wins, the skew is
   shown; a far-future ``connected_at`` does not pin A offline.
5. Retained junk on A's topics, ingest restarted three times: one dead letter
   per junk message, no ghost kiosk.
6. The honest path: B's kiosk-agent delivers 张三's application, 秒批 to delivered.
7. 100 差评 naming no application and no citizen session: kept and counted, marked
   unproven, and no rectification task (no department work on a kiosk's word alone).
8. A resends, reuses its event id and its receipt number, and B's event id: conflicts.
9. A is retired while connected and keeps publishing: all refused (``retired``), and the
   session it opened before retirement vouches for no one.
10. A's certificate after retirement and the reload the operators' guide prescribes:
    refused (retirement rewrites the broker's CRL too, ``FLEET_BROKER_CRL_FILE``).

Run on SQLite and PostgreSQL; about 25 s each.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.core.db import make_engine
from backend.models import (
    Application,
    ApplicationHistory,
    DeadLetter,
    Event,
    HealthSnapshot,
    Licence,
    Notification,
    Rating,
    RectificationTask,
)
from mqtt.broker import LocalBroker, free_port
from mqtt.client import TlsFiles, new_client
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.messages import HealthBody, StatusBody
from mqtt.contract.receipts import receipt_number
from mqtt.outbox import Outbox
from provisioning.broker import BrokerConfig, render_conf, write_deployment
from provisioning.request_signing import KioskAuth, KioskSigner
from tests.backend.gov_fixtures import SSC_REISSUE, WANG_XIAOHONG, ZHANG_SAN
from tests.conftest import REPO, Processes, wait_for
from tests.kiosk_identity import CA_PASSPHRASE, enrol_test_kiosk, fleet_ca, write_identity

BIN = Path(sys.executable).parent
FORGED_PER_KIND = 200  # attack 1: this many of each forgery
STOLEN_RECEIPTS = 200  # attack 2
OTHER_TOPIC = 50  # attack 3
RETAINED_JUNK = 500  # attack 5
INGEST_RESTARTS = 3
NOT_AUTHORIZED = 0x87  # MQTT 5 reason code in the PUBACK of a publish the ACL refuses
APPROVED = ("approved", "delivered")
INSTANT_ACTOR = "system:秒批"
ZHANG_SAN_MASKED = "110105********002X"


# --- the fleet --------------------------------------------------------------------------------


class KioskLink:
    """A kiosk's own MQTT connection, with its enrolled certificate, as kiosk-agent makes it.

    The broker makes the certificate's CN the client id, so only one link per
    kiosk may be open at a time (a second one would take the first one's place).
    """

    def __init__(self, kiosk_id: str, tls: TlsFiles, port: int) -> None:
        self.id = kiosk_id
        self.seq = itertools.count(1)
        self.pubacks: dict[int, int] = {}
        self._lock = threading.Lock()
        connected = threading.Event()
        self.client = new_client(kiosk_id)
        self.client.tls_set_context(tls.context())
        self.client.on_publish = self._on_publish
        self.client.on_connect = lambda c, u, f, reason, p: (
            None if reason.is_failure else connected.set()
        )
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert connected.wait(15), f"kiosk {kiosk_id} could not connect to the TLS broker"

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            self.pubacks[mid] = int(reason.value)

    def publish(self, topic_name: str, payload: bytes, *, retain: bool = False) -> int:
        info = self.client.publish(topic_name, payload, qos=1, retain=retain)
        return info.mid

    def event(self, kind: str, body: dict[str, Any], *, ts: datetime | None = None) -> bytes:
        return encode(make_envelope(self.id, kind, body, ts=ts, seq=next(self.seq)))

    def publish_events(self, payloads: list[bytes]) -> list[int]:
        return [self.publish(topic(self.id, Channel.EVENTS), p) for p in payloads]

    def acknowledged(self, mids: list[int], timeout: float = 60) -> list[int]:
        """The broker's PUBACK reason codes for ``mids`` (waits for all of them)."""

        def all_in() -> bool:
            with self._lock:
                return all(m in self.pubacks for m in mids)

        assert wait_for(all_in, timeout), f"{self.id}: PUBACKs missing"
        with self._lock:
            return [self.pubacks[m] for m in mids]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class TrustFleet:
    database: str  # sqlite | postgresql
    root: Path
    env: dict[str, str]
    procs: Processes
    engine: Engine
    api: httpx.Client
    operator: dict[str, str]
    reviewer: dict[str, str]
    broker: LocalBroker
    ca_file: Path
    kiosk_tls: dict[str, TlsFiles]
    signers: dict[str, KioskSigner]
    a: KioskLink
    b: KioskLink
    config: pytest.Config  # its terminal: the summaries are shown with -q too
    b_receipts: itertools.count = field(default_factory=lambda: itertools.count(1))
    summaries: list[str] = field(default_factory=list)

    def auth(self, kiosk_id: str) -> KioskAuth:
        return KioskAuth(self.signers[kiosk_id])

    def vouch(self, kiosk_id: str, person: dict[str, str]) -> dict[str, Any]:
        """The kiosk vouches for ``person`` (card and face), signed with its key."""
        response = self.api.post(
            "/api/v1/kiosk/citizen-sessions",
            json={
                "id_number": person["id_number"],
                "name": person["name"],
                "card_type": "resident_id",
                "face": {"decision": "match", "distance": 0.31, "liveness": "passed"},
            },
            auth=self.auth(kiosk_id),
        )
        assert response.status_code == 201, response.text
        return response.json()

    def next_b_receipt(self) -> str:
        return receipt_number(self.b.id, datetime.now(UTC), next(self.b_receipts))

    def scalar(self, query: Any) -> Any:
        with Session(self.engine) as session:
            return session.scalar(query)

    def applications(self, receipts: list[str]) -> list[Application]:
        with Session(self.engine) as session:
            rows = []
            for i in range(0, len(receipts), 500):
                chunk = receipts[i : i + 500]
                rows += session.scalars(
                    select(Application).where(Application.receipt_no.in_(chunk))
                ).all()
            return rows

    def count_applications(self, receipts: list[str]) -> int:
        return len(self.applications(receipts))

    def paged(self, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated API list."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = self.api.get(path, params=query, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def citizen_applications(self, kiosk_id: str, token: str) -> list[dict[str, Any]]:
        """What the citizen sees in their own list (a kiosk session token, signed by the kiosk)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            response = self.api.get(
                "/api/v1/citizen/applications",
                params={"limit": 100, **({"cursor": cursor} if cursor else {})},
                headers={"Authorization": f"Bearer {token}"},
                auth=self.auth(kiosk_id),
            )
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if not cursor:
                return items

    def dead_letters(self, reason_code: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 1000}
        if reason_code:
            params["reason_code"] = reason_code
        return self.paged("/api/v1/ops/dead-letters", self.operator, **params)

    def dead_letter_count(self) -> int:
        return self.scalar(select(func.count()).select_from(DeadLetter))

    def kiosk_view(self, kiosk_id: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v1/ops/kiosks/{kiosk_id}", headers=self.operator)
        assert response.status_code == 200, response.text
        return response.json()

    def event_stored(self, event_id: str) -> bool:
        return self.scalar(select(func.count()).select_from(Event).where(Event.id == event_id)) == 1

    def report(self, line: str) -> None:
        line = f"[{self.database}] {line}"
        self.summaries.append(line)
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if terminal is None or capture is None:
            print(line)
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(line)


def _cli(env: dict[str, str], cwd: Path, *argv: str) -> str:
    done = subprocess.run(
        [str(BIN / "fleet-backend"), *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"fleet-backend {' '.join(argv)}: {done.stderr}"
    return done.stdout.strip()


def _token(env: dict[str, str], cwd: Path, role: str) -> dict[str, str]:
    out = _cli(env, cwd, "admin", "create-token", "--role", role, "--name", f"trust-{role}")
    token = next(w for w in out.split() if w.startswith("gk_"))
    return {"Authorization": f"Bearer {token}"}


def _serving(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _subscribed(procs: Processes, name: str) -> int:
    return (
        procs.log(name).count("subscribed (group")
        if (procs.workdir / f"{name}.log").exists()
        else 0
    )


def start_ingest(procs: Processes) -> None:
    before = _subscribed(procs, "ingest")
    procs.ingest("ingest")
    assert wait_for(lambda: _subscribed(procs, "ingest") > before, 30, 0.1), procs.log("ingest")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trust_fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrustFleet]:
    root = tmp_path_factory.mktemp(f"trust-{request.param}")
    ca_dir = root / "ca"
    ca = fleet_ca(ca_dir)  # the backend's fleet CA: it signs the broker, ingest and the kiosks
    if request.param == "sqlite":
        db_url = f"sqlite:///{root / 'fleet.db'}"
    else:
        db_url = request.getfixturevalue("postgres_server").new_database()

    cfg = BrokerConfig(
        directory=root / "broker-etc",
        port=free_port(),
        bind="127.0.0.1",
        persistence_dir=root / "broker-lib",
        persistence=False,
        log_dest="stderr",
    )
    (root / "broker-lib").mkdir()
    ingest_creds, web_creds = write_deployment(ca, cfg, credentials_dir=root / "services")
    broker = LocalBroker(root / "broker", cfg.port, config_text=render_conf(cfg), tls=True)
    broker.start()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FLEET_DATABASE_URL": db_url,
        "FLEET_CA_DIR": str(ca_dir),
        "FLEET_CA_PASSPHRASE": CA_PASSPHRASE,
        "FLEET_AUDIT_CHECKPOINT_FILE": str(root / "audit-checkpoints.jsonl"),
        "FLEET_DEV_OUTBOX_DIR": str(root / "dev-outbox"),
        "FLEET_DATA_DIR": str(REPO / "data"),
        "FLEET_PUBLIC_BASE_URL": base,
        "FLEET_ALERT_INTERVAL_S": "0",
        "FLEET_REQUIRE_ENROLMENT": "true",
        "FLEET_BROKER_CRL_FILE": str(cfg.directory / "crl.pem"),
        "FLEET_BROKER_PUBLIC_URL": broker.url,
        "FLEET_MQTT_URL": broker.url,
        "FLEET_MQTT_CA_FILE": str(ca.cert_path),
        "FLEET_MQTT_CERT_FILE": str(ingest_creds.cert_file),
        "FLEET_MQTT_KEY_FILE": str(ingest_creds.key_file),
        "FLEET_MQTT_PUBLISHER_CA_FILE": str(ca.cert_path),
        "FLEET_MQTT_PUBLISHER_CERT_FILE": str(web_creds.cert_file),
        "FLEET_MQTT_PUBLISHER_KEY_FILE": str(web_creds.key_file),
        "FLEET_PUBLISHER_NAME": "trust",
        "FLEET_INGEST_NAME": "trust",
    }
    procs = Processes(root, env)
    engine = make_engine(db_url)
    api = httpx.Client(base_url=base, timeout=30)
    links: list[KioskLink] = []
    try:
        _cli(env, root, "db", "upgrade")
        _cli(env, root, "load-demo", "--data", str(REPO / "data"))
        operator = _token(env, root, "operator")
        reviewer = _token(env, root, "reviewer")
        procs.start("serve", ["fleet-backend", "serve", "--host", "127.0.0.1", "--port", str(port)])
        assert wait_for(lambda: _serving(base), 60, 0.2), procs.log("serve")
        start_ingest(procs)

        signers, kiosk_tls = {}, {}
        for region in ("110102", "110105"):  # A: 西城区, B: 朝阳区
            signer = enrol_test_kiosk(api, db_url, ca_dir, region)
            key, cert = write_identity(signer, root / "kiosks" / signer.kiosk_id / "identity")
            signers[signer.kiosk_id] = signer
            kiosk_tls[signer.kiosk_id] = TlsFiles(ca.cert_path, cert, key)
        a_id, b_id = signers
        links = [KioskLink(k, kiosk_tls[k], cfg.port) for k in (a_id, b_id)]
        fleet = TrustFleet(
            database=request.param,
            root=root,
            env=env,
            procs=procs,
            engine=engine,
            api=api,
            operator=operator,
            reviewer=reviewer,
            broker=broker,
            ca_file=ca.cert_path,
            kiosk_tls=kiosk_tls,
            signers=signers,
            a=links[0],
            b=links[1],
            config=request.config,
        )
        yield fleet
        assert procs.alive("ingest"), procs.log("ingest")
        assert procs.alive("serve"), procs.log("serve")
    finally:
        for link in links:
            link.close()
        api.close()
        procs.stop_all()
        engine.dispose()
        broker.stop()


def application_body(receipt: str, **who: Any) -> dict[str, Any]:
    """An ``application.submitted`` body for 社会保障卡补领 (秒批 on a valid RIC e-licence)."""
    return {
        "session_id": str(uuid.uuid4()),
        "receipt_no": receipt,
        "item_code": SSC_REISSUE,
        "item_name": "社会保障卡补领",
        "applicant": ZHANG_SAN_MASKED,
        "materials": [{"name": "居民身份证", "source": "card"}],
        **who,
    }


def _stored_all(fleet: TrustFleet, receipts: list[str], timeout: float = 180) -> None:
    assert wait_for(lambda: fleet.count_applications(receipts) == len(receipts), timeout, 0.5), (
        f"{fleet.count_applications(receipts)} of {len(receipts)} applications stored",
        fleet.procs.log("ingest")[-3000:],
    )


# --- the attacks ------------------------------------------------------------------------------


def test_attack_1_applications_for_a_citizen_who_was_not_there(trust_fleet: TrustFleet) -> None:
    fleet, a = trust_fleet, trust_fleet.a
    zhang = ZHANG_SAN["id"]
    b_session = fleet.vouch(fleet.b.id, ZHANG_SAN)  # 张三 really is at kiosk B
    licences_before = fleet.scalar(
        select(func.count()).select_from(Licence).where(Licence.citizen_id == zhang)
    )
    notices_before = fleet.scalar(
        select(func.count()).select_from(Notification).where(Notification.citizen_id == zhang)
    )
    forgeries = {
        "no session": {},
        "made-up session": {"citizen_session": str(uuid.uuid4())},
        "kiosk B's real session": {"citizen_session": b_session["session_ref"]},
    }
    receipts: dict[str, list[str]] = {}
    payloads = []
    n = itertools.count(1)
    for label, extra in forgeries.items():
        receipts[label] = []
        for _ in range(FORGED_PER_KIND):
            receipt = receipt_number(a.id, datetime.now(UTC), next(n))
            receipts[label].append(receipt)
            body = application_body(receipt, citizen_id=zhang, **extra)
            if label == "made-up session":
                body["citizen_session"] = str(uuid.uuid4())  # a fresh guess each time
            payloads.append(a.event("application.submitted", body))
    all_receipts = [r for rs in receipts.values() for r in rs]
    assert set(a.acknowledged(a.publish_events(payloads))) == {0}
    _stored_all(fleet, all_receipts)

    apps = {app.receipt_no: app for app in fleet.applications(all_receipts)}
    states = Counter(app.state for app in apps.values())
    approved = sum(states[s] for s in APPROVED)
    assert approved == 0 and states == {"unmatched": len(all_receipts)}, states
    assert all(app.citizen_id is None and app.kiosk_id == a.id for app in apps.values())
    assert all(
        app.proof == {"kind": "unproven", "claimed_citizen_id": zhang} for app in apps.values()
    )
    reasons = {
        label: Counter(apps[r].unmatched_reason for r in rs) for label, rs in receipts.items()
    }
    assert reasons == {
        "no session": {"事件未携带后端签发的终端会话，无法证明申请人在该终端": FORGED_PER_KIND},
        "made-up session": {"事件引用的终端会话不存在或已过保存期": FORGED_PER_KIND},
        "kiosk B's real session": {"事件引用的会话不是后端签发给该终端的": FORGED_PER_KIND},
    }
    ids = [app.id for app in apps.values()]
    with Session(fleet.engine) as session:
        instant = session.scalar(
            select(func.count())
            .select_from(ApplicationHistory)
            .where(ApplicationHistory.application_id.in_(ids))
            .where(ApplicationHistory.actor == INSTANT_ACTOR)
        )
    assert instant == 0
    licences_after = fleet.scalar(
        select(func.count()).select_from(Licence).where(Licence.citizen_id == zhang)
    )
    assert licences_after == licences_before  # no 秒批, no licence
    notices_after = fleet.scalar(
        select(func.count()).select_from(Notification).where(Notification.citizen_id == zhang)
    )
    assert notices_after == notices_before  # 张三 was told nothing

    # a reviewer sees every one of them; 张三 sees none of them in his own list
    unmatched = fleet.paged(
        "/api/v1/review/applications", fleet.reviewer, state="unmatched", limit=200
    )
    visible = {item["receipt_no"] for item in unmatched} & set(all_receipts)
    assert len(visible) == len(all_receipts)
    own = fleet.citizen_applications(fleet.b.id, b_session["token"])
    assert not {item["receipt_no"] for item in own} & set(all_receipts)

    fleet.report(
        f"attack 1: {len(all_receipts)} forged applications for 张三 from {a.id} "
        f"({FORGED_PER_KIND} without a session, {FORGED_PER_KIND} with made-up sessions, "
        f"{FORGED_PER_KIND} with {fleet.b.id}'s real session), {approved} approved, "
        f"{licences_after - licences_before} licences issued, {states['unmatched']} unmatched, "
        f"{len(visible)} visible to a reviewer, {len(own)} in 张三's own list"
    )


def test_attack_2_another_kiosks_receipt_numbers(trust_fleet: TrustFleet) -> None:
    fleet, a, b = trust_fleet, trust_fleet.a, trust_fleet.b
    stolen = [fleet.next_b_receipt() for _ in range(STOLEN_RECEIPTS)]
    a_session = fleet.vouch(a.id, ZHANG_SAN)  # even with A's own valid proof for 张三
    foreign_before = len(fleet.dead_letters("foreign_receipt"))
    forged = [
        a.event(
            "application.submitted",
            application_body(
                r, citizen_id=ZHANG_SAN["id"], citizen_session=a_session["session_ref"]
            ),
        )
        for r in stolen
    ]
    assert set(a.acknowledged(a.publish_events(forged))) == {0}
    assert wait_for(
        lambda: len(fleet.dead_letters("foreign_receipt")) - foreign_before == len(stolen),
        180,
        0.5,
    ), fleet.procs.log("ingest")[-3000:]
    letters = fleet.dead_letters("foreign_receipt")
    refused = {r for r in stolen if any(r in letter["reason"] for letter in letters)}
    assert refused == set(stolen)
    assert all(letter["topic"] == topic(a.id, Channel.EVENTS) for letter in letters)
    assert fleet.count_applications(stolen) == 0  # no application took B's numbers
    forged_ids = [json.loads(p)["id"] for p in forged]
    assert all(fleet.event_stored(i) for i in forged_ids)  # the events are kept, as every event

    # B's genuine applications with those very numbers are all accepted afterwards
    b_session = fleet.vouch(b.id, WANG_XIAOHONG)
    genuine = [
        b.event(
            "application.submitted",
            {
                **application_body(
                    r,
                    citizen_id=WANG_XIAOHONG["id"],
                    citizen_session=b_session["session_ref"],
                ),
                "applicant": "110102********0246",
            },
        )
        for r in stolen
    ]
    assert set(b.acknowledged(b.publish_events(genuine))) == {0}
    _stored_all(fleet, stolen)
    apps = fleet.applications(stolen)
    states = Counter(app.state for app in apps)
    assert "unmatched" not in states, Counter(app.unmatched_reason for app in apps)
    assert all(app.kiosk_id == b.id and app.citizen_id == WANG_XIAOHONG["id"] for app in apps)
    assert all(app.proof and app.proof["kind"] == "kiosk_session" for app in apps)
    assert {app.event_id for app in apps} == {json.loads(p)["id"] for p in genuine}
    assert len(fleet.dead_letters("foreign_receipt")) - foreign_before == len(stolen)

    # ... and A can neither rate B's applications nor have their receipts sent to 王小红
    wang = WANG_XIAOHONG["id"]
    reference_before = len(fleet.dead_letters("foreign_reference"))
    notices_before = fleet.scalar(
        select(func.count()).select_from(Notification).where(Notification.citizen_id == wang)
    )
    references = []
    for r in stolen:
        rating = {"session_id": str(uuid.uuid4()), "level": 1, "receipt_no": r}
        rating["citizen_session"] = a_session["session_ref"]
        references.append(a.event("rating.submitted", rating))
        unprinted = {"document": "receipt", "reference": r, "outcome": "out_of_paper"}
        references.append(a.event("receipt.printed", unprinted))
    assert set(a.acknowledged(a.publish_events(references))) == {0}
    assert wait_for(
        lambda: len(fleet.dead_letters("foreign_reference")) - reference_before == len(references),
        120,
        0.5,
    ), len(fleet.dead_letters("foreign_reference")) - reference_before
    with Session(fleet.engine) as session:
        linked = session.scalar(
            select(func.count())
            .select_from(Rating)
            .where(Rating.application_id.in_([app.id for app in apps]))
        )
    notices_after = fleet.scalar(
        select(func.count()).select_from(Notification).where(Notification.citizen_id == wang)
    )
    assert linked == 0 and notices_after == notices_before

    fleet.report(
        f"attack 2: {len(stolen)} applications from {a.id} with {b.id}'s next receipt numbers, "
        f"{len(refused)} dead letters foreign_receipt, 0 applications; then {len(apps)} of "
        f"{len(stolen)} genuine ones from {b.id} with those numbers accepted ({dict(states)}); "
        f"{len(references)} ratings and out-of-paper receipts of them from {a.id}: "
        f"{len(references)} dead letters foreign_reference, {linked} ratings linked, "
        f"{notices_after - notices_before} notices to 王小红"
    )


def test_attack_3_publishing_on_another_kiosks_topics(trust_fleet: TrustFleet) -> None:
    fleet, a, b = trust_fleet, trust_fleet.a, trust_fleet.b
    dead_before = fleet.dead_letter_count()
    b_before = fleet.kiosk_view(b.id) if _known(fleet, b.id) else None
    forged: list[tuple[str, bytes]] = []
    for i in range(OTHER_TOPIC):
        as_b = make_envelope(
            b.id, "device.fault", {"device": "printer", "code": f"x{i}"}, seq=i + 1
        )
        as_a = make_envelope(
            a.id, "device.fault", {"device": "printer", "code": f"y{i}"}, seq=i + 1
        )
        forged.append((topic(b.id, Channel.EVENTS), encode(as_b)))  # B's topic, B's name
        forged.append((topic(b.id, Channel.EVENTS), encode(as_a)))  # B's topic, A's name
    offline = StatusBody(state="offline", connected_at=datetime.now(UTC) + timedelta(seconds=1))
    forged.append((topic(b.id, Channel.STATUS), encode(make_envelope(b.id, "status", offline))))
    mids = [a.publish(t, p) for t, p in forged]
    reasons = a.acknowledged(mids)
    assert set(reasons) == {NOT_AUTHORIZED}

    # a genuine event of A's after them: once it is stored, anything before it would be too
    sentinel = a.event("device.recovered", {"device": "camera"})
    assert a.acknowledged(a.publish_events([sentinel])) == [0]
    assert wait_for(lambda: fleet.event_stored(json.loads(sentinel)["id"]), 60, 0.2)
    forged_ids = [json.loads(p)["id"] for _, p in forged]
    stored = sum(fleet.event_stored(i) for i in forged_ids)
    assert stored == 0
    assert fleet.dead_letter_count() == dead_before
    if b_before is not None:
        assert fleet.kiosk_view(b.id)["online"] == b_before["online"]

    fleet.report(
        f"attack 3: {len(forged)} messages from {a.id} on {b.id}'s topics, "
        f"{reasons.count(NOT_AUTHORIZED)} refused by the broker's ACL (PUBACK 0x87), "
        f"{stored} stored, {fleet.dead_letter_count() - dead_before} dead letters"
    )


def _known(fleet: TrustFleet, kiosk_id: str) -> bool:
    response = fleet.api.get(f"/api/v1/ops/kiosks/{kiosk_id}", headers=fleet.operator)
    return response.status_code == 200


def _health(kiosk_id: str, ts: datetime, depth: int, version: str) -> bytes:
    body = HealthBody(
        paper="ok",
        disk_free_bytes=10**9,
        disk_total_bytes=2 * 10**9,
        app_version=version,
        uptime_s=60,
        outbox_depth=depth,
    )
    return encode(make_envelope(kiosk_id, "health", body, ts=ts))


def _status(kiosk_id: str, state: str, connected_at: datetime) -> bytes:
    body = StatusBody(state=state, connected_at=connected_at, app_version="1.2.3")
    return encode(make_envelope(kiosk_id, "status", body))


def test_attack_4_a_clock_in_the_year_9999(trust_fleet: TrustFleet) -> None:
    fleet, a = trust_fleet, trust_fleet.a
    health_topic, status_topic = topic(a.id, Channel.HEALTH), topic(a.id, Channel.STATUS)
    far = datetime(9999, 12, 31, tzinfo=UTC)

    assert a.acknowledged([a.publish(health_topic, _health(a.id, far, 999, "6.6.6"))]) == [0]
    assert wait_for(lambda: fleet.kiosk_view(a.id)["outbox_depth"] == 999, 60, 0.2)
    assert fleet.kiosk_view(a.id)["clock_skew_s"] > 2e11  # some 8,000 years ahead

    skew = 30.0  # the kiosk's real clock: half a minute ahead, within FLEET_MAX_CLOCK_SKEW_S
    real = [(7, "1.2.3"), (5, "1.2.4")]
    for depth, version in real:
        ts = datetime.now(UTC) + timedelta(seconds=skew)
        assert a.acknowledged([a.publish(health_topic, _health(a.id, ts, depth, version))]) == [0]
        assert wait_for(lambda d=depth: fleet.kiosk_view(a.id)["outbox_depth"] == d, 60, 0.2), (
            "a later real health snapshot was not applied after the year-9999 one",
            fleet.kiosk_view(a.id),
        )
    view = fleet.kiosk_view(a.id)
    health_at = datetime.fromisoformat(view["health_at"]).replace(tzinfo=UTC)
    assert view["app_version"] == "1.2.4" and view["health"]["outbox_depth"] == 5
    assert health_at < datetime.now(UTC) + timedelta(minutes=1)
    assert abs(view["clock_skew_s"] - skew) < 10, view["clock_skew_s"]
    assert view["health"]["clock_skew_s"] == view["clock_skew_s"]
    history = fleet.api.get(
        f"/api/v1/ops/kiosks/{a.id}/health", params={"limit": 2000}, headers=fleet.operator
    ).json()
    years = {datetime.fromisoformat(h["ts"]).year for h in history}
    assert 9999 not in years  # the year 9999 is not kept as a snapshot's time

    # status: online, then a last-will-like offline from the year 9999, then a new connection
    online = _status(a.id, "online", datetime.now(UTC))
    assert a.acknowledged([a.publish(status_topic, online)]) == [0]
    assert wait_for(lambda: fleet.kiosk_view(a.id)["online"] is True, 60, 0.2)
    pinned = _status(a.id, "offline", far)
    assert a.acknowledged([a.publish(status_topic, pinned)]) == [0]
    assert wait_for(lambda: fleet.kiosk_view(a.id)["online"] is False, 60, 0.2)
    reconnected = _status(a.id, "online", datetime.now(UTC))
    assert a.acknowledged([a.publish(status_topic, reconnected)]) == [0]
    back = wait_for(lambda: fleet.kiosk_view(a.id)["online"] is True, 30, 0.2)
    assert back, ("a far-future connected_at pinned the kiosk offline", fleet.kiosk_view(a.id))

    fleet.report(
        f"attack 4: health from the year 9999 then {len(real)} real ones: the view shows the "
        f"last real snapshot (outbox_depth {view['outbox_depth']}, app {view['app_version']}), "
        f"clock skew {view['clock_skew_s']:.1f} s, no snapshot dated 9999; status with "
        f"connected_at 9999 then a new connection: online={fleet.kiosk_view(a.id)['online']}"
    )


def _junk(kiosk_id: str, i: int) -> tuple[str, bytes]:
    """The i-th junk message on one of the kiosk's own topics (all of them invalid)."""
    channels = (Channel.STATUS, Channel.HEALTH, Channel.EVENTS, Channel.COMMANDS_ACK)
    channel = channels[i % len(channels)]
    ghost = f"ghost-{i:04d}"
    fault = {"device": "printer", "code": f"j{i}"}
    now = datetime.now(UTC)
    shapes: list[bytes] = [
        f"junk {i}".encode(),
        json.dumps({**json.loads(_health(kiosk_id, now, 0, "1")), "body": {"junk": i}}).encode(),
        encode(make_envelope(ghost, "device.fault", fault)),  # another kiosk's name
        encode(
            make_envelope(
                ghost, "status", StatusBody(state="online", connected_at=datetime.now(UTC))
            )
        ),
        json.dumps(
            {**json.loads(encode(make_envelope(kiosk_id, "device.fault", fault))), "v": 9}
        ).encode(),
    ]
    return topic(kiosk_id, channel), shapes[(i // len(channels)) % len(shapes)]


def test_attack_5_retained_junk_and_ingest_restarts(trust_fleet: TrustFleet) -> None:
    fleet, a = trust_fleet, trust_fleet.a
    dead_before = fleet.dead_letter_count()
    junk = [_junk(a.id, i) for i in range(RETAINED_JUNK)]
    assert len(set(junk)) == RETAINED_JUNK
    mids = [a.publish(t, p, retain=True) for t, p in junk]
    assert set(a.acknowledged(mids)) == {0}
    assert wait_for(lambda: fleet.dead_letter_count() - dead_before == RETAINED_JUNK, 120, 0.3), (
        fleet.dead_letter_count() - dead_before
    )

    for restart in range(INGEST_RESTARTS):
        assert fleet.procs.stop("ingest", timeout=30) == 0
        start_ingest(fleet.procs)
        # a genuine event after the broker handed the retained messages over again
        sentinel = a.event("device.recovered", {"device": f"camera-{restart}"})
        assert a.acknowledged(a.publish_events([sentinel])) == [0]
        assert wait_for(lambda s=sentinel: fleet.event_stored(json.loads(s)["id"]), 60, 0.2)
    assert fleet.procs.stop("ingest", timeout=30) == 0  # its counters, for the summary only
    handed_over = [n - 1 for n in _messages_per_run(fleet.procs.log("ingest"))[-INGEST_RESTARTS:]]
    start_ingest(fleet.procs)  # and on for the next attacks

    dead = fleet.dead_letter_count() - dead_before
    assert dead == RETAINED_JUNK
    with Session(fleet.engine) as session:
        newest = session.scalars(
            select(DeadLetter.reason_code).order_by(DeadLetter.id.desc()).limit(RETAINED_JUNK)
        )
        reasons = Counter(newest)
    assert "conflict" not in reasons and sum(reasons.values()) == RETAINED_JUNK
    kiosks = fleet.api.get("/api/v1/ops/kiosks", params={"limit": 500}, headers=fleet.operator)
    ids = {k["id"] for k in kiosks.json()["items"]}
    assert ids <= {a.id, fleet.b.id} and kiosks.json()["total"] == len(ids)
    assert not any(k.startswith("ghost") for k in ids)

    fleet.report(
        f"attack 5: {RETAINED_JUNK} retained junk messages on {a.id}'s topics, ingest "
        f"restarted {INGEST_RESTARTS} times: {dead} dead letters ({dict(reasons)}), "
        f"{len(ids)} kiosks in the fleet ({', '.join(sorted(ids))}), 0 ghosts "
        f"(retained messages the broker handed over at each restart, all skipped: {handed_over})"
    )


def _messages_per_run(log: str) -> list[int]:
    """How many messages each finished ingest run received (its counters at a clean stop)."""
    return [int(m) for m in re.findall(r"ingest \S+ stopped: IngestCounters\(messages=(\d+)", log)]


def test_attack_6_the_honest_path_still_works(trust_fleet: TrustFleet) -> None:
    """Kiosk B's own kiosk-agent (its outbox, its certificate) delivers 张三's application."""
    fleet, b = trust_fleet, trust_fleet.b
    b.close()  # the agent takes B's connection (the certificate's CN is the client id)
    session = fleet.vouch(b.id, ZHANG_SAN)
    receipt = fleet.next_b_receipt()
    data_dir = fleet.root / "kiosks" / b.id / "agent"
    outbox = Outbox.open(data_dir / "kiosk.db")
    put = outbox.put(
        "application.submitted",
        application_body(
            receipt, citizen_id=ZHANG_SAN["id"], citizen_session=session["session_ref"]
        ),
    )
    tls = fleet.kiosk_tls[b.id]
    fleet.procs.start(
        "agent-b",
        ["kiosk-agent"],
        KIOSK_ID=b.id,
        KIOSK_DATA_DIR=str(data_dir),
        KIOSK_MQTT_URL=fleet.broker.url,
        KIOSK_MQTT_CA_FILE=str(tls.ca_file),
        KIOSK_MQTT_CERT_FILE=str(tls.cert_file),
        KIOSK_MQTT_KEY_FILE=str(tls.key_file),
        KIOSK_ACK_TIMEOUT_S="3",
        KIOSK_HEALTH_INTERVAL_S="5",
    )
    assert wait_for(lambda: outbox.stats().depth == 0, 60, 0.2), fleet.procs.log("agent-b")
    _stored_all(fleet, [receipt], 30)
    (app,) = fleet.applications([receipt])
    assert app.event_id == str(put.id) and app.citizen_id == ZHANG_SAN["id"]
    assert app.state == "delivered", (app.state, app.unmatched_reason)
    assert app.proof and app.proof["kind"] == "kiosk_session"
    own = fleet.citizen_applications(b.id, session["token"])
    mine = [item for item in own if item["receipt_no"] == receipt]
    assert [item["state"] for item in mine] == ["delivered"]
    assert all(item["kiosk_id"] != fleet.a.id for item in own)  # none of A's forgeries
    fleet.procs.stop("agent-b")

    fleet.report(
        f"attack 6: honest path: {b.id} vouched for 张三 and its kiosk-agent delivered "
        f"application {receipt}: state {app.state} (秒批), proof {app.proof['kind']}; "
        f"张三's own list holds {len(own)} application(s), none from {fleet.a.id}"
    )


def test_attack_7_anonymous_bad_ratings(trust_fleet: TrustFleet) -> None:
    """Ratings that name no application and carry no session prove no citizen: they are
    kept (the kiosk's report) but open no rectification task for the department."""
    fleet, a = trust_fleet, trust_fleet.a
    count = 100
    payloads = [
        a.event(
            "rating.submitted",
            {"session_id": str(uuid.uuid4()), "level": 1, "item_code": SSC_REISSUE},
        )
        for _ in range(count)
    ]
    ids = [json.loads(p)["id"] for p in payloads]
    assert set(a.acknowledged(a.publish_events(payloads))) == {0}

    def ratings() -> list[Rating]:
        with Session(fleet.engine) as session:
            return list(session.scalars(select(Rating).where(Rating.event_id.in_(ids))))

    assert wait_for(lambda: len(ratings()) == count, 60, 0.3), len(ratings())
    rows = ratings()
    assert all(r.application_id is None and r.citizen_id is None for r in rows)
    with Session(fleet.engine) as session:
        tasks = session.scalar(
            select(func.count())
            .select_from(RectificationTask)
            .where(RectificationTask.rating_id.in_([r.id for r in rows]))
        )
    fleet.report(
        f"attack 7: {count} 非常不满意 ratings of item {SSC_REISSUE} from {a.id} "
        f"with no application and no citizen session: {len(rows)} stored, none linked to an "
        f"application or citizen, {tasks} rectification tasks opened for the department"
    )
    assert tasks == 0 and all((r.proof or {}).get("kind") == "unproven" for r in rows)


def test_attack_8_reused_event_ids_and_receipt_numbers(trust_fleet: TrustFleet) -> None:
    fleet, a = trust_fleet, trust_fleet.a
    conflicts_before = len(fleet.dead_letters("conflict"))
    receipt = receipt_number(a.id, datetime.now(UTC), 9001)
    first = a.event("application.submitted", application_body(receipt, citizen_id=ZHANG_SAN["id"]))
    assert a.acknowledged(a.publish_events([first])) == [0]
    _stored_all(fleet, [receipt], 60)
    original = json.loads(first)
    changed = {**original, "body": {**original["body"], "item_name": "社会保障卡补领（改）"}}
    with Session(fleet.engine) as session:
        b_event = session.scalars(
            select(Event).where(Event.kiosk_id == fleet.b.id).order_by(Event.received_at)
        ).first()
    assert b_event is not None
    b_event_id, b_event_body = b_event.id, b_event.body
    borrowed = make_envelope(
        a.id, "device.fault", {"device": "printer", "code": "borrowed"}, id=uuid.UUID(b_event_id)
    )
    reused_receipt = application_body(receipt, citizen_id=WANG_XIAOHONG["id"])
    replays = [
        first,  # a resend (its ack was lost): stored once, no dead letter
        json.dumps(changed, ensure_ascii=False).encode(),  # same event id, other content
        a.event("application.submitted", reused_receipt),  # same number, a new event
        encode(borrowed),  # kiosk B's event id
    ]
    assert set(a.acknowledged(a.publish_events(replays))) == {0}
    assert wait_for(lambda: len(fleet.dead_letters("conflict")) - conflicts_before == 3, 60, 0.3), (
        len(fleet.dead_letters("conflict")) - conflicts_before
    )
    (app,) = fleet.applications([receipt])
    assert app.event_id == original["id"] and app.item_name == "社会保障卡补领"
    with Session(fleet.engine) as session:
        kept = session.get(Event, b_event_id)
        assert kept is not None and kept.kiosk_id == fleet.b.id and kept.body == b_event_body
        stored_first = session.get(Event, original["id"])
        assert stored_first is not None and stored_first.body["item_name"] == "社会保障卡补领"
    conflicts = len(fleet.dead_letters("conflict")) - conflicts_before
    fleet.report(
        f"attack 8: {a.id} resent one application, reused its event id with other content, "
        f"reused its receipt number in a new event and reused {fleet.b.id}'s event id: "
        f"{conflicts} dead letters conflict, 1 application, {fleet.b.id}'s event unchanged"
    )


def test_attack_9_a_retired_kiosk_still_connected(trust_fleet: TrustFleet) -> None:
    """Retirement revokes A's certificate, but its open MQTT connection lasts until the broker
    restarts (provisioning/broker.py). Meanwhile ingest is the only gate: the HTTP side refuses
    a retired kiosk, offline proofs of a retired kiosk are refused (proofs.offline_card), so
    what A still publishes should be refused too, and nothing it sends approved."""
    fleet, a = trust_fleet, trust_fleet.a
    session = fleet.vouch(a.id, ZHANG_SAN)  # a citizen at A just before it is retired
    admin = _token(fleet.env, fleet.root, "admin")
    retired_at = datetime.now(UTC)
    retired = fleet.api.post(f"/api/v1/ops/kiosks/{a.id}/retire", headers=admin)
    assert retired.status_code == 200, retired.text
    refused = fleet.api.get("/api/v1/kiosk/me", auth=fleet.auth(a.id))
    assert refused.status_code == 401  # the HTTP side no longer hears A
    assert a.client.is_connected()  # documented: until the broker restarts

    receipt = receipt_number(a.id, datetime.now(UTC), 9101)
    body = application_body(
        receipt, citizen_id=ZHANG_SAN["id"], citizen_session=session["session_ref"]
    )
    application = a.event("application.submitted", body)
    fault = a.event("device.fault", {"device": "printer", "code": "after-retirement"})
    health = _health(a.id, datetime.now(UTC), 42, "9.9.9")
    mids = a.publish_events([application, fault])
    mids.append(a.publish(topic(a.id, Channel.HEALTH), health))
    assert set(a.acknowledged(mids)) == {0}

    def since(model: Any, *where: Any) -> int:
        query = select(func.count()).select_from(model).where(model.received_at >= retired_at)
        return fleet.scalar(query.where(*where))

    def outcome() -> tuple[int, int]:
        """(admitted, refused) of A's three messages since its retirement."""
        admitted = since(Event, Event.kiosk_id == a.id)
        admitted += since(HealthSnapshot, HealthSnapshot.kiosk_id == a.id)
        refused = since(DeadLetter, DeadLetter.topic.like(f"kiosk/{a.id}/%"))
        return admitted, refused

    assert wait_for(lambda: sum(outcome()) >= 3, 60, 0.3), outcome()
    admitted, refused_count = outcome()
    apps = fleet.applications([receipt])
    state = apps[0].state if apps else None
    fleet.report(
        f"attack 9: {a.id} retired while still connected, then an application for 张三 with a "
        f"session opened before retirement, a fault and a health: {admitted} admitted, "
        f"{refused_count} dead letters, application state {state}"
    )
    assert state not in APPROVED, f"a retired kiosk's application was approved ({state})"
    assert admitted == 0 and refused_count == 3


def _can_connect(port: int, tls: TlsFiles, client_id: str) -> bool:
    """Whether the broker accepts a new TLS connection with these files (CONNACK success)."""
    accepted = threading.Event()
    done = threading.Event()
    client = new_client(client_id)
    client.tls_set_context(tls.context())

    def on_connect(c: Any, u: Any, f: Any, reason: Any, p: Any) -> None:
        if not reason.is_failure:
            accepted.set()
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = lambda *args: done.set()
    try:
        client.connect("127.0.0.1", port, keepalive=30)
    except OSError:
        return False
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return accepted.is_set()


def test_attack_10_a_retired_kiosk_reconnects_after_the_guides_reload(
    trust_fleet: TrustFleet,
) -> None:
    """OPERATORS_GUIDE.md §6: retire, then ``systemctl reload mosquitto``: new connections of
    the retired kiosk are refused."""
    fleet, a = trust_fleet, trust_fleet.a
    admin = _token(fleet.env, fleet.root, "admin")
    retired = fleet.api.post(f"/api/v1/ops/kiosks/{a.id}/retire", headers=admin)
    assert retired.status_code == 200, retired.text  # again, if attack 9 did it: idempotent
    a.close()
    fleet.b.close()  # the probes below use B's certificate, hence B's client id
    port = fleet.broker.port
    honest = fleet.kiosk_tls[fleet.b.id]
    assert _can_connect(port, honest, fleet.b.id)
    fleet.broker.reload()  # what `systemctl reload mosquitto` does (SIGHUP)
    assert wait_for(lambda: _can_connect(port, honest, fleet.b.id), 10, 0.3)  # up again
    reconnects = _can_connect(port, fleet.kiosk_tls[a.id], a.id)
    fleet.report(
        f"attack 10: {a.id} retired through the API, broker reloaded as the operators' guide "
        f"says: a new connection with its certificate is "
        f"{'ACCEPTED' if reconnects else 'refused'}"
    )
    assert not reconnects
