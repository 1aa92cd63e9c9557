"""Enrolment by QR code: the technician holds the code's QR to the kiosk's camera."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import segno

from provisioning.enrolment_qr import parse, payload
from tests.kiosk_identity import new_enrolment_code
from tests.provisioning.conftest import HttpsBackend

KIOSKCTL = Path(sys.executable).parent / "kioskctl"


def test_the_payload_carries_code_and_backend_and_bare_codes_are_accepted() -> None:
    text = payload("K7QM-2XPA-9HDT-RW4C", "https://fleet.example.gov.cn/")
    found = parse(text)
    assert found is not None
    assert (found.code, found.backend) == ("K7QM-2XPA-9HDT-RW4C", "https://fleet.example.gov.cn")
    bare = parse("k7qm2xpa9hdtrw4c")
    assert bare is not None and (bare.code, bare.backend) == ("K7QM2XPA9HDTRW4C", None)
    for foreign in (
        "https://weixin.qq.com/x",
        "govkiosk-enrol:?code=TOO-SHORT",
        "govkiosk-enrol:?code=K7QM-2XPA-9HDT-RW4C&backend=javascript:alert(1)",
        "K7QM-2XPA-9HDT-RW40",  # 0 is not in the alphabet
    ):
        assert parse(foreign) is None, foreign


def test_kioskctl_enrols_from_the_qr_code_seen_by_the_camera(
    tmp_path: Path, https_backend: HttpsBackend
) -> None:
    code = new_enrolment_code(
        https_backend.database_url, region_code="110105", site="朝阳区政务服务中心"
    )
    camera = tmp_path / "camera"
    camera.mkdir()
    segno.make_qr("a poster's QR code").save(camera / "0-poster.png", scale=6, border=4)
    segno.make_qr(payload(code, https_backend.url)).save(camera / "1-code.png", scale=6, border=4)
    config = tmp_path / "etc"
    result = subprocess.run(
        [
            *(KIOSKCTL, "enrol", "--scan", "--camera", f"folder:{camera}"),
            *("--config-dir", str(config), "--backend-ca", str(https_backend.ca.cert_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "enrolled as k110105-" in result.stdout
    assert code not in result.stdout  # the code is never echoed whole
    env = (config / "kiosk.env").read_text()
    assert f"KIOSK_BACKEND_URL={https_backend.url}" in env


def test_a_scan_that_sees_no_enrolment_code_fails_with_a_reason(tmp_path: Path) -> None:
    camera = tmp_path / "camera"
    camera.mkdir()
    segno.make_qr("https://example.com/menu").save(camera / "menu.png", scale=6, border=4)
    result = subprocess.run(
        [
            KIOSKCTL,
            "enrol",
            "--scan",
            "--camera",
            f"folder:{camera}",
            "--config-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=200,
        env={"KIOSKCTL_SCAN_TIMEOUT_S": "2", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "no enrolment QR code seen" in result.stderr
    assert not (tmp_path / "kiosk.key").exists()
