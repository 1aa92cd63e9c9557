"""The real kiosk app under Xvfb, with the simulated card reader and camera and the TCP printer emulator.

``xvfb`` starts a private X server (``-displayfd`` picks a free display);
``kiosk`` runs one ``KioskApp`` in this process for the whole session (Kivy
has one window per process) and gives a driver that pumps Kivy's event loop,
presses buttons, types on the on-screen keypads and saves a screenshot of
every screen to ``test-artifacts/kiosk/``. Each test leaves the app on the
attract screen for the next.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.printer.emulator import PrinterEmulator
from kiosk.settings import KioskAppSettings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "kiosk"
WIDTH, HEIGHT = 720, 1280
TECHNICIAN_PIN = "246810"


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{WIDTH}x{HEIGHT}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    display = f":{number}"
    os.environ["DISPLAY"] = display
    yield display
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def printer_emulator() -> Iterator[PrinterEmulator]:
    with PrinterEmulator() as emulator:
        yield emulator


class KioskDriver:
    """Drives the running app the way a citizen and the simulators would."""

    def __init__(self, app: Any, emulator: PrinterEmulator) -> None:
        self.app = app
        self.emulator = emulator
        self.test_name = "kiosk"
        self.shots: list[Path] = []

    @property
    def journey(self) -> Any:
        return self.app.journey

    @property
    def screen(self) -> str:
        return self.app.journey.screen.value

    def pump(self, seconds: float = 0.15) -> None:
        from kivy.base import EventLoop

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            EventLoop.idle()
            time.sleep(0.005)

    def until(self, predicate: Callable[[], object], timeout: float = 20.0) -> bool:
        from kivy.base import EventLoop

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            EventLoop.idle()
            if predicate():
                return True
            time.sleep(0.005)
        return bool(predicate())

    def wait_screen(self, name: str, timeout: float = 20.0) -> None:
        assert self.until(lambda: self.screen == name, timeout), (
            f"expected screen {name}, still on {self.screen} (notice {self.journey.notice})"
        )
        self.pump(0.2)

    def layout_problems(self) -> list[str]:
        """What a citizen could not read or press on the current screen: texts and buttons
        outside the screen's area, overlapping each other, or too big for their box."""
        from kivy.core.window import Window
        from kivy.uix.button import Button
        from kivy.uix.label import Label

        root = self.app.root_widget
        manager = root.ids.screens

        def visible(widget: Any) -> bool:
            while widget is not None and widget is not Window:
                if getattr(widget, "opacity", 1) == 0:
                    return False
                widget = widget.parent
            return True

        def box(widget: Any) -> tuple[float, float, float, float]:
            x0, y0 = widget.to_window(widget.x, widget.y)
            return x0, y0, x0 + widget.width, y0 + widget.height

        shown = [
            w
            for w in manager.current_screen.walk(restrict=True)
            if isinstance(w, Label) and w.text and w.width > 1 and w.height > 1 and visible(w)
        ]
        area = box(manager)
        problems = []
        for widget in shown:
            x0, y0, x1, y1 = box(widget)
            name = widget.text[:16]
            if x0 < area[0] - 1 or y0 < area[1] - 1 or x1 > area[2] + 1 or y1 > area[3] + 1:
                problems.append(f"{name!r} leaves the screen")
            if isinstance(widget, Button) and (
                widget.texture_size[1] > widget.height + 4
                or widget.texture_size[0] > widget.width + 4
            ):
                problems.append(f"the text of {name!r} does not fit its button")
        boxes = [(w.text[:16], *box(w)) for w in [*shown, *root.ids.sim_panel.children]]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                if min(a[3], b[3]) - max(a[1], b[1]) > 2 and min(a[4], b[4]) - max(a[2], b[2]) > 2:
                    problems.append(f"{a[0]!r} overlaps {b[0]!r}")
        return problems

    def shot(self, label: str) -> Path:
        """Save a screenshot of the current screen, after checking its buttons' layout."""
        from kivy.core.window import Window

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.pump(0.1)
        problems = self.layout_problems()
        base = ARTIFACTS / f"{self.test_name}-{len(self.shots):02d}-{label}.png"
        written = Path(Window.screenshot(name=str(base.with_suffix(".tmp.png"))))
        written.replace(base)  # Kivy appends a counter to the name; keep ours
        self.shots.append(base)
        assert problems == [], f"{base.name}: {problems}"
        return base

    def widget(self, screen: str, widget_id: str) -> Any:
        return self.app.root_widget.ids.screens.get_screen(screen).ids[widget_id]

    def press(self, button: Any) -> None:
        """A real touch on the button's centre, through the window (so idle counting sees it)."""
        from kivy.core.window import Window
        from kivy.tests import UnitTestTouch

        x, y = button.to_window(*button.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(0.02)
        touch.touch_up()
        self.pump(0.15)
        assert Window is not None

    def press_text(self, text: str, root: Any | None = None) -> None:
        """Press the visible button whose text contains ``text`` on the current screen."""
        from kivy.uix.button import Button

        root = root or self.app.root_widget.ids.screens.current_screen
        buttons = [
            w for w in root.walk() if isinstance(w, Button) and text in w.text and not w.disabled
        ]
        assert buttons, f"no button with {text!r} on {self.screen}"
        self.press(buttons[0])

    def type_keys(self, keypad: Any, keys: str) -> None:
        from kivy.uix.button import Button

        for key in keys:
            (button,) = [w for w in keypad.children if isinstance(w, Button) and w.text == key]
            self.press(button)

    def texts(self) -> list[str]:
        """Every text in every screen's widget tree (shown or not) and the banners."""
        from kivy.core.window import Window

        found = []
        roots = [self.app.root_widget, *self.app.root_widget.ids.screens.screens, *Window.children]
        for root in roots:
            for widget in root.walk(restrict=False):
                text = getattr(widget, "text", None)
                if isinstance(text, str) and text:
                    found.append(text)
        return found

    def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        import json

        return [(e.kind, json.loads(e.body)) for e in self.app.outbox.next_batch(10_000)]

    def new_events(self, since: int) -> list[tuple[str, dict[str, Any]]]:
        return self.outbox()[since:]

    def back_to_attract(self) -> None:
        """Leave no session behind for the next test."""
        reader = self.app.hardware.card_reader
        reader.remove_card()
        self.pump(0.2)
        if self.journey.in_session:
            self.journey.end("completed")
        if self.screen == "maintenance":
            self.journey.leave_maintenance()
        self.until(lambda: self.screen in ("attract", "out_of_service"), 5)


@pytest.fixture(scope="session")
def sealing_key() -> Any:
    """The backend's sealing key pair as a test holds it: the kiosk gets the public half with
    its catalog, the test opens what the kiosk sealed with the private half."""
    from provisioning import sealing

    return sealing.generate_key()


def seed_catalog(db_path: Path, sealing_key: Any) -> None:
    """A kiosk that synced once: the demo catalog with the backend's public sealing key."""
    import json

    from kiosk.catalog_cache import DEMO_SNAPSHOT, CatalogCache
    from mqtt.outbox import open_kiosk_db
    from provisioning import sealing

    body = json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8"))
    body["sealing_public_key_pem"] = sealing.public_key_pem(sealing_key)
    db = open_kiosk_db(db_path)
    CatalogCache(db).store(body, None)
    db.close()


@pytest.fixture(scope="session")
def kiosk_app(
    xvfb: str,
    tmp_path_factory: pytest.TempPathFactory,
    printer_emulator: PrinterEmulator,
    sealing_key: Any,
) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("kiosk")
    settings = KioskAppSettings(
        id="test-kiosk-01",
        data_dir=root / "data",
        width=WIDTH,
        height=HEIGHT,
        printer=printer_emulator.config,
        technician_pin=TECHNICIAN_PIN,
        mqtt_url="mqtt://127.0.0.1:1",
        config_dir=root / "no-config",
    ).model_copy(update={"sim": True, "card_reader": "sim", "camera": "sim"})
    seed_catalog(settings.db_path, sealing_key)
    from kiosk.app import prepare_kivy

    prepare_kivy(settings, root / "kivy-home")
    started = time.monotonic()
    from kiosk.app.app import KioskApp

    app = KioskApp(settings)
    app._run_prepare()  # what App.run() does before its loop; the tests pump the loop
    app.cold_start_s = time.monotonic() - started
    driver = KioskDriver(app, printer_emulator)
    assert driver.until(lambda: app.hardware._ready.is_set(), 60), "face models did not load"
    driver.pump(0.5)
    yield app
    app.stop()


@pytest.fixture
def kiosk(
    kiosk_app: Any, printer_emulator: PrinterEmulator, request: pytest.FixtureRequest
) -> Iterator[KioskDriver]:
    driver = KioskDriver(kiosk_app, printer_emulator)
    driver.test_name = request.node.name
    printer_emulator.paper = "ok"
    kiosk_app.hardware.sim_camera.present("holder")
    kiosk_app.journey.idle_timeout_s = 60
    kiosk_app.journey.countdown_s = 10
    driver.back_to_attract()
    yield driver
    driver.back_to_attract()
