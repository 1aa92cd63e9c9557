"""``fleet-sim``: N simulated kiosks in one process, for the demo, training and the tests.

Each simulated kiosk is the real thing except for its hardware and its
citizens: the real ``kiosk-agent`` (``mqtt.agent.Agent``, one MQTT connection
each, its own SQLite file) and a small simulated kiosk app beside it that
uses the real device simulators (``devices.card.sim``, the simulated ESC/POS
printer, a simulated camera), the real journal and outbox, the real health
reporter (device faults become ``device.fault`` events), and serves the
agent's app-command queue (lock, unlock, print a test page, sync the catalog,
restart). Citizens arrive at random (exponential gaps, mean
``--visit-interval``): card, face, an application, a receipt, a rating.

Kiosk ids follow enrolment (``k{region}-{nnnn}``), so the ops centre places
each kiosk in its region without further set-up.

Failures, from the command line (``--fail k110101-0001:paper_out@30``: after
30 s) or as lines on stdin while it runs::

    fail k110101-0001 offline        # the agent dies; the broker publishes its last will
    fail k110101-0001 paper_low | paper_out | reader_fault | camera_fault | face_failures
    recover k110101-0001 [mode]      # undo one failure, or all
    list                             # print each kiosk's state

The broker is ``FLEET_MQTT_URL`` (with ``FLEET_MQTT_CA_FILE`` etc. for TLS),
like the backend.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from devices.card.demo import DemoCard
from devices.card.sim import SimCardReader
from devices.errors import DeviceError
from devices.health import DeviceHealth
from devices.printer import SimulatedPrinter, application_receipt, printer_test_page
from kiosk.health_reporter import HealthReporter
from kiosk.journal import Journal
from kiosk.simulate import Visit
from mqtt.agent.agent import Agent
from mqtt.agent.app_commands import AppCommand, AppCommandQueue
from mqtt.agent.config import AgentSettings
from mqtt.contract import ContractError
from mqtt.contract.receipts import receipt_number
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox, open_kiosk_db
from mqtt.settings import MqttClientSettings

logger = logging.getLogger("fleet-sim")

MODES = ("offline", "paper_low", "paper_out", "reader_fault", "camera_fault", "face_failures")
DEFAULT_REGIONS = ("110101", "110102", "110105", "320102", "330106", "440305")
ITEMS = (
    ("11110102000000100E2002001000", "社会保障卡补领"),
    ("11110102000000100E2002002000", "居住证签注"),
    ("11110102000000100E2002003000", "个人社保参保证明打印"),
    ("11110102000000100E2002004000", "住房公积金缴存证明"),
    ("11110102000000100E2002005000", "不动产登记信息查询"),
)
RATINGS = (5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1)
CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog" / "items.json"
# The demo card's holder, as the scripted visit names them (a vouched online session).
CITIZEN_ID = Visit().citizen_id


def catalog_items(limit: int = 12) -> tuple[tuple[str, str], ...]:
    """Service items from the demo catalog (data/catalog), so ratings name real items."""
    try:
        items = json.loads(CATALOG.read_text(encoding="utf-8"))
        return tuple((i["code"], i["name"]) for i in items[:limit]) or ITEMS
    except (OSError, ValueError, KeyError, TypeError):
        return ITEMS


APP_TICK_S = 0.2


class SimSettings(MqttClientSettings):
    """FLEET_MQTT_URL and its TLS files, as the backend reads them."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")


class SimCamera:
    """A camera that works until told to fail (the face step itself is scripted)."""

    def __init__(self) -> None:
        self.broken = False

    def health(self) -> DeviceHealth:
        if self.broken:
            return DeviceHealth("fault", "simulated camera: no frames")
        return DeviceHealth("ok", "simulated")


class SimAgent(Agent):
    """The real agent, which the simulator can also kill (its last will then goes out)."""

    crash = False

    def _shutdown(self) -> None:
        if not self.crash:
            super()._shutdown()
            return
        # As if the process had died: no DISCONNECT, no "offline" status; the socket just
        # closes, so the broker publishes the last will (status offline) at once.
        self.connection._stop.set()  # no reconnection (a dead process does not reconnect)
        sock = self.client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self.connection._thread is not None:
            self.connection._thread.join(5)
        self.outbox.db.close()


@dataclass
class SimKiosk:
    kiosk_id: str
    data_dir: Path
    mqtt: SimSettings
    health_interval_s: float
    visit_interval_s: float
    rng: random.Random
    failures: set[str] = field(default_factory=set)
    locked: bool = False
    visits: int = 0
    commands_done: int = 0
    items: tuple[tuple[str, str], ...] = ITEMS

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._agent_stop = threading.Event()
        self._agent: SimAgent | None = None
        self._agent_thread: threading.Thread | None = None
        self._app_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str | None]] = []  # (fail|recover, mode)
        self._app_ready = threading.Event()

    # lifecycle -----------------------------------------------------------------------------------
    def agent_settings(self) -> AgentSettings:
        return AgentSettings(
            id=self.kiosk_id,
            data_dir=self.data_dir,
            mqtt_url=self.mqtt.mqtt_url,
            mqtt_ca_file=self.mqtt.mqtt_ca_file,
            mqtt_cert_file=self.mqtt.mqtt_cert_file,
            mqtt_key_file=self.mqtt.mqtt_key_file,
            health_interval_s=self.health_interval_s,
            keepalive_s=5,  # a dead kiosk's last will goes out within ~8 s
            ack_timeout_s=10,
        )

    def start(self) -> None:
        """The app first (its devices probed once), then the agent: the first snapshot is whole."""
        self._app_thread = threading.Thread(
            target=self._app_loop, name=f"app-{self.kiosk_id}", daemon=True
        )
        self._app_thread.start()
        self._app_ready.wait(30)
        self._start_agent()

    def _start_agent(self) -> None:
        self._agent_stop = threading.Event()
        settings = self.agent_settings()

        def run() -> None:  # the agent's SQLite connection belongs to this thread
            self._agent = SimAgent(settings)
            self._agent.run(self._agent_stop)

        self._agent_thread = threading.Thread(
            target=run, name=f"agent-{self.kiosk_id}", daemon=True
        )
        self._agent_thread.start()

    def _kill_agent(self) -> None:
        if self._agent is not None:
            self._agent.crash = True
        self._agent_stop.set()
        if self._agent_thread is not None:
            self._agent_thread.join(10)
        self._agent = None

    def stop(self) -> None:
        self._stop.set()
        if self._app_thread is not None:
            self._app_thread.join(10)
        if "offline" not in self.failures:
            self._agent_stop.set()
            if self._agent_thread is not None:
                self._agent_thread.join(10)

    # control (any thread) --------------------------------------------------------------------------
    def fail(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown failure {mode!r}; known: {', '.join(MODES)}")
        with self._lock:
            self._pending.append(("fail", mode))

    def recover(self, mode: str | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown failure {mode!r}; known: {', '.join(MODES)}")
        with self._lock:
            self._pending.append(("recover", mode))

    # the simulated kiosk app (its own thread) --------------------------------------------------
    def _app_loop(self) -> None:
        db = open_kiosk_db(self.data_dir / "kiosk.db")
        outbox = Outbox(db)
        journal = Journal(db, outbox)
        self.reader, self.printer, self.camera = SimCardReader(), SimulatedPrinter(), SimCamera()
        self.reader.start()
        reporter = HealthReporter(
            {"card_reader": self.reader, "printer": self.printer, "camera": self.camera},
            DeviceHealthStore(db),
            journal,
        )
        queue = AppCommandQueue(db)
        reporter.poll_once()
        self._app_ready.set()
        next_poll = time.monotonic() + self.health_interval_s / 2
        next_visit = time.monotonic() + self.rng.expovariate(1 / self.visit_interval_s)
        try:
            while not self._stop.wait(APP_TICK_S):
                self._apply_controls(reporter)
                command = queue.next_pending()
                if command is not None:
                    self._carry_out(queue, command, journal)
                now = time.monotonic()
                if now >= next_poll:
                    reporter.poll_once()
                    next_poll = now + self.health_interval_s / 2
                if now >= next_visit:
                    if not self.locked:
                        try:
                            self._visit(journal)
                        except (ContractError, DeviceError) as err:
                            logger.warning("%s: a visit went wrong: %s", self.kiosk_id, err)
                    next_visit = now + self.rng.expovariate(1 / self.visit_interval_s)
        except Exception:
            logger.exception("%s: the simulated app stopped", self.kiosk_id)
        finally:
            self.reader.stop()
            db.close()

    def _apply_controls(self, reporter: HealthReporter) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for action, mode in pending:
            modes = [mode] if mode else sorted(self.failures)
            for m in modes:
                self._set(m, action == "fail")
            if pending:
                reporter.poll_once()

    def _set(self, mode: str, on: bool) -> None:
        if on == (mode in self.failures):
            return
        logger.info("%s: %s %s", self.kiosk_id, "failing" if on else "recovering", mode)
        if on:
            self.failures.add(mode)
        else:
            self.failures.discard(mode)
        if mode == "offline":
            if on:
                self._kill_agent()
            else:
                self._start_agent()
        elif mode in ("paper_low", "paper_out"):
            self.printer.set_paper(("low" if mode == "paper_low" else "out") if on else "ok")
        elif mode == "reader_fault":
            if on:
                self.reader.detach_reader()
            else:
                self.reader.attach_reader()
        elif mode == "camera_fault":
            self.camera.broken = on

    def _carry_out(self, queue: AppCommandQueue, command: AppCommand, journal: Journal) -> None:
        name = command.name
        if name == "print_test_page":
            try:
                self.printer.clear()
                self.printer.print_document(
                    printer_test_page(printer="simulated", printed_at=datetime.now(UTC), columns=32)
                )
            except DeviceError as err:
                journal.record(
                    "receipt.printed",
                    {
                        "document": "test_page",
                        "outcome": "out_of_paper" if "paper" in str(err) else "failed",
                    },
                    "测试页打印失败",
                )
                queue.complete(command.command_id, "failed", f"打印失败：{err}")
                return
            journal.record(
                "receipt.printed", {"document": "test_page", "outcome": "printed"}, "打印测试页"
            )
            queue.complete(
                command.command_id, "done", "测试页已打印", {"bytes": len(self.printer.output)}
            )
        elif name == "lock":
            self.locked = True
            queue.complete(command.command_id, "done", "已锁定，显示维护画面")
        elif name == "unlock":
            self.locked = False
            queue.complete(command.command_id, "done", "已解除锁定")
        elif name == "sync_catalog":
            queue.complete(command.command_id, "done", "事项目录已同步（模拟终端）")
        elif name == "restart_app":
            self.locked = False
            queue.complete(command.command_id, "done", "应用已重启（模拟终端）")
        else:
            queue.complete(command.command_id, "failed", f"unknown app command {name!r}")
        self.commands_done += 1

    def _visit(self, journal: Journal) -> None:
        """One citizen: card, face, an application, a receipt, a rating, the end."""
        rng = self.rng
        session = str(uuid.uuid4())
        started = time.monotonic()

        def record(kind: str, body: dict, summary: str) -> None:
            journal.record(kind, {"session_id": session, **body}, summary)

        if "reader_fault" in self.failures:
            return  # no card can be read: citizens go to the staffed window
        self.reader.insert_card(DemoCard.GENUINE)
        try:
            identity = self.reader.read_identity()
        except DeviceError:
            self.reader.remove_card()
            return
        holder = identity.masked_id_number
        card = {"card_type": rng.choice(("resident_id", "social_security")), "holder": holder}
        record("session.started", card, "插卡")
        record("card.read", {**card, "outcome": "ok"}, "读卡成功")
        failing = "face_failures" in self.failures or "camera_fault" in self.failures
        matched = rng.random() > (0.7 if failing else 0.05)
        decision = "match" if matched else rng.choice(("no_match", "liveness_failed", "no_face"))
        record(
            "face.verified",
            {
                "decision": decision,
                "distance": round(
                    rng.uniform(0.25, 0.38) if matched else rng.uniform(0.45, 0.7), 3
                ),
                "threshold": 0.4,
                "liveness": "passed" if decision != "liveness_failed" else "failed",
                "attempt": 1,
                "duration_ms": rng.randint(700, 1600),
            },
            "人脸核验",
        )
        if not matched:
            record(
                "session.ended",
                {"reason": "referred", "duration_s": round(time.monotonic() - started, 1)},
                "核验未通过，引导至人工窗口",
            )
            self.reader.remove_card()
            return
        self.visits += 1
        item_code, item_name = rng.choice(self.items)
        receipt = receipt_number(self.kiosk_id, datetime.now(UTC), self.visits % 10000)
        record(
            "application.submitted",
            {
                "receipt_no": receipt,
                "item_code": item_code,
                "item_name": item_name,
                "applicant": holder,
                "citizen_id": CITIZEN_ID,
                "materials": [{"name": "居民身份证", "source": "card"}],
            },
            f"提交申请：{item_name}",
        )
        try:
            self.printer.clear()
            self.printer.print_document(
                application_receipt(
                    receipt_no=receipt,
                    service=item_name,
                    applicant=identity.name,
                    submitted_at=datetime.now(UTC),
                    verify_url=f"https://zwfw.example.gov.cn/app/#/applications/{receipt}",
                )
            )
            outcome = "printed"
        except DeviceError as err:
            outcome = "out_of_paper" if "paper" in str(err) else "failed"
        record(
            "receipt.printed",
            {"document": "receipt", "reference": receipt, "outcome": outcome},
            "打印受理回执",
        )
        level = rng.choice(RATINGS)
        record(
            "rating.submitted",
            {"level": level, "item_code": item_code, "receipt_no": receipt},
            f"评价：{level}",
        )
        self.reader.remove_card()
        record(
            "session.ended",
            {
                "reason": "completed",
                "duration_s": round(time.monotonic() - started + rng.uniform(60, 300), 1),
            },
            "退卡，会话结束",
        )


def kiosk_ids(count: int, regions: list[str], first: int) -> list[str]:
    """``k{region}-{nnnn}``, regions taken in turn, numbered per region from ``first``."""
    per_region: dict[str, int] = {}
    ids = []
    for i in range(count):
        region = regions[i % len(regions)]
        per_region[region] = per_region.get(region, first - 1) + 1
        ids.append(f"k{region}-{per_region[region]:04d}")
    return ids


def parse_failure(text: str) -> tuple[str, str, float]:
    """``KIOSK:MODE[@SECONDS]`` -> (kiosk, mode, delay)."""
    try:
        kiosk, rest = text.split(":", 1)
        mode, _, delay = rest.partition("@")
        seconds = float(delay) if delay else 0.0
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--fail {text!r}: use KIOSK:MODE[@SECONDS]") from err
    if mode not in MODES:
        raise argparse.ArgumentTypeError(f"--fail {text!r}: mode must be one of {', '.join(MODES)}")
    return kiosk, mode, seconds


class Fleet:
    def __init__(self, kiosks: dict[str, SimKiosk]) -> None:
        self.kiosks = kiosks

    def control(self, line: str) -> str:
        """One control line (``fail ID MODE``, ``recover ID [MODE]``, ``list``); the answer."""
        parts = line.split()
        if not parts:
            return ""
        if parts[0] == "list":
            return "\n".join(
                f"{k.kiosk_id} failures={','.join(sorted(k.failures)) or '-'} locked={k.locked} visits={k.visits} commands={k.commands_done}"
                for k in self.kiosks.values()
            )
        if parts[0] in ("fail", "recover") and len(parts) in (2, 3):
            kiosk = self.kiosks.get(parts[1])
            if kiosk is None:
                return f"error: no kiosk {parts[1]!r}"
            mode = parts[2] if len(parts) == 3 else None
            try:
                if parts[0] == "fail":
                    if mode is None:
                        return "error: fail needs a mode"
                    kiosk.fail(mode)
                else:
                    kiosk.recover(mode)
            except ValueError as err:
                return f"error: {err}"
            return f"ok: {line.strip()}"
        return "error: use `fail ID MODE`, `recover ID [MODE]` or `list`"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-sim",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kiosks", type=int, required=True, help="how many kiosks to simulate")
    parser.add_argument(
        "--regions",
        default=",".join(DEFAULT_REGIONS),
        help="GB/T 2260 county (or township) codes, taken in turn (default: a few in 北京, 江苏, 浙江, 广东)",
    )
    parser.add_argument(
        "--first", type=int, default=1, help="first number in each region (default 1)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/fleet-sim"),
        help="each kiosk's SQLite file goes in DATA_DIR/ID/",
    )
    parser.add_argument(
        "--health-interval",
        type=float,
        default=30.0,
        help="seconds between health snapshots (default 30)",
    )
    parser.add_argument(
        "--visit-interval",
        type=float,
        default=60.0,
        help="mean seconds between citizens at one kiosk (default 60)",
    )
    parser.add_argument(
        "--fail",
        type=parse_failure,
        action="append",
        default=[],
        metavar="KIOSK:MODE[@SECONDS]",
        help=f"make a kiosk fail, after SECONDS; modes: {', '.join(MODES)}",
    )
    parser.add_argument("--seed", type=int, help="random seed (reproducible visits)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if args.kiosks < 1:
        print("fleet-sim: --kiosks must be at least 1", file=sys.stderr)
        return 2
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    if not regions or not all(r.isdigit() and len(r) in (6, 9, 12) for r in regions):
        print("fleet-sim: --regions must be 6, 9 or 12-digit GB/T 2260 codes", file=sys.stderr)
        return 2
    try:
        mqtt = SimSettings()
    except ValueError as err:
        print(f"fleet-sim: bad configuration: {err}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    ids = kiosk_ids(args.kiosks, regions, args.first)
    items = catalog_items()
    kiosks = {
        kid: SimKiosk(
            kid,
            args.data_dir / kid,
            mqtt,
            args.health_interval,
            args.visit_interval,
            random.Random(rng.random()),
            items=items,
        )
        for kid in ids
    }
    for kiosk_id, _mode, _ in args.fail:
        if kiosk_id not in kiosks:
            print(
                f"fleet-sim: --fail names {kiosk_id!r}, not one of the simulated kiosks",
                file=sys.stderr,
            )
            return 2
    fleet = Fleet(kiosks)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for kiosk in kiosks.values():
        kiosk.start()
    logger.info(
        "fleet-sim: %d kiosks on %s: %s",
        len(kiosks),
        mqtt.mqtt_url,
        ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""),
    )
    started = time.monotonic()
    for kiosk_id, mode, delay in args.fail:
        timer = threading.Timer(
            max(0.0, delay - (time.monotonic() - started)), kiosks[kiosk_id].fail, args=(mode,)
        )
        timer.daemon = True
        timer.start()

    def read_stdin() -> None:
        for line in sys.stdin:
            answer = fleet.control(line)
            if answer:
                print(answer, flush=True)

    threading.Thread(target=read_stdin, name="control", daemon=True).start()
    stop.wait()
    logger.info("fleet-sim: stopping")
    for kiosk in kiosks.values():
        kiosk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
