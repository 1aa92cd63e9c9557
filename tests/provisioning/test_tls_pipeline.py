"""An enrolled kiosk's events flow end to end over TLS, each side with its own certificate.

kiosk-agent (device certificate, KIOSK_MQTT_*_FILE) -> Mosquitto as the
deployment configures it -> ``fleet-backend ingest`` (service certificate,
FLEET_MQTT_*_FILE) -> the database -> confirmation back to the outbox.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from tests.conftest import Processes, wait_for
from tests.e2e.conftest import kiosk_outbox, start_agent, start_ingest, stored, stored_ids_by_seq
from tests.provisioning.conftest import TlsBroker

KIOSK = "kiosk-tls-01"


def test_an_enrolled_kiosks_events_reach_the_database_over_tls(
    tls_broker: TlsBroker, fleet_db: Engine, fleet_db_url: str
) -> None:
    kiosk_tls, _ = tls_broker.enrol(KIOSK)
    url = tls_broker.broker.url
    assert url.startswith("mqtts://127.0.0.1:")
    fleet = Processes(
        tls_broker.workdir,
        {
            **tls_broker.env(fleet_db_url, kiosk_tls),
            "KIOSK_ACK_TIMEOUT_S": "3",
            "KIOSK_HEALTH_INTERVAL_S": "1",
        },
    )
    try:
        outbox = kiosk_outbox(fleet, KIOSK)
        put = [
            outbox.put("device.fault", {"device": "printer", "code": f"c{i}"}, id=uuid.uuid4())
            for i in range(20)
        ]
        start_ingest(fleet)
        start_agent(fleet, KIOSK)
        assert wait_for(lambda: stored(fleet_db) == len(put) and outbox.stats().depth == 0, 30), (
            fleet.log("ingest-1") + fleet.log(f"agent-{KIOSK}")
        )
        assert stored_ids_by_seq(fleet_db, KIOSK) == [e.id for e in put]
        assert "mqtts://" in fleet.log("ingest-1")
        assert (tls_broker.broker.log_path.read_text().count(f"u'{KIOSK}'")) >= 1
    finally:
        fleet.stop_all()


def test_an_agent_with_another_kiosks_id_cannot_smuggle_events(
    tls_broker: TlsBroker, fleet_db: Engine, fleet_db_url: str
) -> None:
    """A kiosk configured with a false KIOSK_ID publishes on topics its certificate does not own."""
    kiosk_tls, _ = tls_broker.enrol("kiosk-real")
    fleet = Processes(
        tls_broker.workdir,
        {
            **tls_broker.env(fleet_db_url, kiosk_tls),
        },
    )
    try:
        outbox = kiosk_outbox(fleet, "kiosk-victim")
        outbox.put("device.fault", {"device": "printer", "code": "forged"})
        start_ingest(fleet)
        start_agent(fleet, "kiosk-victim")  # connected and subscribed: the broker let it in
        outbox.put("device.fault", {"device": "printer", "code": "forged-2"})
        # Its publishes are acknowledged and dropped; ingest never sees them.
        assert not wait_for(lambda: stored(fleet_db) > 0, 3)
        assert stored(fleet_db) == 0
        assert outbox.stats().depth == 2  # never confirmed, so never lost either
    finally:
        fleet.stop_all()
