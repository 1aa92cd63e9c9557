"""``kioskctl``: what a field technician runs on a kiosk (enrol, selftest, status).

``kioskctl enrol --backend URL --code CODE`` makes the kiosk's key pair here
(it never leaves the box), sends a certificate request with the one-time
code, and writes what comes back: the device certificate, the fleet CA's
certificate and ``kiosk.env`` with KIOSK_ID, KIOSK_MQTT_URL and the TLS file
settings, for the agent's systemd unit. The key is written 0600 and never
printed. A refused code is explained in plain words.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from devices.cli import DEVICE_LABELS, format_table
from devices.selftest import SelftestConfig
from mqtt.agent.health import app_version
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox, open_kiosk_db
from provisioning import enrolment_qr
from provisioning.ca import key_pem, make_csr, new_key, write_private
from provisioning.enrolment_qr import EnrolmentQr
from provisioning.selftest import KioskConfig, certificate_days_left
from provisioning.selftest import run as run_selftest_all

DEFAULT_CONFIG_DIR = Path(os.environ.get("KIOSK_CONFIG_DIR", "/etc/govkiosk"))

REASONS = {
    "unknown_code": "代码无效（输错或伪造）/ the code is not valid: check for typos, or ask ops for a new one",
    "used_code": "代码已被使用 / the code was already used: each code enrols one kiosk; ask ops for a new one",
    "expired_code": "代码已过期 / the code has expired: ask ops for a new one",
    "bad_request": "证书请求被拒绝 / the certificate request was refused",
}


class EnrolError(Exception):
    pass


def enrol(
    backend: str, code: str, config_dir: Path, *, cafile: Path | None = None, timeout: float = 30
) -> str:
    """Enrol this kiosk; returns its kiosk id. Raises EnrolError with a technician's message."""
    key_file = config_dir / "kiosk.key"
    if key_file.exists():
        raise EnrolError(
            f"{key_file} exists: this kiosk is already enrolled (remove it to re-enrol)"
        )
    key = new_key()
    request = urllib.request.Request(
        backend.rstrip("/") + "/api/v1/enrol",
        data=json.dumps({"code": code, "csr_pem": make_csr(key, "kiosk").decode()}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        try:
            detail = json.load(err).get("detail", {})
        except (ValueError, AttributeError):
            detail = {}
        reason = detail.get("reason") if isinstance(detail, dict) else None
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        raise EnrolError(f"{REASONS.get(reason, f'HTTP {err.code}')}: {message}") from None
    except (urllib.error.URLError, OSError) as err:
        raise EnrolError(f"cannot reach the backend at {backend}: {err}") from None

    config_dir.mkdir(parents=True, exist_ok=True)
    write_private(key_file, key_pem(key))
    (config_dir / "kiosk.crt").write_text(answer["certificate_pem"])
    (config_dir / "ca.crt").write_text(answer["ca_certificate_pem"])
    enrolled = {
        "KIOSK_ID": answer["kiosk_id"],
        "KIOSK_MQTT_URL": answer["broker_url"],
        "KIOSK_BACKEND_URL": backend.rstrip("/"),
        "KIOSK_MQTT_CA_FILE": str(config_dir / "ca.crt"),
        "KIOSK_MQTT_CERT_FILE": str(config_dir / "kiosk.crt"),
        "KIOSK_MQTT_KEY_FILE": str(key_file),
    }
    if cafile:  # the kiosk's later HTTPS calls trust what enrolment trusted
        (config_dir / "backend-ca.crt").write_bytes(Path(cafile).read_bytes())
        enrolled["KIOSK_BACKEND_CA_FILE"] = str(config_dir / "backend-ca.crt")
    update_env_file(config_dir / "kiosk.env", enrolled)
    return answer["kiosk_id"]


def update_env_file(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in an env file, keeping every other line (the installer's, the site's)."""
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [
        line
        for line in lines
        if line.split("=", 1)[0].strip() not in values or line.lstrip().startswith("#")
    ]
    if kept and not any(line.startswith("# Written by kioskctl enrol") for line in kept):
        kept.append("# Written by kioskctl enrol:")
    kept += [f"{key}={value}" for key, value in values.items()]
    path.write_text("\n".join(kept) + "\n")
    path.chmod(0o640)


def scan_enrolment_qr(camera: str, timeout_s: float | None = None) -> EnrolmentQr:
    """Hold the code's QR in front of the kiosk's camera; returns what it says."""
    from devices.errors import DeviceError
    from devices.face.factory import open_frame_source
    from devices.face.settings import CameraSettings
    from devices.qr import scan

    if timeout_s is None:
        timeout_s = float(os.environ.get("KIOSKCTL_SCAN_TIMEOUT_S", "120"))
    try:
        source = open_frame_source(CameraSettings.from_config(camera))
    except (DeviceError, ValueError) as err:
        raise EnrolError(f"cannot open the camera {camera!r}: {err}") from None
    try:
        text = scan(source, accept=lambda t: enrolment_qr.parse(t) is not None, timeout_s=timeout_s)
    except TimeoutError as err:
        raise EnrolError(f"扫码超时 / no enrolment QR code seen: {err}") from None
    except DeviceError as err:
        raise EnrolError(f"the camera failed while scanning: {err}") from None
    finally:
        source.close()
    found = enrolment_qr.parse(text)
    assert found is not None  # scan() accepted it
    return found


def _enrolment_target(args: argparse.Namespace) -> tuple[str, str]:
    """(backend, code) from the options, or from the scanned QR code."""
    if not args.scan:
        if not args.backend:
            raise EnrolError("--backend is required with --code")
        return args.backend, args.code
    camera = args.camera or _kiosk_env(args).get("KIOSK_CAMERA", "0")
    print("请将注册码二维码对准摄像头 / hold the code's QR code in front of the camera ...")
    found = scan_enrolment_qr(camera)
    backend = args.backend or found.backend
    if not backend:
        raise EnrolError("the QR code names no backend: give --backend")
    print(f"扫码成功 / scanned: code {found.code[:4]}-…, backend {backend}")
    return backend, found.code


LABELS = {
    **DEVICE_LABELS,
    "broker": "消息服务器 broker",
    "backend": "后台服务 backend",
    "clock": "时钟 clock",
    "disk": "磁盘 disk",
    "certificate": "证书 certificate",
}


def _kiosk_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment, with the kiosk.env that enrolment wrote laid over it."""
    env = dict(os.environ)
    path = args.config_dir / "kiosk.env"
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip()
    return env


def _print_report(env: dict[str, str], rows: list[tuple[str, str]], sim: bool) -> str:
    from devices.printer import printer_from_config, status_report

    printer = printer_from_config("sim" if sim else env.get("KIOSK_PRINTER", "usb:0416:5011"))
    printer.print_document(
        status_report(kiosk_id=env.get("KIOSK_ID", "—"), printed_at=datetime.now(UTC), items=rows)
    )
    return printer.as_text() if hasattr(printer, "as_text") else ""


def cmd_selftest(args: argparse.Namespace) -> int:
    env = _kiosk_env(args)
    checks = run_selftest_all(
        KioskConfig.from_env(env), SelftestConfig.from_env(sim=args.sim, environ=env)
    )
    rows = [
        (LABELS.get(c.device, c.device), "ok" if c.ok else "fail", c.detail, f"{c.elapsed_ms:.0f}")
        for c in checks
    ]
    print(format_table(rows))
    failed = [c.device for c in checks if not c.ok]
    print(
        f"selftest: {len(checks) - len(failed)} of {len(checks)} ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if args.print:
        text = _print_report(
            env,
            [(LABELS.get(c.device, c.device), "正常" if c.ok else "故障") for c in checks],
            args.sim,
        )
        if text:
            print(text)
    return 1 if failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    env = _kiosk_env(args)
    config = KioskConfig.from_env(env)
    rows: list[tuple[str, str]] = [
        ("终端编号 kiosk id", config.kiosk_id or "未登记 not enrolled"),
        ("消息服务器 broker", config.mqtt_url or "—"),
        ("后台 backend", config.backend_url or "—"),
        ("版本 version", app_version()),
    ]
    try:
        subject, days = certificate_days_left(config)
        rows.append(("证书 certificate", f"{subject}, {days} days left"))
    except (RuntimeError, OSError, ValueError) as err:
        rows.append(("证书 certificate", str(err)))
    db_path = config.data_dir / "kiosk.db"
    if db_path.exists():
        db = open_kiosk_db(db_path)
        stats = Outbox(db).stats()
        age = "—" if stats.oldest_age_s is None else f"{stats.oldest_age_s:.0f} s"
        rows.append(("待发事件 outbox", f"{stats.depth} (oldest {age})"))
        for name, health in DeviceHealthStore(db).all().items():
            rows.append((f"设备 {name}", f"{health.state} {health.detail or ''}".strip()))
        db.close()
    else:
        rows.append(("待发事件 outbox", f"no kiosk database at {db_path}"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    if args.print:
        text = _print_report(env, rows, args.sim)
        if text:
            print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kioskctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        (
            "selftest",
            cmd_selftest,
            "test devices, broker, clock, disk and certificate; exit 1 if any fails",
        ),
        ("status", cmd_status, "what this kiosk is, how it is configured and how it is doing"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "--config-dir",
            type=Path,
            default=DEFAULT_CONFIG_DIR,
            help=f"default {DEFAULT_CONFIG_DIR}",
        )
        command.add_argument(
            "--sim", action="store_true", help="simulated devices (training, a laptop)"
        )
        command.add_argument(
            "--print", action="store_true", help="also print the report on the receipt printer"
        )
        command.set_defaults(func=func)
    cmd = sub.add_parser("enrol", help="enrol this kiosk with a one-time code from ops")
    cmd.add_argument(
        "--backend", help="the fleet backend, e.g. https://fleet.example:8443 (or from --scan)"
    )
    source = cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("--code", help="the one-time enrolment code (dashes optional)")
    source.add_argument(
        "--scan",
        action="store_true",
        help="read the code's QR (from the ops page or sheet) with the kiosk's camera",
    )
    cmd.add_argument(
        "--camera",
        help="camera for --scan: KIOSK_CAMERA syntax (default: KIOSK_CAMERA, else 0)",
    )
    cmd.add_argument(
        "--config-dir", type=Path, default=DEFAULT_CONFIG_DIR, help=f"default {DEFAULT_CONFIG_DIR}"
    )
    cmd.add_argument("--backend-ca", type=Path, help="CA file to trust for the backend's HTTPS")
    cmd.set_defaults(func=None)
    args = parser.parse_args(argv)
    if args.func is not None:
        return args.func(args)
    try:
        backend, code = _enrolment_target(args)
        kiosk_id = enrol(backend, code, args.config_dir, cafile=args.backend_ca)
    except EnrolError as err:
        print(f"kioskctl: enrolment failed: {err}", file=sys.stderr)
        return 1
    print(f"enrolled as {kiosk_id}; configuration in {args.config_dir}/kiosk.env")
    return 0


if __name__ == "__main__":
    sys.exit(main())
