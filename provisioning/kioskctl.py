"""``kioskctl``: what a field technician runs on a kiosk.

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
from pathlib import Path

from provisioning.ca import key_pem, make_csr, new_key, write_private

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
    env = config_dir / "kiosk.env"
    env.write_text(
        f"KIOSK_ID={answer['kiosk_id']}\n"
        f"KIOSK_MQTT_URL={answer['broker_url']}\n"
        f"KIOSK_MQTT_CA_FILE={config_dir / 'ca.crt'}\n"
        f"KIOSK_MQTT_CERT_FILE={config_dir / 'kiosk.crt'}\n"
        f"KIOSK_MQTT_KEY_FILE={key_file}\n"
    )
    env.chmod(0o640)
    return answer["kiosk_id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kioskctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("enrol", help="enrol this kiosk with a one-time code from ops")
    cmd.add_argument(
        "--backend", required=True, help="the fleet backend, e.g. https://fleet.example:8443"
    )
    cmd.add_argument("--code", required=True, help="the one-time enrolment code (dashes optional)")
    cmd.add_argument(
        "--config-dir", type=Path, default=DEFAULT_CONFIG_DIR, help=f"default {DEFAULT_CONFIG_DIR}"
    )
    cmd.add_argument("--backend-ca", type=Path, help="CA file to trust for the backend's HTTPS")
    args = parser.parse_args(argv)
    try:
        kiosk_id = enrol(args.backend, args.code, args.config_dir, cafile=args.backend_ca)
    except EnrolError as err:
        print(f"kioskctl: enrolment failed: {err}", file=sys.stderr)
        return 1
    print(f"enrolled as {kiosk_id}; configuration in {args.config_dir}/kiosk.env")
    return 0


if __name__ == "__main__":
    sys.exit(main())
