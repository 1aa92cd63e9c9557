"""fleet-install: the dry run touches nothing; a staging install renders units systemd accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.install import ROLES, main, plan

BIN = Path(sys.executable).parent
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_the_dry_run_lists_every_action_and_touches_nothing(tmp_path: Path) -> None:
    (tmp_path / "existing").write_text("x")
    before = snapshot(tmp_path)
    result = subprocess.run(
        [BIN / "fleet-install", "kiosk", "backend", "broker", "--root", str(tmp_path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "user         govkiosk",
        "/etc/govkiosk/kiosk.env mode 0640",
        "/etc/govkiosk/fleet.env mode 0600",
        "/etc/systemd/system/kiosk-agent.service",
        "/etc/systemd/system/fleet-serve.service",
        "/etc/systemd/system/fleet-ingest.service",
        "/etc/systemd/system/mosquitto.service.d/fleet.conf",
        "/var/lib/govkiosk/kiosk mode 0750 owner govkiosk:govkiosk",
    ):
        assert expected in out, out
    assert len([line for line in out.splitlines() if line.startswith("would")]) == len(plan(ROLES))
    assert snapshot(tmp_path) == before


def test_a_staging_install_renders_units_for_this_machines_programs(tmp_path: Path) -> None:
    assert main(["kiosk", "backend", "broker", "--root", str(tmp_path)]) == 0
    units = tmp_path / "etc/systemd/system"
    agent = (units / "kiosk-agent.service").read_text()
    assert f"ExecStart={BIN}/kiosk-agent\n" in agent
    assert f"ExecStart={BIN}/fleet-backend ingest\n" in (units / "fleet-ingest.service").read_text()
    assert (
        f"ExecStartPre={BIN}/fleet-backend db upgrade"
        in (units / "fleet-serve.service").read_text()
    )
    assert "@@" not in "".join(p.read_text() for p in units.rglob("*") if p.is_file())
    # The kiosk UI's program does not exist yet: its unit is not rendered, and the plan says so.
    assert (units / "kiosk-ui.service").exists() == (BIN / "kiosk").exists()
    assert (tmp_path / "etc/govkiosk/kiosk.env").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "etc/govkiosk/fleet.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "etc/govkiosk/tls/services").stat().st_mode & 0o777 == 0o700
    # A second run keeps the operator's settings.
    (tmp_path / "etc/govkiosk/kiosk.env").write_text("KIOSK_ID=kiosk-hall-07\n")
    assert main(["kiosk", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "etc/govkiosk/kiosk.env").read_text() == "KIOSK_ID=kiosk-hall-07\n"


def verify(unit_dir: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *names],
        cwd=unit_dir,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:", "SYSTEMD_LOG_LEVEL": "notice"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_passes_on_every_rendered_unit(tmp_path: Path) -> None:
    assert main(["kiosk", "backend", "broker", "--root", str(tmp_path / "root")]) == 0
    units = tmp_path / "root/etc/systemd/system"
    # The drop-in is verified as systemd will load it: beside Debian's mosquitto.service.
    shutil.copy("/lib/systemd/system/mosquitto.service", units / "mosquitto.service")
    names = sorted(p.name for p in units.glob("*.service"))
    assert {"kiosk-agent.service", "fleet-serve.service", "fleet-ingest.service"} <= set(names)
    result = verify(units, *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr

    # The check is real: a unit whose program does not exist fails it.
    bad = (units / "kiosk-agent.service").read_text().replace(str(BIN), "/nonexistent/bin")
    (units / "broken.service").write_text(bad)
    failed = verify(units, "broken.service")
    assert failed.returncode != 0 and "/nonexistent/bin/kiosk-agent" in failed.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_the_kiosk_ui_template_verifies_with_a_stand_in_program(tmp_path: Path) -> None:
    """Until the kiosk UI program exists, its unit's syntax is checked with `true` standing in."""
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "kiosk").symlink_to(shutil.which("true") or "/bin/true")
    from provisioning.install import render_unit

    (tmp_path / "kiosk-ui.service").write_text(render_unit("kiosk-ui.service", stand_in))
    result = verify(tmp_path, "kiosk-ui.service")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr, result.stderr


def test_install_onto_the_system_needs_root_or_a_staging_root(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["no-such-role", "--root", str(tmp_path)])
