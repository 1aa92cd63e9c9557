"""Enrolment updates kiosk.env in place: the installer's and the site's settings survive it."""

from __future__ import annotations

from pathlib import Path

from provisioning.kioskctl import update_env_file


def test_enrolment_keeps_other_settings_and_replaces_its_own(tmp_path: Path) -> None:
    env = tmp_path / "kiosk.env"
    env.write_text(
        "# installed by fleet-install\nKIOSK_DATA_DIR=/var/lib/govkiosk/kiosk\n"
        "KIOSK_PRINTER=usb:0416:5011\nKIOSK_ID=k110101-0001\n"
    )
    update_env_file(env, {"KIOSK_ID": "k110102-0002", "KIOSK_MQTT_URL": "mqtts://fleet:8883"})
    update_env_file(env, {"KIOSK_ID": "k110102-0003"})  # re-enrolled: still one KIOSK_ID
    lines = env.read_text().splitlines()
    assert "KIOSK_DATA_DIR=/var/lib/govkiosk/kiosk" in lines
    assert "KIOSK_PRINTER=usb:0416:5011" in lines
    assert "KIOSK_MQTT_URL=mqtts://fleet:8883" in lines
    assert [line for line in lines if line.startswith("KIOSK_ID=")] == ["KIOSK_ID=k110102-0003"]
    assert lines.count("# Written by kioskctl enrol:") == 1
    assert env.stat().st_mode & 0o777 == 0o640
