"""The Kivy application: renders the journey, owns the devices' threads, polls health and commands.

Layout lives in the .kv files beside each screen; behaviour here and in
``kiosk.journey``. Device work (card read, face attempt, printing, health
polls) runs on worker threads and hands its outcome back on the UI thread
(``Clock.schedule_once``); GL work stays on the main thread.
"""

from __future__ import annotations

import importlib
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import NoTransition, ScreenManager

from devices.card import CardEvent, CardEventKind
from devices.card.auth import CardProof
from devices.errors import DeviceError, PaperOut
from devices.face import frames_of
from devices.printer import printer_test_page
from kiosk import log_privacy
from kiosk.app.screens.apply import ApplyScreen
from kiosk.app.screens.ask import AskScreen
from kiosk.app.screens.attract import AttractScreen
from kiosk.app.screens.card_rejected import CardRejectedScreen
from kiosk.app.screens.catalog import CatalogScreen
from kiosk.app.screens.done import DoneScreen
from kiosk.app.screens.face import FaceScreen
from kiosk.app.screens.guide import GuideScreen
from kiosk.app.screens.home import HomeScreen
from kiosk.app.screens.licences import LicencesScreen
from kiosk.app.screens.lookup import LookupScreen
from kiosk.app.screens.maintenance import MaintenanceScreen
from kiosk.app.screens.out_of_service import OutOfServiceScreen
from kiosk.app.screens.rate import RateScreen
from kiosk.app.screens.reading import ReadingScreen
from kiosk.app.screens.referred import ReferredScreen
from kiosk.app.screens.thanks import ThanksScreen
from kiosk.app.widgets import CountdownBanner, NumericKeypad, OfflineBanner  # noqa: F401 (kv)
from kiosk.backend_client import BackendClient, HttpBackendClient, NoBackend
from kiosk.catalog_cache import CatalogCache
from kiosk.hardware import Hardware, photo_rgb
from kiosk.health_reporter import HealthReporter
from kiosk.journal import Journal
from kiosk.journey import Journey, Screen, Transaction
from kiosk.receipts import ReceiptNumbers
from kiosk.settings import KioskAppSettings
from kiosk.strings import t
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox, open_kiosk_db
from mqtt.systemd_notify import Watchdog
from provisioning.request_signing import KioskSigner

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SCREENS = {
    Screen.ATTRACT: AttractScreen,
    Screen.READING: ReadingScreen,
    Screen.CARD_REJECTED: CardRejectedScreen,
    Screen.FACE: FaceScreen,
    Screen.REFERRED: ReferredScreen,
    Screen.HOME: HomeScreen,
    Screen.CATALOG: CatalogScreen,
    Screen.GUIDE: GuideScreen,
    Screen.APPLY: ApplyScreen,
    Screen.DONE: DoneScreen,
    Screen.LOOKUP: LookupScreen,
    Screen.ASK: AskScreen,
    Screen.RATE: RateScreen,
    Screen.THANKS: ThanksScreen,
    Screen.LICENCES: LicencesScreen,
    Screen.OUT_OF_SERVICE: OutOfServiceScreen,
    Screen.MAINTENANCE: MaintenanceScreen,
}
ELDERLY_SCALE = 1.35
SIM_KEYS = {
    "f1": ("card", "genuine"),
    "f2": ("card", "expired"),
    "f3": ("card", "clone"),
    "f4": ("remove", None),
    "f5": ("face", "holder"),
    "f6": ("face", "other"),
    "f7": ("face", "nobody"),
    "f8": ("paper", None),
}


class Root(BoxLayout):
    sim = BooleanProperty(False)
    offline_text = StringProperty("")
    countdown_text = StringProperty("")
    clock_text = StringProperty("")


class KioskApp(App):
    fs = NumericProperty(1.0)  # font scale: 1.0, or ELDERLY_SCALE in 大字模式
    landscape = BooleanProperty(False)  # a horizontal screen: layouts go side by side
    title = t("app.title")

    def __init__(
        self,
        settings: KioskAppSettings,
        *,
        hardware: Hardware | None = None,
        backend: BackendClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        log_privacy.install()
        self.settings = settings
        self.hardware = hardware or Hardware.from_settings(settings)
        self._backend = backend
        self.face_busy = False
        self._reference: Any = None  # the card photo's face encoding, for this visit only
        self._latest_frame: Any = None
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiosk-work")
        self._health_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-health")
        self._health: HealthReporter | None = None
        self._commands: Any = None
        self._popup: Popup | None = None
        self._shown: Screen | None = None
        self.selftest_results: list[tuple[str, str]] = []
        self.first_frame = threading.Event()

    # -- building -------------------------------------------------------------------------

    def _make_backend(self) -> BackendClient:
        settings = self.settings
        if settings.backend_url and settings.key_file.exists() and settings.cert_file.exists():
            return HttpBackendClient.from_files(
                settings.backend_url,
                settings.key_file,
                settings.cert_file,
                timeout=settings.backend_timeout_s,
            )
        if settings.backend_url:
            logger.warning("KIOSK_BACKEND_URL set but the kiosk is not enrolled: running offline")
        return NoBackend()

    def _make_signer(self) -> KioskSigner | None:
        """The kiosk's enrolled key signs what it vouches for offline; without it, nothing."""
        settings = self.settings
        if not (settings.key_file.exists() and settings.cert_file.exists()):
            logger.warning(
                "kiosk not enrolled (no %s): offline applications go without a card proof",
                settings.key_file,
            )
            return None
        try:
            return KioskSigner.from_files(settings.key_file, settings.cert_file)
        except (OSError, ValueError) as err:
            logger.error("the kiosk's key or certificate is unusable: %s", err)
            return None

    def _prove_card(self, challenge: bytes) -> CardProof:
        # Looked up at each call: a test (or a reconfiguration) may swap the reader.
        return self.hardware.card_reader.prove(challenge)

    def build(self) -> Root:
        settings = self.settings
        LabelBase.register(DEFAULT_FONT, str(settings.font))  # Kivy's Roboto has no hanzi
        Builder.load_file(str(HERE / "widgets" / "widgets.kv"))
        for path in sorted((HERE / "screens").glob("*.kv")):
            Builder.load_file(str(path))
        Builder.load_file(str(HERE / "root.kv"))

        self.db = open_kiosk_db(settings.db_path)
        self.outbox = Outbox(self.db)
        journal = Journal(self.db, self.outbox)
        self.journey = Journey(
            kiosk_id=settings.id,
            journal=journal,
            receipts=ReceiptNumbers(self.db, settings.id),
            catalog_cache=CatalogCache(self.db),
            backend=self._backend or self._make_backend(),
            runner=self.run_in_background,
            idle_timeout_s=settings.idle_timeout_s,
            countdown_s=settings.countdown_s,
            max_face_attempts=settings.max_face_attempts,
            receipt_url=settings.receipt_url,
            technician_serials=settings.technician_serials,
            card_prover=self._prove_card,
            signer=self._make_signer(),
        )
        self.journey.listeners.append(lambda _j: self.render())
        self.journey.on_clear.append(self.forget_citizen)

        root = Root(sim=settings.sim)
        self.root_widget = root
        manager: ScreenManager = root.ids.screens
        manager.transition = NoTransition()
        for screen in SCREENS.values():
            manager.add_widget(screen())
        self.screens = {name: manager.get_screen(name.value) for name in SCREENS}

        Window.bind(on_touch_down=self._on_touch, on_key_down=self._on_key, size=self._on_resize)
        self._on_resize(Window, Window.size)
        self.hardware.card_reader.subscribe(self._card_event)
        return root

    def on_start(self) -> None:
        self._watchdog = Watchdog()  # systemd (kiosk-ui.service): ready once drawn, then pings
        self.hardware.start()
        self._health_worker.submit(self._open_health)
        self._open_commands()
        Clock.schedule_interval(self._tick, 0.5)
        Clock.schedule_interval(lambda _dt: self.poll_health(), self.settings.device_poll_s)
        Clock.schedule_interval(lambda _dt: self.poll_commands(), self.settings.command_poll_s)
        Clock.schedule_interval(
            lambda _dt: self.journey.sync_catalog(), self.settings.catalog_sync_s
        )
        Clock.schedule_interval(self._update_preview, 1 / 10)
        Clock.schedule_once(lambda _dt: self.journey.sync_catalog(), 0)
        Clock.schedule_once(lambda _dt: self.poll_health(), 0.5)
        Clock.schedule_once(lambda _dt: self._first_frame_drawn(), 0)
        self.render()

    def on_stop(self) -> None:
        self.journey.end("fault")
        self.hardware.stop()
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._health_worker.shutdown(wait=False, cancel_futures=True)
        self.journey.backend.close()

    # -- threads ----------------------------------------------------------------------------

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """The journey's runner: ``work`` on a worker thread, ``done`` on the UI thread."""

        def job() -> None:
            try:
                result = work()
            except Exception:
                logger.exception("background work failed")
                return
            Clock.schedule_once(lambda _dt: done(result), 0)

        self._workers.submit(job)

    # -- rendering ---------------------------------------------------------------------------

    def render(self) -> None:
        journey = self.journey
        self.fs = ELDERLY_SCALE if journey.elderly else 1.0
        manager = self.root_widget.ids.screens
        if journey.screen is not self._shown:
            previous, self._shown = self._shown, journey.screen
            manager.current = journey.screen.value
            self._entered(journey.screen, previous)
        self.screens[journey.screen].refresh()
        self.root_widget.offline_text = t("banner.offline") if journey.offline else ""
        self._show_countdown()

    def _entered(self, screen: Screen, previous: Screen | None) -> None:
        visit = self.journey.visit
        if screen is Screen.FACE and visit is not None and visit.face_attempts == 0:
            Clock.schedule_once(lambda _dt: self.start_face_attempt(), 0)
        elif screen is Screen.DONE and visit is not None and visit.transactions:
            self.print_receipt(visit.transactions[-1])
        if screen in (Screen.ATTRACT, Screen.OUT_OF_SERVICE) and self._popup is not None:
            self._popup.dismiss()

    def _show_countdown(self) -> None:
        left = self.journey.countdown()
        self.root_widget.countdown_text = (
            "" if left is None else t("banner.countdown", seconds=left)
        )

    def _first_frame_drawn(self) -> None:
        self.first_frame.set()
        self._watchdog.ready("attract screen shown")

    def _tick(self, _dt: float) -> None:
        self._watchdog.ping()  # from Kivy's own clock: a frozen UI stops the pings
        self.journey.tick()
        self._show_countdown()
        self.root_widget.clock_text = datetime.now().strftime("%Y-%m-%d %H:%M")

    def forget_citizen(self) -> None:
        """End of session: every screen, the face reference and the preview frame dropped."""
        if self._reference is not None:
            self._reference.clear()
            self._reference = None
        self._latest_frame = None
        self.face_busy = False
        for screen in self.screens.values():
            screen.clear()
        from kivy.logger import LoggerHistory

        LoggerHistory.clear_history()
        if self._popup is not None:
            self._popup.dismiss()

    def _on_resize(self, _window: Any, size: tuple[int, int]) -> None:
        landscape = size[0] > size[1]
        if landscape != self.landscape:
            self.landscape = landscape
            Clock.schedule_once(lambda _dt: self.render(), 0)  # page sizes follow

    # -- input: every touch and key counts as activity ----------------------------------------

    def _on_touch(self, _window: Any, _touch: Any) -> bool:
        self.journey.touch()
        return False

    def _on_key(
        self, _window: Any, _key: int, _scancode: int, codepoint: Any, modifiers: Any
    ) -> bool:
        self.journey.touch()
        if not self.settings.sim:
            return False
        from kivy.core.window import Keyboard

        name = Keyboard.keycode_to_string(Window._system_keyboard, _key)
        if name in SIM_KEYS:
            self.sim_action(*SIM_KEYS[name])
            return True
        return False

    # -- card ---------------------------------------------------------------------------------

    def _card_event(self, event: CardEvent) -> None:  # the reader's thread
        Clock.schedule_once(lambda _dt: self._on_card_event(event), 0)

    def _on_card_event(self, event: CardEvent) -> None:
        if event.kind is CardEventKind.CARD_INSERTED:
            if self.journey.card_inserted():
                self.run_in_background(self._read_card, self._card_outcome)
        elif event.kind is CardEventKind.CARD_REMOVED:
            self.journey.card_removed()
        elif event.kind in (CardEventKind.READER_DETACHED, CardEventKind.READER_ATTACHED):
            self.poll_health()

    def _read_card(self) -> Any:
        try:
            return self.hardware.card_reader.read_identity()
        except DeviceError as err:
            logger.info("card refused: %s", str(err))
            return err

    def _card_outcome(self, outcome: Any) -> None:
        if isinstance(outcome, DeviceError):
            self.journey.card_failed(outcome.key)
        else:
            self.journey.card_read(outcome)

    # -- face ---------------------------------------------------------------------------------

    def start_face_attempt(self) -> None:
        visit = self.journey.visit
        if self.face_busy or visit is None or visit.identity is None:
            return
        if self.journey.screen is not Screen.FACE:
            return
        self.face_busy = True
        self.journey.touch()
        self.screens[Screen.FACE].refresh()
        photo = visit.identity.photo
        hardware = self.hardware
        reference = self._reference  # enrolled at the first attempt of this visit

        def attempt() -> tuple[Any, Any]:
            nonlocal reference
            try:
                verifier = hardware.verifier()
                if reference is None:
                    reference = verifier.enrol(photo_rgb(photo))
                frames = self._tee(
                    frames_of(hardware.camera, limit=hardware.face_settings.max_frames), visit
                )
                return reference, verifier.verify(reference, frames)
            except DeviceError as err:
                logger.warning("face attempt failed: %s", str(err))
                return reference, err

        self.run_in_background(attempt, lambda outcome: self._face_outcome(visit, *outcome))

    def _tee(self, frames: Any, visit: Any) -> Any:
        """The frames the verifier reads, shown in the preview while this visit lasts."""
        for frame in frames:
            if self.journey.visit is visit:
                self._latest_frame = frame
            yield frame

    def _face_outcome(self, visit: Any, reference: Any, result: Any) -> None:
        """On the UI thread. A result for a visit that has ended is dropped, with the card
        photo's encoding the attempt made for it."""
        self.face_busy = False
        if self.journey.visit is not visit:
            if reference is not None:
                reference.clear()
            if self.journey.visit is None:
                self._latest_frame = None
            return
        self._reference = reference
        if isinstance(result, DeviceError):
            self.poll_health()
            body = {"decision": "error", "distance": None, "liveness": "not_checked"}
            self.journey.face_result(body, 0, None)
            return
        self.journey.face_result(
            result.to_event(), result.elapsed_ms, self.hardware.face_settings.threshold
        )

    def _update_preview(self, _dt: float) -> None:
        if self.journey.screen is not Screen.FACE or self.journey.visit is None:
            return
        frame = self._latest_frame
        if not self.face_busy:
            try:
                frame = self.hardware.camera.read()
            except DeviceError:
                return
        if frame is not None:
            self.screens[Screen.FACE].show_frame(frame)
            self.journey.touch()  # a camera showing a person is activity

    # -- printing -------------------------------------------------------------------------------

    def _print(self, document: Any) -> str:
        try:
            self.hardware.printer.print_document(document)
            return "printed"
        except PaperOut:
            return "out_of_paper"
        except DeviceError as err:
            logger.warning("printing failed: %s", str(err))
            return "failed"

    def print_receipt(self, transaction: Transaction) -> None:
        document = self.journey.receipt_document(transaction)

        def printed(outcome: str) -> None:
            self.journey.receipt_printed(transaction, outcome)
            if outcome != "printed":
                self.poll_health()  # the fault becomes a device.fault event now

        self.run_in_background(lambda: self._print(document), printed)

    def print_licence(self, licence_no: str) -> None:
        def got(document: Any) -> None:
            if document is None:
                self.journey.licence_unavailable()
                return

            def printed(outcome: str) -> None:
                self.journey.licence_printed(licence_no, outcome)
                if outcome != "printed":
                    self.poll_health()

            self.run_in_background(lambda: self._print(document), printed)

        self.journey.licence_document(licence_no, got)

    def print_test_page(self, done: Callable[[str], None] | None = None) -> None:
        document = printer_test_page(
            printer=self.settings.printer, printed_at=datetime.now(), columns=32
        )

        def printed(outcome: str) -> None:
            self.journey.journal.record(
                "receipt.printed",
                {"document": "test_page", "outcome": outcome},
                f"打印测试页：{outcome}",  # the journal's own wording, as the other journal entries,
            )
            self.poll_health()
            self.screens[Screen.MAINTENANCE].refresh()
            if done is not None:
                done(outcome)

        self.run_in_background(lambda: self._print(document), printed)

    # -- health and faults ----------------------------------------------------------------------

    def _open_health(self) -> None:  # on the health thread: its own SQLite connection
        db = open_kiosk_db(self.settings.db_path)
        self._health = HealthReporter(
            self.hardware.probes(), DeviceHealthStore(db), Journal(db, Outbox(db))
        )

    def poll_health(self) -> None:
        def poll() -> None:
            if self._health is None:
                return
            readings = self._health.poll_once()
            Clock.schedule_once(lambda _dt: self.journey.devices_changed(readings), 0)

        self._health_worker.submit(poll)

    # -- remote commands from the ops centre ----------------------------------------------------

    def _open_commands(self) -> None:
        try:
            module = importlib.import_module("mqtt.agent.app_commands")
        except ImportError:
            logger.info("mqtt.agent.app_commands not available: remote app commands off")
            return
        self._commands = module.AppCommandQueue(self.db)

    def poll_commands(self) -> None:
        """Carry out the next command ops sent through the agent (lock, unlock, print a test
        page, sync the catalog, restart) and record its outcome for the agent to report."""
        if self._commands is None:
            return
        from datetime import UTC

        command = self._commands.next_pending(datetime.now(UTC))
        if command is None:
            return
        command_id, name = command.command_id, command.name
        queue = self._commands
        logger.info("app command %s (%s)", name, command_id)

        def finish(outcome: str, detail: str | None = None) -> None:
            queue.complete(command_id, outcome, detail)

        if name == "lock":
            self.journey.lock()
            finish("done", "locked" if not self.journey.in_session else "locked after this session")
        elif name == "unlock":
            self.journey.unlock()
            finish("done")
        elif name == "print_test_page":
            self.print_test_page(
                lambda outcome: finish("done" if outcome == "printed" else "failed", outcome)
            )
        elif name == "sync_catalog":
            self.journey.sync_catalog(
                lambda ok: finish(
                    "done" if ok else "failed",
                    f"catalog {self.journey.catalog.version}" if ok else "backend unreachable",
                )
            )
        elif name == "restart_app":
            finish("done")
            self.restart()
        else:
            finish("failed", f"unknown app command {name!r}")

    def restart(self) -> None:
        """Stop; systemd (Restart=always) starts the app again, clean."""
        Clock.schedule_once(lambda _dt: self.stop(), 1)

    # -- technicians ------------------------------------------------------------------------------

    def ask_technician_pin(self) -> None:
        if not self.settings.technician_pin:
            return
        from kivy.factory import Factory

        content = Factory.PinPad()
        popup = Popup(
            title=t("maint.pin"), content=content, size_hint=(0.8, 0.6), auto_dismiss=True
        )
        popup.title_font = str(self.settings.font)

        def check(*_args: Any) -> None:
            if content.ids.pad.value == self.settings.technician_pin:
                popup.dismiss()
                self.journey.enter_maintenance()
            else:
                content.ids.pad.value = ""
                content.ids.message.text = t("maint.pin_wrong")

        content.ids.ok.bind(on_release=check)
        content.ids.cancel.bind(on_release=lambda *_a: popup.dismiss())
        self._popup = popup
        popup.bind(on_dismiss=lambda *_a: setattr(self, "_popup", None))
        popup.open()

    def maintenance_report(self) -> str:
        from mqtt.agent.health import app_version

        state = {
            name: t("maint.fault") if name in self.journey.broken else t("maint.ok")
            for name in ("card_reader", "camera", "printer")
        }
        offline = self.journey.offline or isinstance(self.journey.backend, NoBackend)
        broker = broker_reachable(self.settings.mqtt_url)
        lines = [
            f"{t('maint.kiosk')}：{self.settings.id}",
            f"{t('maint.version')}：{app_version()}",
            f"{t('maint.catalog')}：{self.journey.catalog.version}",
            *(f"{t('device.' + name)}：{value}" for name, value in state.items()),
            f"{t('maint.network')}：{t('maint.offline') if offline else t('maint.online')}",
            f"{t('maint.broker')}：{t('maint.online') if broker else t('maint.offline')}",
            f"{t('maint.outbox')}：{self.outbox.stats().depth}",
        ]
        if self.selftest_results:
            lines.append(f"{t('maint.selftest')}：")
            lines += [f"  {t('device.' + name)}：{text}" for name, text in self.selftest_results]
        return "\n".join(lines)

    def run_selftest(self) -> None:
        """维护模式 设备自检: each device tested through the app's own drivers (the app holds
        them; a second driver could not open the same hardware), the faults journalled."""
        hardware = self.hardware

        def test() -> list[tuple[str, str]]:
            results = []
            for name, probe in hardware.probes().items():
                health = probe.health()
                ok = health.state in ("ok", "degraded")
                detail = f"{health.state} {health.detail or ''}".strip()
                if name == "camera" and ok:
                    try:
                        frame = hardware.camera.read()
                        detail = f"{frame.shape[1]}x{frame.shape[0]}"
                    except DeviceError as err:
                        ok, detail = False, str(err)
                if name == "printer" and health.paper:
                    detail += f" paper={health.paper}"
                results.append((name, f"{t('maint.ok') if ok else t('maint.fault')} ({detail})"))
            try:
                hardware.verifier(timeout=5)
                results.append(("face", t("maint.ok")))
            except RuntimeError as err:
                results.append(("face", f"{t('maint.fault')} ({err})"))
            return results

        def show(results: list[tuple[str, str]]) -> None:
            self.selftest_results = results
            self.poll_health()
            self.screens[Screen.MAINTENANCE].refresh()

        self.run_in_background(test, show)

    # -- the simulator's panel and keys (--sim) ----------------------------------------------------

    def sim_action(self, what: str, arg: str | None = None) -> None:
        self.journey.touch()
        reader: Any = self.hardware.card_reader
        camera = self.hardware.sim_camera
        printer: Any = self.hardware.printer
        if what == "card" and hasattr(reader, "insert_card"):
            reader.insert_card(arg or "genuine")
        elif what == "remove" and hasattr(reader, "remove_card"):
            reader.remove_card()
        elif what == "face" and camera is not None:
            camera.present(arg)  # type: ignore[arg-type]
        elif what == "paper" and hasattr(printer, "set_paper"):
            level = "ok" if printer.virtual.paper == "out" else "out"
            printer.set_paper(arg or level)
            self.poll_health()


def broker_reachable(url: str, timeout: float = 0.5) -> bool:
    """Whether the broker's port answers (the agent owns the MQTT session itself)."""
    parsed = urlparse(url)
    port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
