"""The deployment's broker, for real: Mosquitto 2.0 with TLS, client certificates, ACL and CRL.

Each test starts Mosquitto with the configuration ``provisioning.broker``
writes and connects real paho clients on loopback. The claims in
``provisioning/broker.py``'s docstring are the ones these tests show.
"""

from __future__ import annotations

import ssl
import time

from mqtt.client import TlsFiles
from provisioning.broker import BrokerConfig, refresh_crl, render_conf
from provisioning.ca import FleetCA, key_pem, make_csr, new_key
from tests.conftest import wait_for
from tests.provisioning.conftest import PASSPHRASE, TlsBroker, probe


def accepted(p: object) -> bool:
    reason = getattr(p, "connect_reason", None)
    return reason is not None and not reason.is_failure


def test_a_kiosk_cannot_publish_on_another_kiosks_topics(tls_broker: TlsBroker) -> None:
    a_tls, _ = tls_broker.enrol("kiosk-a")
    ingest = probe(tls_broker.port, tls_broker.ingest_tls, "fleet-ingest-1")
    assert accepted(ingest)
    ingest.client.subscribe([("$share/ingest/kiosk/+/events", 1), ("kiosk/+/status", 1)])
    a = probe(tls_broker.port, a_tls, "kiosk-a")
    assert accepted(a)
    time.sleep(0.3)  # the subscription is in place

    forged = a.publish("kiosk/kiosk-b/events", b"forged")
    forged_status = a.publish("kiosk/kiosk-b/status", b"forged")
    own = a.publish("kiosk/kiosk-a/events", b"own")
    assert wait_for(lambda: len(a.puback) == 3, 5)
    # MQTT 5 says why in the PUBACK; the message itself is dropped.
    assert a.puback[forged.mid].value == 0x87 and a.puback[forged_status.mid].value == 0x87
    assert a.puback[own.mid].value == 0
    assert wait_for(lambda: ("kiosk/kiosk-a/events", b"own") in ingest.messages, 5)
    time.sleep(0.3)
    assert [m for m in ingest.messages if m[0].startswith("kiosk/kiosk-b/")] == []
    a.stop()
    ingest.stop()


def test_a_kiosk_cannot_read_another_kiosks_commands(tls_broker: TlsBroker) -> None:
    a_tls, _ = tls_broker.enrol("kiosk-a")
    b_tls, _ = tls_broker.enrol("kiosk-b")
    b = probe(tls_broker.port, b_tls, "kiosk-b")
    b.client.subscribe(
        [("kiosk/kiosk-b/commands", 1), ("kiosk/kiosk-a/commands", 1), ("kiosk/+/events/ack", 1)]
    )
    a = probe(tls_broker.port, a_tls, "kiosk-a")
    a.client.subscribe("kiosk/kiosk-a/commands", 1)
    backend = probe(tls_broker.port, tls_broker.ingest_tls, "fleet-ingest-1")
    assert accepted(a) and accepted(b) and accepted(backend)
    time.sleep(0.3)
    backend.publish("kiosk/kiosk-a/commands", b"for a")
    backend.publish("kiosk/kiosk-a/events/ack", b"ack for a")
    backend.publish("kiosk/kiosk-b/commands", b"for b")
    assert wait_for(lambda: ("kiosk/kiosk-b/commands", b"for b") in b.messages, 5)
    assert wait_for(lambda: ("kiosk/kiosk-a/commands", b"for a") in a.messages, 5)
    time.sleep(0.3)
    # 2.0.11 grants the subscription but its read check drops every message of a's.
    assert b.messages == [("kiosk/kiosk-b/commands", b"for b")]
    for p in (a, b, backend):
        p.stop()


def test_the_client_id_is_the_certificate_so_no_session_takeover(tls_broker: TlsBroker) -> None:
    a_tls, _ = tls_broker.enrol("kiosk-a")
    b_tls, _ = tls_broker.enrol("kiosk-b")
    b = probe(tls_broker.port, b_tls, "kiosk-b")
    assert accepted(b)
    impostor = probe(tls_broker.port, a_tls, "kiosk-b")  # a borrows b's client id
    assert accepted(impostor)
    time.sleep(0.5)
    assert b.client.is_connected()  # b was not kicked: the impostor is "kiosk-a" to the broker
    b.stop()
    impostor.stop()


def test_a_revoked_certificate_is_refused_after_the_crl_is_reloaded(
    tls_broker: TlsBroker,
) -> None:
    a_tls, serial = tls_broker.enrol("kiosk-a")
    b_tls, _ = tls_broker.enrol("kiosk-b")
    tls_broker.ca.revoke(serial, reason="stolen")
    crl_file = tls_broker.config.directory / "crl.pem"

    # The CRL file alone changes nothing: Mosquitto holds the CRL it loaded.
    # (One connection only: a second one with kiosk-a's certificate would take its
    # client id, use_username_as_clientid, and knock the first off.)
    refresh_crl(tls_broker.ca, crl_file)
    connected_a = probe(tls_broker.port, a_tls, "kiosk-a")
    assert accepted(connected_a)

    # SIGHUP (systemctl reload) makes 2.0.11 load the new CRL for new connections.
    refresh_crl(tls_broker.ca, crl_file, reload=tls_broker.broker.reload)
    assert tls_broker.broker.process is not None
    time.sleep(0.3)  # the signal is handled between network loop passes
    refused = probe(tls_broker.port, a_tls, "kiosk-a")
    assert not accepted(refused)
    refused.client.loop_stop()
    # ... but a connection made before the reload is not re-checked: it stays up.
    assert connected_a.client.is_connected()
    assert tls_broker.broker.process.poll() is None
    other = probe(tls_broker.port, b_tls, "kiosk-b")
    assert accepted(other)
    other.stop()

    # A restart cuts the established connection, and the CRL read at start refuses it.
    tls_broker.broker.restart()
    assert wait_for(lambda: not connected_a.client.is_connected(), 5)
    after_restart = probe(tls_broker.port, a_tls, "kiosk-a")
    assert not accepted(after_restart)
    after_restart.client.loop_stop()
    connected_a.client.loop_stop()


def test_anonymous_and_certificateless_clients_are_refused(tls_broker: TlsBroker) -> None:
    # TLS that trusts the broker but shows no client certificate.
    no_cert = probe(tls_broker.port, TlsFiles(tls_broker.ca.cert_path), "anon")
    assert not accepted(no_cert)
    no_cert.client.loop_stop()
    # Plain MQTT to the TLS port: no CONNACK, ever.
    plain = probe(tls_broker.port, None, "plain")
    assert not accepted(plain)
    plain.client.loop_stop()


def test_there_is_no_plain_listener_unless_asked(tls_broker: TlsBroker) -> None:
    conf = render_conf(tls_broker.config)
    listeners = [line for line in conf.splitlines() if line.startswith("listener ")]
    assert listeners == [f"listener {tls_broker.port} 127.0.0.1"]
    assert "allow_anonymous false" in conf and "allow_anonymous true" not in conf
    opted = render_conf(
        BrokerConfig(directory=tls_broker.config.directory, plain_loopback_port=1883)
    )
    assert "listener 1883 127.0.0.1" in opted and "per_listener_settings true" in opted


def test_a_certificate_from_another_ca_is_refused(tls_broker: TlsBroker, tmp_path) -> None:
    rogue = FleetCA.create(tmp_path / "rogue-ca", PASSPHRASE)
    key = new_key()
    signed = rogue.sign_csr(make_csr(key, "kiosk-a"), "kiosk-a")
    (tmp_path / "rogue.crt").write_bytes(signed.cert_pem)
    (tmp_path / "rogue.key").write_bytes(key_pem(key))
    # It trusts the real broker; only its own certificate is foreign.
    tls = TlsFiles(tls_broker.ca.cert_path, tmp_path / "rogue.crt", tmp_path / "rogue.key")
    rogue_client = probe(tls_broker.port, tls, "kiosk-a")
    assert not accepted(rogue_client)
    rogue_client.client.loop_stop()


def test_a_client_rejects_a_broker_its_ca_did_not_sign(tls_broker: TlsBroker, tmp_path) -> None:
    a_tls, _ = tls_broker.enrol("kiosk-a")
    other = FleetCA.create(tmp_path / "other-ca", PASSPHRASE)
    wrong_trust = TlsFiles(other.cert_path, a_tls.cert_file, a_tls.key_file)
    client = probe(tls_broker.port, wrong_trust, "kiosk-a")
    assert not accepted(client)
    assert isinstance(client.error, ssl.SSLCertVerificationError)


def test_the_web_publisher_has_its_own_identity_and_may_only_send_commands(
    tls_broker: TlsBroker,
) -> None:
    from backend.core.config import Settings
    from backend.services.publisher import CommandPublisher

    a_tls, _ = tls_broker.enrol("kiosk-a")
    kiosk = probe(tls_broker.port, a_tls, "kiosk-a")
    kiosk.client.subscribe("kiosk/kiosk-a/commands", 1)
    ingest = probe(tls_broker.port, tls_broker.ingest_tls, "fleet-ingest-1")
    ingest.client.subscribe("$share/ingest/kiosk/+/events", 1)
    web_tls = TlsFiles(tls_broker.ca.cert_path, tls_broker.web.cert_file, tls_broker.web.key_file)
    snoop = probe(tls_broker.port, web_tls, "fleet-web-snoop")
    snoop.client.subscribe("kiosk/+/events", 1)
    assert accepted(kiosk) and accepted(ingest) and accepted(snoop)
    time.sleep(0.3)

    env = tls_broker.env("sqlite://")
    settings = Settings(
        mqtt_url=env["FLEET_MQTT_URL"],
        mqtt_ca_file=env["FLEET_MQTT_CA_FILE"],
        mqtt_cert_file=env["FLEET_MQTT_CERT_FILE"],
        mqtt_key_file=env["FLEET_MQTT_KEY_FILE"],
        mqtt_publisher_cert_file=env["FLEET_MQTT_PUBLISHER_CERT_FILE"],
        mqtt_publisher_key_file=env["FLEET_MQTT_PUBLISHER_KEY_FILE"],
    )
    publisher = CommandPublisher(settings)
    try:
        publisher.publish("kiosk/kiosk-a/commands", b"print_test_page", expiry_s=60)
        assert wait_for(lambda: ("kiosk/kiosk-a/commands", b"print_test_page") in kiosk.messages, 5)
        kiosk.publish("kiosk/kiosk-a/events", b"an event")
        assert wait_for(lambda: ("kiosk/kiosk-a/events", b"an event") in ingest.messages, 5)
        time.sleep(0.3)
        assert ingest.client.is_connected()  # the publisher did not take ingest's place
        assert snoop.messages == []  # fleet.web reads nothing of the kiosks'
    finally:
        publisher.close()
        for p in (kiosk, ingest, snoop):
            p.stop()


def test_the_web_publisher_refuses_to_borrow_ingests_certificate(tls_broker: TlsBroker) -> None:
    import pytest

    from backend.core.config import Settings
    from backend.services.publisher import CommandPublisher, PublishError

    ingest = tls_broker.ingest_tls
    settings = Settings(
        mqtt_url=tls_broker.broker.url,
        mqtt_ca_file=ingest.ca_file,
        mqtt_cert_file=ingest.cert_file,
        mqtt_key_file=ingest.key_file,
    )
    with pytest.raises(PublishError, match="own broker identity"):
        CommandPublisher(settings).publish("kiosk/kiosk-a/commands", b"x", expiry_s=60)
