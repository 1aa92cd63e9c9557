"""``fleet-backend``: serve the API, run ingest, migrate the database.

Configuration comes from FLEET_* environment variables (see README):
FLEET_DATABASE_URL, FLEET_MQTT_URL and the FLEET_INGEST_* tuning knobs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.core import migrate
from backend.core.config import Settings, get_settings


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as err:
        print(f"fleet-backend: bad configuration:\n{err}", file=sys.stderr)
        sys.exit(2)


def _sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions of the configured database, their audit entries keyed from FLEET_CA_DIR."""
    from backend.core.db import make_engine, make_sessionmaker
    from backend.services import audit

    return make_sessionmaker(
        make_engine(settings.database_url),
        info={audit.KEYS_INFO: audit.keys_provider(settings.ca_dir)},
    )


def _require_current_schema(settings: Settings) -> None:
    try:
        current = migrate.is_current(settings.database_url)
    except SQLAlchemyError as err:
        print(f"fleet-backend: cannot reach the database: {err}", file=sys.stderr)
        sys.exit(1)
    if not current:
        print(
            "fleet-backend: the database schema is not current; run `fleet-backend db upgrade`",
            file=sys.stderr,
        )
        sys.exit(1)


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from backend.api.main import create_app
    from mqtt.systemd_notify import LoopWatchdog, ready

    settings = _settings()
    _require_current_schema(settings)

    class NotifyingServer(uvicorn.Server):
        """Tells systemd READY=1 once listening; pings the watchdog while its loop answers."""

        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit:  # could not bind: not ready, uvicorn exits with an error
                return
            loop = asyncio.get_running_loop()

            def loop_answers() -> bool:
                probe = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
                probe.result(timeout=5)
                return not self.should_exit

            LoopWatchdog(loop_answers).start()
            ready(f"serving on {args.host}:{args.port}")

    if bool(args.tls_cert) != bool(args.tls_key):
        print("fleet-backend: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    from backend.alerts.worker import AlertWorker  # the ops centre's rules (backend/alerts)
    from backend.services.audit_worker import CheckpointWorker

    sessions = _sessions(settings)
    alert_worker = AlertWorker(sessions, settings)
    checkpoint_worker = CheckpointWorker(sessions, settings)
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
    )
    alert_worker.start()
    checkpoint_worker.start()
    try:
        NotifyingServer(config).run()
    finally:
        alert_worker.stop()
        checkpoint_worker.stop()
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from backend.ingest.consumer import Ingest
    from mqtt.client import tune_for_message_throughput

    settings = _settings()
    if args.name:
        settings = settings.model_copy(update={"ingest_name": args.name})
    _require_current_schema(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    tune_for_message_throughput()
    Ingest(settings).run(stop)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        migrate.upgrade(settings.database_url, args.revision)
    except SQLAlchemyError as err:
        print(f"fleet-backend: upgrade failed: {err}", file=sys.stderr)
        return 1
    print(f"database at revision {migrate.current_revision(settings.database_url)}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = _settings()
    print(migrate.current_revision(settings.database_url) or "(empty database)")
    return 0


def cmd_create_token(args: argparse.Namespace) -> int:
    from backend.services import tokens

    settings = _settings()
    _require_current_schema(settings)
    from backend.services import audit, auth

    if args.role == "technician" and not args.region:
        print(
            "fleet-backend: warning: a technician token without --region sees no kiosk",
            file=sys.stderr,
        )
    if args.role != "technician" and args.region:
        print("fleet-backend: only technician tokens are limited to regions", file=sys.stderr)
        return 2
    try:
        with _sessions(settings).begin() as session:
            token = tokens.create_token(session, role=args.role, name=args.name)
            session.flush()
            auth.set_token_regions(session, token, args.region or [])
            audit.record(
                session,
                actor="cli:admin",
                action="token.create",
                target=f"token:{args.name}",
                detail={"role": args.role, "regions": args.region or []},
            )
    except audit.AuditKeyUnavailable as err:
        print(f"fleet-backend: {err}; nothing was created", file=sys.stderr)
        return 1
    print(token)  # the only time it is shown; only its hash is stored
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    import getpass

    from backend.services import audit, users

    settings = _settings()
    _require_current_schema(settings)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("fleet-backend: the passwords differ", file=sys.stderr)
            return 2
    try:
        with _sessions(settings).begin() as session:
            user = users.create_user(
                session,
                username=args.username,
                password=password,
                role=args.role,
                display_name=args.display_name,
                regions=args.region or [],
            )
            audit.record(
                session,
                actor="cli:admin",
                action="user.create",
                target=f"user:{user.username}",
                detail={"role": user.role, "regions": user.regions},
            )
    except users.UserError as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 2
    except audit.AuditKeyUnavailable as err:
        print(f"fleet-backend: {err}; nothing was created", file=sys.stderr)
        return 1
    print(f"user {args.username} ({args.role}) created")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from backend.services import audit

    settings = _settings()
    _require_current_schema(settings)
    path = args.checkpoint or settings.audit_checkpoint_file
    if args.checkpoint and not args.checkpoint.exists():
        print(f"fleet-backend: no checkpoint file {args.checkpoint}", file=sys.stderr)
        return 2
    with _sessions(settings)() as session:
        verdict = audit.verify(session, checkpoint_file=path)
    kinds = f"{verdict.keyed} keyed (HMAC-SHA256)"
    if verdict.legacy:
        kinds = f"{verdict.legacy} legacy, unkeyed (SHA-256 only), then " + kinds
    out = sys.stdout if verdict.ok else sys.stderr
    if verdict.ok:
        print(f"audit log intact: {verdict.entries} entries: {kinds}")
    else:
        where = f" at entry {verdict.first_bad_seq}" if verdict.first_bad_seq else ""
        print(f"audit log BROKEN{where}: {verdict.reason}", file=out)
        for finding in verdict.findings:
            print(f"  - {finding.text}", file=out)
        print(f"  ({verdict.entries} entries: {kinds})", file=out)
    if verdict.checkpoint is not None:
        latest = verdict.checkpoint
        print(
            f"checked against {verdict.checkpoints} signed checkpoints in {path}; the latest, "
            f"#{latest.number}: {latest.entries} entries up to entry {latest.last_seq}, "
            f"at {latest.at}, signed by {latest.signer}",
            file=out,
        )
    else:
        print(
            f"no valid checkpoint in {path}: removal of the newest entries cannot be detected",
            file=out,
        )
    return 0 if verdict.ok else 1


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from backend.services import audit
    from backend.services.audit_worker import checkpoint_once

    settings = _settings()
    _require_current_schema(settings)
    try:
        checkpoint = checkpoint_once(_sessions(settings), settings, force=args.force)
    except audit.AuditKeyUnavailable as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    except audit.CheckpointRefused as err:
        print(
            "fleet-backend: the audit log does not verify; no checkpoint written:", file=sys.stderr
        )
        for finding in err.findings:
            print(f"  - {finding.text}", file=sys.stderr)
        return 1
    if checkpoint is None:
        print(f"no new entries since the last checkpoint in {settings.audit_checkpoint_file}")
        return 0
    print(
        f"checkpoint written to {settings.audit_checkpoint_file}: {checkpoint.entries} entries "
        f"up to entry {checkpoint.last_seq}, at {checkpoint.at}, signed by {checkpoint.signer}"
    )
    return 0


def cmd_audit_public_key(args: argparse.Namespace) -> int:
    from backend.services import audit

    settings = _settings()
    try:
        keys = audit.keys_provider(settings.ca_dir)()
    except audit.AuditKeyUnavailable as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    print(f"# audit checkpoint key {keys.signer} (Ed25519)")
    print(keys.public_pem(), end="")
    return 0


def cmd_audit_rotate_key(args: argparse.Namespace) -> int:
    from backend.gov.keys import KeyUnavailable, rotate_audit_key
    from provisioning.ca import CAError, ca_passphrase

    settings = _settings()
    try:
        kid = rotate_audit_key(settings.ca_dir, ca_passphrase())
    except (CAError, KeyUnavailable, OSError) as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    print(f"new audit key {kid}; restart serve so new entries use it (older keys still verify)")
    return 0


def cmd_ca_init(args: argparse.Namespace) -> int:
    from provisioning.ca import CAError, FleetCA, ca_passphrase

    settings = _settings()
    try:
        ca = FleetCA.create(settings.ca_dir, ca_passphrase())
    except CAError as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    print(f"fleet CA created in {settings.ca_dir} (certificate {ca.cert_path})")
    return 0


def cmd_ca_issue_server(args: argparse.Namespace) -> int:
    from provisioning.ca import BACKEND_CN, CAError, FleetCA, ca_passphrase, write_private

    settings = _settings()
    try:
        ca = FleetCA.load(settings.ca_dir, ca_passphrase())
        signed = ca.issue_server(args.host, common_name=BACKEND_CN)
    except CAError as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backend.crt").write_bytes(signed.cert_pem + ca.cert_pem)
    assert signed.key_pem is not None  # issue_server makes the key pair itself
    write_private(args.out / "backend.key", signed.key_pem)
    print(f"backend HTTPS certificate for {', '.join(args.host)} in {args.out}/backend.crt")
    return 0


def cmd_load_demo(args: argparse.Namespace) -> int:
    """The demo catalog, FAQ, citizens and e-licences from data/ (idempotent)."""
    from backend.core.db import make_engine, make_sessionmaker
    from backend.gov.keys import KeyUnavailable, load_data_keys
    from backend.services.demo_data import DemoDataError, load_demo
    from provisioning.ca import CAError, ca_passphrase

    settings = _settings()
    _require_current_schema(settings)
    try:
        keys = load_data_keys(settings.ca_dir, ca_passphrase())
        with make_sessionmaker(make_engine(settings.database_url)).begin() as session:
            summary = load_demo(session, keys, args.data or settings.data_dir)
    except (CAError, KeyUnavailable, DemoDataError) as err:
        print(f"fleet-backend: {err}", file=sys.stderr)
        return 1
    state = "updated" if summary.catalog_changed else "unchanged"
    print(
        f"catalog v{summary.catalog_version} ({state}): {summary.departments} departments, "
        f"{summary.items} items, {summary.life_events} life events, {summary.faqs} FAQs; "
        f"{summary.citizens} citizens with {summary.licences} e-licences"
    )
    return 0


def cmd_privacy_rewrap(args: argparse.Namespace) -> int:
    """Mask and encrypt personal data stored before it was masked and encrypted (idempotent)."""
    from backend.core.db import make_engine, make_sessionmaker
    from backend.gov.keys import KeyUnavailable, load_data_keys
    from backend.services.private_data import purge_old_copies, rewrap
    from provisioning.ca import CAError, ca_passphrase

    settings = _settings()
    _require_current_schema(settings)
    try:
        keys = load_data_keys(settings.ca_dir, ca_passphrase())
    except (CAError, KeyUnavailable, OSError) as err:
        print(f"fleet-backend: citizen-data keys unavailable: {err}", file=sys.stderr)
        return 1
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        summary = rewrap(session, keys)
    purge_old_copies(engine)  # the clear copies in the log and free pages go too
    engine.dispose()
    print(
        f"privacy rewrap: {summary.dead_letters} dead letters encrypted and masked, "
        f"{summary.forms} application forms protected, {summary.texts} free-text values masked; "
        "old copies purged (VACUUM)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleet-backend", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API and the ops pages (uvicorn)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--tls-cert", help="serve HTTPS with this certificate (see `fleet-backend ca issue-server`)"
    )
    serve.add_argument("--tls-key", help="the private key of --tls-cert")
    serve.set_defaults(func=cmd_serve)

    ingest = sub.add_parser("ingest", help="consume kiosk messages from MQTT into the database")
    ingest.add_argument(
        "--name", help="this ingest's stable name (default FLEET_INGEST_NAME or host)"
    )
    ingest.set_defaults(func=cmd_ingest)

    db = sub.add_parser("db", help="database schema (Alembic)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="migrate the database to the latest schema")
    upgrade.add_argument(
        "revision", nargs="?", default="heads", help="target revision (default heads: all of them)"
    )
    upgrade.set_defaults(func=cmd_db_upgrade)
    current = db_sub.add_parser("current", help="print the database's schema revision")
    current.set_defaults(func=cmd_db_current)

    admin = sub.add_parser("admin", help="users and tokens")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    token = admin_sub.add_parser("create-token", help="print a new bearer token for scripts")
    token.add_argument(
        "--role",
        required=True,
        choices=["admin", "operator", "technician", "reviewer"],
        help="reviewer: moves citizens' applications along (/api/v1/review)",
    )
    token.add_argument("--name", required=True, help="who or what uses it, for the audit trail")
    token.add_argument(
        "--region",
        action="append",
        help="technicians: a GB/T 2260 code prefix it may act on (repeatable)",
    )
    token.set_defaults(func=cmd_create_token)
    user = admin_sub.add_parser("create-user", help="create an ops centre user (the first admin)")
    user.add_argument("--username", required=True, help="log-in name: lower case, digits, _ . -")
    user.add_argument("--role", required=True, choices=["admin", "operator", "technician"])
    user.add_argument("--display-name", help="the name shown on pages (default: the user name)")
    user.add_argument(
        "--region", action="append", help="technicians: a GB/T 2260 code prefix (repeatable)"
    )
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    user.set_defaults(func=cmd_create_user)

    audit = sub.add_parser("audit", help="the keyed, hash-chained audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check every MAC and the signed checkpoints; exit 1 if tampered with"
    )
    verify.add_argument(
        "--checkpoint",
        type=Path,
        help="the checkpoint file to compare with (default FLEET_AUDIT_CHECKPOINT_FILE)",
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit_sub.add_parser(
        "checkpoint", help="sign the log's head and append it to the checkpoint file now"
    )
    checkpoint.add_argument(
        "--force", action="store_true", help="write one even if nothing changed since the last"
    )
    checkpoint.set_defaults(func=cmd_audit_checkpoint)
    public_key = audit_sub.add_parser(
        "public-key", help="print the public key that checkpoints are signed with (PEM)"
    )
    public_key.set_defaults(func=cmd_audit_public_key)
    rotate = audit_sub.add_parser(
        "rotate-key", help="add a new audit MAC key for new entries (old ones keep verifying)"
    )
    rotate.set_defaults(func=cmd_audit_rotate_key)

    privacy = sub.add_parser("privacy", help="personal data at rest")
    privacy_sub = privacy.add_subparsers(dest="privacy_command", required=True)
    rewrap = privacy_sub.add_parser(
        "rewrap",
        help="mask and encrypt what was stored before (dead letters, forms, free text); idempotent",
    )
    rewrap.set_defaults(func=cmd_privacy_rewrap)

    ca = sub.add_parser("ca", help="the fleet CA (FLEET_CA_DIR, FLEET_CA_PASSPHRASE)")
    ca_sub = ca.add_subparsers(dest="ca_command", required=True)
    init = ca_sub.add_parser("init", help="create the fleet CA (never overwrites one)")
    init.set_defaults(func=cmd_ca_init)
    server = ca_sub.add_parser(
        "issue-server", help="issue the backend's HTTPS certificate from the fleet CA"
    )
    server.add_argument(
        "--host", action="append", required=True, help="a DNS name or IP address (repeatable)"
    )
    server.add_argument(
        "--out", type=Path, required=True, help="folder for backend.crt and backend.key (0600)"
    )
    server.set_defaults(func=cmd_ca_issue_server)

    demo = sub.add_parser(
        "load-demo", help="load the demo catalog, FAQ and citizens from data/ (idempotent)"
    )
    demo.add_argument("--data", type=Path, help="the data folder (default FLEET_DATA_DIR, data/)")
    demo.set_defaults(func=cmd_load_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # a vendor library may have configured the root logger on import
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
