"""`make bench-fleet`: time to first byte of the ops centre's fleet page with 10,000 kiosks.

Seeds a fresh database (SQLite by default, or ``--database-url``) with
``--kiosks`` kiosks spread over a few hundred real counties and townships of
the GB/T 2260 tables, each with a health snapshot (devices, paper, disk,
outbox), about 5 % offline, a few hundred open alerts, and a logged-in
operator; then starts the real ``fleet-backend serve`` (alert worker on, as
in production) and asks for ``/ops/`` over real HTTP, ``--requests`` times
after a warm-up. Time to first byte is measured from sending the request to
receiving the status line (Starlette renders the whole page before it sends
the headers, so this is the page's full server time plus one loopback trip).

Prints the median and the 95th percentile; the last line reads
``fleet_page_ttfb_ms=<median>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy.orm import Session  # noqa: E402

from backend.core import migrate  # noqa: E402
from backend.core.db import make_engine  # noqa: E402
from backend.models import Alert, Kiosk, KioskPlacement  # noqa: E402
from backend.services import auth, users  # noqa: E402
from mqtt.broker import free_port  # noqa: E402

BIN = Path(sys.executable).parent
DIVISIONS = REPO / "data" / "divisions"


def regions(rng: random.Random, counties: int = 300) -> list[str]:
    areas = [a["code"] for a in json.loads((DIVISIONS / "areas.json").read_text(encoding="utf-8"))]
    chosen = rng.sample(areas, counties)
    streets = {}
    for line in (DIVISIONS / "streets.csv").read_text(encoding="utf-8").splitlines()[1:]:
        code = line.split(",", 1)[0]
        streets.setdefault(code[:6], []).append(code)
    out = []
    for county in chosen:
        out.append(county)
        out.extend(streets.get(county, [])[:3])  # some kiosks stand in townships
    return out


def health(rng: random.Random) -> dict:
    paper = rng.choices(["ok", "low", "out"], [95, 4, 1])[0]
    reader = rng.choices(["ok", "fault"], [99, 1])[0]
    return {
        "devices": {
            "card_reader": {"state": reader, "detail": "simulated"},
            "printer": {"state": "fault" if paper == "out" else "ok", "detail": None},
            "camera": {"state": "ok", "detail": None},
        },
        "paper": paper,
        "disk_free_bytes": rng.randint(5, 60) * 10**9,
        "disk_total_bytes": 64 * 10**9,
        "temperature_c": round(rng.uniform(30, 55), 1),
        "app_version": rng.choice(["0.1.0", "0.1.1", "0.2.0"]),
        "uptime_s": rng.uniform(100, 10**6),
        "outbox_depth": rng.choice([0, 0, 0, 1, 2, 5, 40]),
        "outbox_oldest_age_s": None,
        "last_error": None,
    }


def seed(url: str, kiosks: int, rng: random.Random) -> str:
    """Fill the database; returns an operator's session cookie."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    codes = regions(rng)
    kiosk_rows, placements, alerts = [], [], []
    numbering: dict[str, int] = {}
    for _ in range(kiosks):
        region = rng.choice(codes)
        numbering[region] = numbering.get(region, 0) + 1
        kid = f"k{region}-{numbering[region]:04d}"
        online = rng.random() > 0.05
        seen = now - timedelta(seconds=rng.uniform(0, 30) if online else rng.uniform(600, 86400))
        h = health(rng)
        kiosk_rows.append(
            {
                "id": kid,
                "first_seen_at": now - timedelta(days=30),
                "last_seen_at": seen,
                "online": online,
                "status_connected_at": now - timedelta(days=1),
                "status_changed_at": seen,
                "app_version": h["app_version"],
                "health": h,
                "health_at": seen,
                "outbox_depth": h["outbox_depth"],
                "outbox_oldest_age_s": None,
            }
        )
        placements.append(
            {
                "kiosk_id": kid,
                "region_code": region,
                "site": f"{region} 便民服务中心",
                "source": "kiosk_id",
                "updated_at": now,
            }
        )
        if not online or h["paper"] != "ok":
            rule = "offline" if not online else "paper"
            alerts.append(
                {
                    "kiosk_id": kid,
                    "rule": rule,
                    "severity": "critical",
                    "state": "open",
                    "detail": "离线" if not online else "打印纸",
                    "value": None,
                    "opened_at": seen,
                    "updated_at": seen,
                }
            )
    with engine.begin() as conn:
        for table, rows in ((Kiosk, kiosk_rows), (KioskPlacement, placements), (Alert, alerts)):
            for i in range(0, len(rows), 2000):
                conn.execute(table.__table__.insert(), rows[i : i + 2000])
    with Session(engine) as session:
        user = users.create_user(
            session, username="bench", password="bench-password-1", role="operator"
        )
        cookie, _ = auth.start_session(session, user, hours=1)
        session.commit()
    engine.dispose()
    print(f"seeded {kiosks} kiosks in {len(set(codes))} regions, {len(alerts)} open alerts")
    return cookie


def ttfb_ms(port: int, cookie: str, path: str = "/ops/") -> tuple[float, int]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: fleet_session={cookie}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        first = sock.recv(64)
        elapsed = (time.perf_counter() - started) * 1000
        body = first
        while chunk := sock.recv(65536):
            body += chunk
    status = int(first.split(b" ", 2)[1])
    return elapsed, status if b"k" in body else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--seed", type=int, default=2260)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/fleet.db"
        migrate.upgrade(url)
        cookie = seed(url, args.kiosks, rng)
        port = free_port()
        env = {**os.environ, "FLEET_DATABASE_URL": url}
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115 - the child's
        server = subprocess.Popen(
            [str(BIN / "fleet-backend"), "--log-level", "WARNING", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        print((Path(tmp) / "serve.log").read_text(), file=sys.stderr)
                        return 1
                    time.sleep(0.1)
            for _ in range(3):  # warm-up: imports, template compilation, division tables
                ttfb_ms(port, cookie)
            samples = []
            for _ in range(args.requests):
                ms, status = ttfb_ms(port, cookie)
                if status != 200:
                    print(f"the fleet page answered {status}", file=sys.stderr)
                    return 1
                samples.append(ms)
            filtered = [ttfb_ms(port, cookie, "/ops/?state=offline")[0] for _ in range(10)]
        finally:
            server.terminate()
            server.wait(10)
            log.close()
    samples.sort()
    median = statistics.median(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"fleet page /ops/ with {args.kiosks} kiosks: {args.requests} requests, median {median:.1f} ms, p95 {p95:.1f} ms, min {samples[0]:.1f} ms"
    )
    print(f"filtered (offline kiosks): median {statistics.median(filtered):.1f} ms")
    print(f"fleet_page_ttfb_ms={median:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
