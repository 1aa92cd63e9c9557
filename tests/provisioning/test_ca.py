"""The fleet CA as a library: keys encrypted at rest, CN from the caller, revocation in the CRL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.ca import (
    DEV_PASSPHRASE,
    BadPassphrase,
    BadRequest,
    FleetCA,
    UnknownSerial,
    ca_passphrase,
    make_csr,
    new_key,
)
from tests.provisioning.conftest import PASSPHRASE

BIN = Path(sys.executable).parent


def test_the_ca_key_is_encrypted_and_private(fleet_ca: FleetCA) -> None:
    key_file = fleet_ca.directory / "ca.key.pem"
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (fleet_ca.directory / "index.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(BadPassphrase):
        FleetCA.load(fleet_ca.directory, "wrong passphrase!!")
    assert FleetCA.load(fleet_ca.directory, PASSPHRASE).cert == fleet_ca.cert
    with pytest.raises(Exception, match="already exists"):
        FleetCA.create(fleet_ca.directory, PASSPHRASE)


def test_a_default_passphrase_is_refused_outside_development() -> None:
    assert ca_passphrase({"FLEET_ENVIRONMENT": "development"}) == DEV_PASSPHRASE
    for env in ({}, {"FLEET_CA_PASSPHRASE": DEV_PASSPHRASE}, {"FLEET_CA_PASSPHRASE": "short"}):
        with pytest.raises(BadPassphrase):
            ca_passphrase(env)
    assert ca_passphrase({"FLEET_CA_PASSPHRASE": PASSPHRASE}) == PASSPHRASE


def test_a_device_certificate_takes_its_cn_from_the_caller(fleet_ca: FleetCA) -> None:
    signed = fleet_ca.sign_csr(make_csr(new_key(), "fleet.ingest"), "kiosk-hall-01")
    cert = x509.load_pem_x509_certificate(signed.cert_pem)
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert cn == "kiosk-hall-01"
    assert cert.serial_number == signed.serial
    cert.verify_directly_issued_by(fleet_ca.cert)
    assert fleet_ca.get(signed.serial).common_name == "kiosk-hall-01"


@pytest.mark.parametrize("kiosk_id", ["Kiosk-1", "ab", "fleet.ingest", "-abc", "a" * 65])
def test_bad_kiosk_ids_are_refused(fleet_ca: FleetCA, kiosk_id: str) -> None:
    with pytest.raises(BadRequest):
        fleet_ca.sign_csr(make_csr(new_key(), "x"), kiosk_id)


def test_weak_or_forged_requests_are_refused(fleet_ca: FleetCA) -> None:
    with pytest.raises(BadRequest):
        fleet_ca.sign_csr(b"not a csr", "kiosk-01")
    weak = ec.generate_private_key(ec.SECP521R1())  # a curve Mosquitto peers may not share
    with pytest.raises(BadRequest, match="curve"):
        fleet_ca.sign_csr(make_csr(weak, "kiosk-01"), "kiosk-01")
    with pytest.raises(BadRequest):
        fleet_ca.issue_client("kiosk-01")  # a service name must not look like a kiosk


def test_revocation_is_recorded_and_in_the_crl(fleet_ca: FleetCA) -> None:
    one = fleet_ca.sign_csr(make_csr(new_key(), "x"), "kiosk-01")
    two = fleet_ca.sign_csr(make_csr(new_key(), "x"), "kiosk-02")
    fleet_ca.revoke(format(one.serial, "x"), reason="stolen")
    fleet_ca.revoke(one.serial)  # twice is harmless
    crl = x509.load_pem_x509_crl(fleet_ca.crl_path.read_bytes())
    assert crl.is_signature_valid(fleet_ca.cert.public_key())
    assert crl.get_revoked_certificate_by_serial_number(one.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(two.serial) is None
    assert fleet_ca.get(one.serial).reason == "stolen"
    assert [i.serial for i in fleet_ca.revoke_kiosk("kiosk-02")] == [two.serial]
    with pytest.raises(UnknownSerial):
        fleet_ca.revoke(12345)


def test_the_broker_certificate_names_its_hosts(fleet_ca: FleetCA) -> None:
    signed = fleet_ca.issue_server(["127.0.0.1", "localhost", "broker.hall.gov.cn"])
    san = x509.load_pem_x509_certificate(signed.cert_pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost", "broker.hall.gov.cn"]
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_fleet_broker_config_writes_a_deployment(tmp_path: Path) -> None:
    env = {"FLEET_CA_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin:/bin"}
    argv = [
        BIN / "fleet-broker-config",
        "--ca-dir",
        str(tmp_path / "ca"),
        "--out",
        str(tmp_path / "broker"),
        "--init-ca",
        "--host",
        "broker.hall.gov.cn",
        "--credentials-dir",
        str(tmp_path / "services"),
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("mosquitto.conf", "acl", "ca.crt", "server.crt", "server.key", "crl.pem"):
        assert (tmp_path / "broker" / name).exists()
    assert (tmp_path / "broker/server.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "services/fleet.ingest.key").stat().st_mode & 0o777 == 0o600
    refused = subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert refused.returncode == 1 and "FLEET_CA_PASSPHRASE" in refused.stderr


@pytest.mark.parametrize("program", ["fleet-broker-config", "fleet-install"])
def test_every_command_has_help(program: str) -> None:
    result = subprocess.run([BIN / program, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and len(result.stdout.splitlines()) >= 3
