"""``fleet-broker-config``: write a deployment's Mosquitto folder from the fleet CA.

Creates the fleet CA on first use (``--init-ca``), then writes into ``--out``:
``mosquitto.conf`` (one TLS listener, client certificates required, identity
as username and client id, no anonymous, persistence on), ``acl`` (each kiosk
its own topics; each service the fleet's), ``ca.crt``, ``server.crt``/``.key``
(SANs from ``--host``), ``crl.pem``; with ``--credentials-dir``, each
service's client certificate and key (for ``FLEET_MQTT_CERT_FILE`` /
``FLEET_MQTT_KEY_FILE``). The CA key's passphrase is read from
FLEET_CA_PASSPHRASE (required unless FLEET_ENVIRONMENT=development).
Running it again re-issues the server certificate and rewrites the rest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioning.broker import DEFAULT_TLS_PORT, BrokerConfig, write_deployment
from provisioning.ca import INGEST_CN, WEB_CN, CAError, FleetCA, ca_passphrase


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-broker-config",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ca-dir", type=Path, required=True, help="the fleet CA's folder")
    parser.add_argument("--out", type=Path, required=True, help="the broker's folder to write")
    parser.add_argument(
        "--init-ca", action="store_true", help="create the CA in --ca-dir if it does not exist"
    )
    parser.add_argument(
        "--host",
        action="append",
        default=None,
        help="a name or IP kiosks use to reach the broker (repeat; default 127.0.0.1 and localhost)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_TLS_PORT, help="TLS port (default 8883)"
    )
    parser.add_argument("--bind", help="address to listen on (default: every interface)")
    parser.add_argument(
        "--persistence-dir",
        type=Path,
        default=Path("/var/lib/mosquitto"),
        help="where Mosquitto saves sessions and queues (default /var/lib/mosquitto)",
    )
    parser.add_argument(
        "--service",
        action="append",
        default=None,
        help=f"a backend service identity, fleet.<name> (repeat; default {INGEST_CN} and {WEB_CN})",
    )
    parser.add_argument(
        "--credentials-dir", type=Path, help="also issue each service's certificate and key here"
    )
    parser.add_argument(
        "--plain-loopback-port",
        type=int,
        help="opt-in: also listen for plain, anonymous MQTT on 127.0.0.1 (off by default)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        passphrase = ca_passphrase()
        if args.init_ca and not (args.ca_dir / "ca.key.pem").exists():
            ca = FleetCA.create(args.ca_dir, passphrase)
            print(f"created the fleet CA in {args.ca_dir}")
        else:
            ca = FleetCA.load(args.ca_dir, passphrase)
        cfg = BrokerConfig(
            directory=args.out.resolve(),
            port=args.port,
            bind=args.bind,
            persistence_dir=args.persistence_dir,
            services=tuple(args.service or (INGEST_CN, WEB_CN)),
            plain_loopback_port=args.plain_loopback_port,
        )
        issued = write_deployment(
            ca,
            cfg,
            hosts=args.host or ("127.0.0.1", "localhost"),
            credentials_dir=args.credentials_dir,
        )
    except (CAError, ValueError, OSError) as err:
        print(f"fleet-broker-config: {err}", file=sys.stderr)
        return 1
    print(f"wrote {cfg.path('mosquitto.conf')} (TLS on port {cfg.port}) and its files")
    for cred in issued:
        print(f"issued {cred.name}: {cred.cert_file} (key {cred.key_file}, 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
