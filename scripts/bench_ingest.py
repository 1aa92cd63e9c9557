"""`make bench-ingest`: events per second from outbox to database, against raw MQTT.

Two runs on the same machine, back to back, on one fresh local Mosquitto:

1. raw: a bare paho publisher sends the same N payloads at QoS 1 to a bare
   paho subscriber (same shared subscription as ingest) that stores nothing;
2. pipeline: the N events wait in a kiosk outbox; kiosk-agent publishes them,
   ingest validates and commits them to SQLite and confirms them back, and the
   agent empties its outbox.

Each round runs both, on fresh brokers and databases. A shared 2-core
machine is noisy, so the rates reported are medians over the rounds, and the
ratio is the median of the rounds' own ratios (each compares two runs made
moments apart). Rates are
measured at the receiving end, from the first message received to
the last (raw) and from the first batch committed to the last (pipeline), so
process start-up is not counted in either. The last line reads
``ratio=<committed/raw> committed_per_s=<x> raw_per_s=<y>``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from backend.core import migrate  # noqa: E402
from backend.core.db import make_engine  # noqa: E402
from mqtt.broker import LocalBroker  # noqa: E402
from mqtt.client import new_client, tune_for_message_throughput  # noqa: E402
from mqtt.contract import Channel, shared_subscription, topic  # noqa: E402
from mqtt.outbox import Outbox  # noqa: E402

BIN = Path(sys.executable).parent
KIOSK = "bench-kiosk-01"


def fill_outbox(path: Path, n: int) -> Outbox:
    outbox = Outbox.open(path)
    with outbox.db.atomic():
        for i in range(n):
            outbox.put("device.fault", {"device": "printer", "code": f"c{i}"}, id=uuid.uuid4())
    return outbox


def raw_subscriber(host: str, port: int, n: int, ready, results) -> None:
    """In its own process, as ingest is: count n messages, store nothing."""
    tune_for_message_throughput()  # the same interpreter settings as ingest and the agent
    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(client, userdata, message) -> None:
        nonlocal received, first, last
        received += 1
        if received == 1:
            first = time.perf_counter()
        if received == n:
            last = time.perf_counter()
            done.set()

    sub = new_client("bench-raw-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: ready.set()
    sub.connect(host, port)
    sub.subscribe(shared_subscription("bench", Channel.EVENTS), qos=1)
    sub.loop_start()
    ok = done.wait(600)
    sub.loop_stop()
    results.put((n - 1) / (last - first) if ok else -received)


def raw_run(broker: LocalBroker, payloads: list[bytes]) -> float:
    """Bare publisher -> broker -> bare subscriber (two processes); messages per second."""
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    child = ctx.Process(
        target=raw_subscriber, args=(broker.host, broker.port, len(payloads), ready, results)
    )
    child.start()
    if not ready.wait(30):
        raise SystemExit("raw subscriber did not subscribe")
    tune_for_message_throughput()
    pub = new_client("bench-raw-pub")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    events_topic = topic(KIOSK, Channel.EVENTS)
    for payload in payloads:
        pub.publish(events_topic, payload, qos=1)
    rate = results.get(timeout=600)
    child.join(10)
    pub.loop_stop()
    pub.disconnect()
    if rate < 0:
        raise SystemExit(f"raw run: only {-rate:.0f} of {len(payloads)} arrived")
    return rate


def pipeline_run(broker: LocalBroker, work: Path, outbox: Outbox, n: int) -> tuple[float, int]:
    url = f"sqlite:///{work / 'fleet.db'}"
    migrate.upgrade(url)
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": url,
        "FLEET_MQTT_URL": broker.url,
        "KIOSK_ID": KIOSK,
        "KIOSK_MQTT_URL": broker.url,
        "KIOSK_DATA_DIR": str(work / "kiosk"),
        "PYTHONUNBUFFERED": "1",
    }
    logs = {name: open(work / f"{name}.log", "wb") for name in ("ingest", "agent")}  # noqa: SIM115
    ingest = subprocess.Popen(
        [str(BIN / "fleet-backend"), "ingest", "--name", "bench"],
        env=env,
        stdout=logs["ingest"],
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "subscribed" not in (work / "ingest.log").read_text():
        if time.monotonic() > deadline:
            raise SystemExit("ingest did not subscribe; see its log")
        time.sleep(0.05)
    agent = subprocess.Popen(
        [str(BIN / "kiosk-agent")], env=env, stdout=logs["agent"], stderr=subprocess.STDOUT
    )
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 900
        while True:
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            if count >= n and outbox.stats().depth == 0:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"pipeline run: only {count} of {n} committed")
            time.sleep(0.2)
        with engine.connect() as conn:
            first, last, count = conn.execute(
                text("SELECT min(received_at), max(received_at), count(*) FROM events")
            ).one()
            batches = conn.execute(
                text("SELECT count(DISTINCT received_at) FROM events")
            ).scalar_one()
    finally:
        agent.terminate()
        ingest.terminate()
        agent.wait(10)
        ingest.wait(10)
        engine.dispose()
    from datetime import datetime

    span = (datetime.fromisoformat(str(last)) - datetime.fromisoformat(str(first))).total_seconds()
    # received_at is stamped per batch: add one batch's share so the span covers the last batch
    span += span / max(batches - 1, 1)
    return (count - 1) / span, count


def one_round(work: Path, n: int) -> tuple[float, float, bool]:
    """One raw run and one pipeline run, back to back; (raw/s, committed/s, all committed)."""
    work.mkdir(parents=True)
    outbox = fill_outbox(work / "kiosk" / "kiosk.db", n)
    payloads = [e.payload(KIOSK) for e in outbox.next_batch(n)]
    with LocalBroker(work / "broker-raw") as broker:
        raw = raw_run(broker, payloads)
    with LocalBroker(work / "broker-pipeline") as broker:
        committed, count = pipeline_run(broker, work, outbox, n)
    complete = count == n and outbox.stats().depth == 0
    outbox.db.close()
    return raw, committed, complete


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000, help="events per run (default 50000)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="raw+pipeline rounds; medians are reported (default 3)",
    )
    args = parser.parse_args()
    n = args.events
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=REPO / "var"))
    raws, committeds, all_complete = [], [], True
    try:
        print(
            f"bench-ingest: {n} events per run, {args.rounds} rounds of raw then pipeline",
            flush=True,
        )
        for r in range(1, args.rounds + 1):
            raw, committed, complete = one_round(work / f"round-{r}", n)
            raws.append(raw)
            committeds.append(committed)
            all_complete &= complete
            print(
                f"round {r}: raw {raw:,.0f} msg/s, pipeline {committed:,.0f} events/s committed, "
                f"ratio {committed / raw:.2f}, every event committed: {complete}",
                flush=True,
            )
        raw, committed = statistics.median(raws), statistics.median(committeds)
        # Each round's ratio compares runs made moments apart; their median is the paired figure.
        ratio = statistics.median(c / r for c, r in zip(committeds, raws, strict=True))
        print(
            f"raw MQTT QoS 1 pass-through (bare paho publisher -> bare paho subscriber, stores nothing): median {raw:,.0f} msg/s"
        )
        print(
            f"pipeline (outbox -> kiosk-agent -> broker -> ingest -> SQLite -> confirmed): median {committed:,.0f} events/s"
        )
        print(f"every event committed in every round: {all_complete}")
        print(f"ratio={ratio:.2f} committed_per_s={committed:.0f} raw_per_s={raw:.0f}")
        return 0 if all_complete else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
