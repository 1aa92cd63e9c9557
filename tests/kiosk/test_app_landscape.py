"""A horizontal screen: the same journey, every screen's buttons inside the window, none overlapping.

``KioskDriver.shot`` checks the layout of every screen it saves; here the
window is turned to 1280 x 720 and the screens walked again, in the
standard and the elderly mode. The check itself is shown to fail on a
layout that does not fit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kiosk.conftest import HEIGHT, WIDTH, KioskDriver


@pytest.fixture
def landscape(kiosk: KioskDriver) -> Iterator[KioskDriver]:
    from kivy.core.window import Window

    Window.size = (HEIGHT, WIDTH)
    kiosk.pump(0.5)
    assert kiosk.app.landscape
    yield kiosk
    Window.size = (WIDTH, HEIGHT)
    kiosk.pump(0.5)
    assert not kiosk.app.landscape


def test_the_journey_fits_a_horizontal_screen(landscape: KioskDriver) -> None:
    kiosk = landscape
    kiosk.shot("attract")
    kiosk.app.sim_action("card", "genuine")
    kiosk.wait_screen("home")
    kiosk.shot("home")
    kiosk.press(kiosk.widget("home", "apply"))
    kiosk.wait_screen("catalog")
    kiosk.shot("catalog")
    kiosk.press(kiosk.widget("catalog", "tab_search"))
    kiosk.type_keys(kiosk.widget("catalog", "keypad"), "SHBZK")  # 社会保障卡...
    kiosk.shot("catalog-search")
    kiosk.press_text("社会保障卡补领")
    kiosk.wait_screen("guide")
    kiosk.shot("guide")
    kiosk.press(kiosk.widget("guide", "apply"))
    kiosk.wait_screen("apply")
    kiosk.shot("apply")
    kiosk.press(kiosk.widget("apply", "submit"))
    kiosk.wait_screen("done")
    assert kiosk.until(lambda: kiosk.journey.notice == "done.printed", 10)
    kiosk.shot("done")
    kiosk.press_text("评价本次服务")
    kiosk.wait_screen("rate")
    kiosk.shot("rate")
    kiosk.press_text("非常不满意")
    kiosk.shot("rate-reasons")
    kiosk.press(kiosk.widget("rate", "submit"))
    kiosk.wait_screen("thanks")
    kiosk.shot("thanks")
    kiosk.journey.go_home()
    kiosk.wait_screen("home")
    kiosk.press(kiosk.widget("home", "elderly"))
    kiosk.shot("home-elderly")
    kiosk.press(kiosk.widget("home", "apply"))
    kiosk.wait_screen("catalog")
    kiosk.shot("catalog-search-elderly")
    kiosk.press(kiosk.widget("catalog", "tab_department"))
    kiosk.pump(0.3)
    kiosk.shot("catalog-elderly")
    assert len(kiosk.widget("catalog", "rows").children) == 2
    kiosk.journey.go_home()
    kiosk.wait_screen("home")
    kiosk.press(kiosk.widget("home", "lookup"))
    kiosk.wait_screen("lookup")
    kiosk.shot("lookup-elderly")
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")


def test_the_face_screen_fits_and_the_layout_check_can_fail(landscape: KioskDriver) -> None:
    kiosk = landscape
    kiosk.app.hardware.sim_camera.present("nobody")
    kiosk.app.sim_action("card", "genuine")
    kiosk.wait_screen("face")
    assert kiosk.until(lambda: kiosk.journey.face_attempt == 2, 20)
    assert kiosk.until(lambda: not kiosk.app.face_busy, 5)
    kiosk.shot("face-no-face")
    assert "没有看到人脸" in kiosk.widget("face", "notice").text
    kiosk.app.hardware.sim_camera.present("holder")
    kiosk.press(kiosk.widget("face", "start"))
    kiosk.wait_screen("home")
    doors = kiosk.widget("home", "doors")
    doors.cols = 1  # six doors in one column cannot fit 720 pixels
    kiosk.pump(0.3)
    try:
        problems = kiosk.layout_problems()
        assert any("我要办" in p and "does not fit" in p for p in problems), problems
    finally:
        doors.cols = 3
        kiosk.pump(0.3)
    assert kiosk.layout_problems() == []


def test_the_pinyin_keypad_has_every_letter_and_its_edit_keys(kiosk: KioskDriver) -> None:
    keypad = kiosk.widget("catalog", "keypad")
    labels = sorted(button.text for button in keypad.children)
    assert labels == sorted([*"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "清空", "退格"])
    keypad.value = ""
    for key in ("C", "Z", "<del>", "S"):
        keypad.press(key)
    assert keypad.value == "CS"
    keypad.press("<clear>")
    assert keypad.value == ""


def test_the_other_screens_fit_a_horizontal_screen(landscape: KioskDriver) -> None:
    kiosk = landscape
    kiosk.app.sim_action("card", "expired")
    kiosk.wait_screen("card_rejected")
    kiosk.shot("card-rejected")
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")

    kiosk.app.hardware.sim_camera.present("other")
    kiosk.journey.max_face_attempts = 1
    try:
        kiosk.app.sim_action("card", "genuine")
        kiosk.wait_screen("referred")
        kiosk.shot("referred")
    finally:
        kiosk.journey.max_face_attempts = 3
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")

    kiosk.app.hardware.sim_camera.present("holder")
    kiosk.app.sim_action("card", "genuine")
    kiosk.wait_screen("home")
    kiosk.press(kiosk.widget("home", "ask"))
    kiosk.wait_screen("ask")
    assert kiosk.until(lambda: kiosk.journey.notice == "ask.offline", 10)
    kiosk.shot("ask-offline")
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")

    kiosk.journey.lock()
    kiosk.wait_screen("out_of_service")
    kiosk.shot("out-of-service")
    kiosk.journey.unlock()
    kiosk.wait_screen("attract")

    kiosk.journey.enter_maintenance()
    kiosk.wait_screen("maintenance")
    kiosk.press_text("设备自检")
    assert kiosk.until(lambda: len(kiosk.app.selftest_results) == 4, 10)
    kiosk.pump(0.3)
    kiosk.shot("maintenance")
    kiosk.journey.leave_maintenance()
    kiosk.wait_screen("attract")
