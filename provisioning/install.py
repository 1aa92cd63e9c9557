"""``fleet-install``: lay an appliance out: users, folders, configuration and systemd units.

Roles: ``kiosk`` (kiosk-agent, and the kiosk UI when its program exists),
``backend`` (fleet-serve, fleet-ingest), ``broker`` (Mosquitto drop-in and
its folder). Units are rendered from ``systemd/units/`` so that ExecStart
points at *this machine's* programs (the virtual environment this command
runs from). Every change is one ``Action``; ``--dry-run`` prints them all and
changes nothing; ``--root DIR`` writes into a staging root (users are then
not created and ownership is not changed: those belong to the real system).
Environment files that already exist are kept (they hold the operator's
settings); units are always rewritten.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from provisioning.ca import _atomic_write

UNITS_SRC = Path(__file__).resolve().parent.parent / "systemd" / "units"
ROLES = ("kiosk", "backend", "broker")
KIOSK_USER = "govkiosk"
KIOSK_GROUPS = ("video", "plugdev", "lp", "dialout", "input")
ETC = Path("/etc/govkiosk")
UNIT_DIR = Path("/etc/systemd/system")

KIOSK_ENV = """\
# govkiosk kiosk settings (read by kiosk-agent and the kiosk UI). See README.md.
KIOSK_ID=change-me-01
KIOSK_MQTT_URL=mqtts://broker.example:8883
KIOSK_DATA_DIR=/var/lib/govkiosk/kiosk
KIOSK_MQTT_CA_FILE=/etc/govkiosk/tls/ca.crt
KIOSK_MQTT_CERT_FILE=/etc/govkiosk/tls/device.crt
KIOSK_MQTT_KEY_FILE=/etc/govkiosk/tls/device.key
"""

FLEET_ENV = """\
# govkiosk fleet backend settings (read by fleet-serve and fleet-ingest). See README.md.
FLEET_ENVIRONMENT=production
FLEET_DATABASE_URL=sqlite:////var/lib/govkiosk-fleet/fleet.db
FLEET_HTTP_HOST=127.0.0.1
FLEET_HTTP_PORT=8000
FLEET_MQTT_URL=mqtts://127.0.0.1:8883
# The services' broker identities, written by `fleet-broker-config --credentials-dir
# /etc/govkiosk/tls/services` and loaded by systemd (LoadCredential=tls:...).
# ingest (fleet-ingest.service): fleet.ingest
FLEET_MQTT_CA_FILE=/run/credentials/fleet-ingest.service/tls_ca.crt
FLEET_MQTT_CERT_FILE=/run/credentials/fleet-ingest.service/tls_fleet.ingest.crt
FLEET_MQTT_KEY_FILE=/run/credentials/fleet-ingest.service/tls_fleet.ingest.key
# the web process's command publisher (fleet-serve.service): fleet.web, its own identity
FLEET_MQTT_PUBLISHER_CA_FILE=/run/credentials/fleet-serve.service/tls_ca.crt
FLEET_MQTT_PUBLISHER_CERT_FILE=/run/credentials/fleet-serve.service/tls_fleet.web.crt
FLEET_MQTT_PUBLISHER_KEY_FILE=/run/credentials/fleet-serve.service/tls_fleet.web.key
"""


class InstallError(Exception):
    """Something the install cannot do (not root, a template missing)."""


@dataclass(frozen=True)
class Action:
    """One change to the system: what, where, and how it is applied."""

    kind: str  # user | group-member | dir | file | unit | note
    path: str
    detail: str = ""
    content: str | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    keep_existing: bool = False

    def describe(self) -> str:
        mode = f" mode {self.mode:04o}" if self.mode is not None else ""
        owner = (
            f" owner {self.owner or 'root'}:{self.group or 'root'}"
            if self.owner or self.group
            else ""
        )
        keep = " (kept if present)" if self.keep_existing else ""
        return f"{self.kind:12} {self.path}{mode}{owner}{keep}{' - ' + self.detail if self.detail else ''}"


def bin_dir() -> Path:
    """The folder of this environment's console scripts (kiosk-agent, fleet-backend, ...)."""
    return Path(sys.executable).parent


def render_unit(name: str, programs: Path) -> str:
    """A unit from ``systemd/units/`` with this machine's program folder filled in."""
    text = (UNITS_SRC / name).read_text(encoding="utf-8")
    # ProtectHome=yes would hide a virtual environment kept under /home or /root.
    home_like = any(
        programs == base or base in programs.parents for base in (Path("/home"), Path("/root"))
    )
    return text.replace("@@BIN@@", str(programs)).replace(
        "@@PROTECT_HOME@@", "read-only" if home_like else "yes"
    )


def plan(roles: Iterable[str], programs: Path | None = None) -> list[Action]:
    """Every action the roles need, in order; nothing is touched."""
    programs = programs or bin_dir()
    roles = list(dict.fromkeys(roles))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise InstallError(f"unknown role(s) {sorted(unknown)}; choose from {ROLES}")
    actions: list[Action] = [Action("dir", str(ETC), mode=0o755)]
    if "kiosk" in roles:
        actions += [
            Action("user", KIOSK_USER, "system user running the kiosk UI and agent"),
            *[
                Action(
                    "group-member",
                    KIOSK_USER,
                    f"join {g} (display, camera, printer, card)",
                    group=g,
                )
                for g in KIOSK_GROUPS
            ],
            Action("dir", "/var/lib/govkiosk", mode=0o755),
            Action(
                "dir", "/var/lib/govkiosk/kiosk", mode=0o750, owner=KIOSK_USER, group=KIOSK_USER
            ),
            Action(
                "dir",
                str(ETC / "tls"),
                "device certificate from enrolment",
                mode=0o750,
                group=KIOSK_USER,
            ),
            Action(
                "file",
                str(ETC / "kiosk.env"),
                content=KIOSK_ENV,
                mode=0o640,
                group=KIOSK_USER,
                keep_existing=True,
            ),
            Action(
                "unit",
                str(UNIT_DIR / "kiosk-agent.service"),
                content=render_unit("kiosk-agent.service", programs),
                mode=0o644,
            ),
        ]
        if (programs / "kiosk").exists():
            actions.append(
                Action(
                    "unit",
                    str(UNIT_DIR / "kiosk-ui.service"),
                    content=render_unit("kiosk-ui.service", programs),
                    mode=0o644,
                )
            )
        else:
            actions.append(
                Action(
                    "note",
                    str(UNIT_DIR / "kiosk-ui.service"),
                    f"not rendered: {programs / 'kiosk'} does not exist yet",
                )
            )
    if "backend" in roles:
        actions += [
            Action("dir", str(ETC / "tls"), mode=0o750),
            Action(
                "dir",
                str(ETC / "tls" / "services"),
                "ingest's ca.crt, fleet.ingest.crt/.key (fleet-broker-config --credentials-dir)",
                mode=0o700,
            ),
            Action(
                "file", str(ETC / "fleet.env"), content=FLEET_ENV, mode=0o600, keep_existing=True
            ),
            Action(
                "unit",
                str(UNIT_DIR / "fleet-serve.service"),
                content=render_unit("fleet-serve.service", programs),
                mode=0o644,
            ),
            Action(
                "unit",
                str(UNIT_DIR / "fleet-ingest.service"),
                content=render_unit("fleet-ingest.service", programs),
                mode=0o644,
            ),
        ]
    if "broker" in roles:
        actions += [
            Action(
                "dir",
                str(ETC / "broker"),
                "fleet-broker-config --out here",
                mode=0o750,
                group="mosquitto",
            ),
            Action(
                "unit",
                str(UNIT_DIR / "mosquitto.service.d" / "fleet.conf"),
                content=render_unit("mosquitto.service.d/fleet.conf", programs),
                mode=0o644,
            ),
        ]
    return _dedupe(actions)


def _dedupe(actions: list[Action]) -> list[Action]:
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for action in actions:
        key = (action.kind, action.path, action.group if action.kind == "group-member" else None)
        if key not in seen:
            seen.add(key)
            out.append(action)
    return out


def apply(actions: Iterable[Action], root: Path = Path("/"), *, log=print) -> None:
    """Carry the actions out under ``root``; users and ownership only when root is ``/``."""
    real = Path(root).resolve() == Path("/")
    if real and os.geteuid() != 0:
        raise InstallError("installing onto this system needs root (or use --root DIR)")
    for action in actions:
        target = Path(root) / action.path.lstrip("/")
        if action.kind == "note":
            log(f"note         {action.path} - {action.detail}")
            continue
        if action.kind in ("user", "group-member"):
            if not real:
                log(f"skip         {action.describe()} (staging root)")
                continue
            _apply_account(action, log)
            continue
        if action.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(action.mode or 0o755)
        elif action.kind in ("file", "unit"):
            if action.keep_existing and target.exists():
                log(f"keep         {target}")
                continue
            assert action.content is not None
            _atomic_write(target, action.content.encode(), action.mode or 0o644)
        if real and (action.owner or action.group):
            shutil.chown(target, action.owner or "root", action.group or "root")
        log(f"done         {action.describe()}")


def _apply_account(action: Action, log) -> None:
    if action.kind == "user":
        try:
            pwd.getpwnam(action.path)
            log(f"exists       user {action.path}")
            return
        except KeyError:
            pass
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                "/var/lib/govkiosk",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                action.path,
            ],
            check=True,
        )
    else:
        assert action.group is not None
        try:
            grp.getgrnam(action.group)
        except KeyError:
            log(f"skip         group {action.group} does not exist on this system")
            return
        subprocess.run(["usermod", "-aG", action.group, action.path], check=True)
    log(f"done         {action.describe()}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-install",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "roles", nargs="+", choices=ROLES, help="what this machine is: kiosk, backend, broker"
    )
    parser.add_argument(
        "--root", type=Path, default=Path("/"), help="install into this staging root (default /)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print every action; change nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        actions = plan(args.roles)
        if args.dry_run:
            print(f"dry run: {len(actions)} actions under {args.root} (nothing is changed)")
            for action in actions:
                print(f"would        {action.describe()}")
            return 0
        apply(actions, args.root)
    except (InstallError, OSError, subprocess.CalledProcessError) as err:
        print(f"fleet-install: {err}", file=sys.stderr)
        return 1
    if Path(args.root).resolve() == Path("/"):
        print("next: systemctl daemon-reload; systemctl enable --now <units>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
