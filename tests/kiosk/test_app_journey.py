"""The whole citizen journey through the real Kivy app under Xvfb, with simulated devices.

Apply, print, rate: the events in the outbox, the receipt the printer
emulator received, and, after the idle timeout, no trace of the citizen in
any screen's widgets, the journey or the app. A screenshot of every screen
goes to ``test-artifacts/kiosk/``.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from devices.card import CardIdentity
from devices.card.demo import ZHANG_SAN
from provisioning import sealing
from tests.kiosk.conftest import TECHNICIAN_PIN, KioskDriver

FULL_ID = ZHANG_SAN.id_number  # 11010519491231002X
MASKED_ID = "110105********002X"
CITIZEN_TRACES = (ZHANG_SAN.name, FULL_ID, MASKED_ID, "张*", ZHANG_SAN.address)


def start_session(kiosk: KioskDriver, card: str = "genuine") -> None:
    kiosk.shot("attract")
    kiosk.app.sim_action("card", card)


def test_cold_start_reaches_attract_screen(kiosk: KioskDriver) -> None:
    assert kiosk.screen == "attract"
    assert kiosk.app.cold_start_s < 15
    assert "请插入身份证或社会保障卡" in kiosk.texts()


def test_apply_print_rate_then_idle_timeout_forgets_the_citizen(
    kiosk: KioskDriver, sealing_key: Any
) -> None:
    before = len(kiosk.outbox())
    start_session(kiosk)
    kiosk.wait_screen("home")
    kiosk.shot("home")
    texts = kiosk.texts()
    assert "张*，您好" in texts
    assert f"证件号码：{MASKED_ID}" in texts
    assert not any(FULL_ID in text for text in texts), "the full number is masked on home"

    # 我要办 -> search by pinyin initials "SFZ" -> 居民身份证换领
    kiosk.press(kiosk.widget("home", "apply"))
    kiosk.wait_screen("catalog")
    kiosk.shot("catalog-departments")
    kiosk.press(kiosk.widget("catalog", "tab_life_event"))
    kiosk.shot("catalog-life-events")
    kiosk.press(kiosk.widget("catalog", "tab_search"))
    kiosk.type_keys(kiosk.widget("catalog", "keypad"), "SFZ")
    kiosk.shot("catalog-search")
    results = [w.text for w in kiosk.widget("catalog", "rows").children]
    assert "居民身份证换领" in results and "居民身份证补领" in results
    kiosk.press_text("居民身份证换领")
    kiosk.wait_screen("guide")
    kiosk.shot("guide")
    assert any("办结时限：承诺 20 个工作日" in t for t in kiosk.texts())

    kiosk.press(kiosk.widget("guide", "apply"))
    kiosk.wait_screen("apply")
    kiosk.type_keys(kiosk.widget("apply", "phone_pad"), "13800138000")
    kiosk.press(kiosk.widget("apply", "delivery_post"))
    kiosk.shot("apply")
    form = kiosk.widget("apply", "form").text
    assert MASKED_ID in form and "张*" in form, "the applicant is masked on the form too"
    assert not any(FULL_ID in text or ZHANG_SAN.name in text for text in kiosk.texts())
    kiosk.press(kiosk.widget("apply", "submit"))
    kiosk.wait_screen("done")
    assert kiosk.until(lambda: kiosk.journey.notice == "done.printed", 10)
    kiosk.shot("done")
    receipt_no = kiosk.widget("done", "receipt_no").text
    assert receipt_no.startswith("TEST-KIOSK-01-")

    (job,) = kiosk.emulator.wait_for_receipts(1, timeout=5)[-1:]
    assert "受理回执" in job.lines[0]
    printed = "\n".join(job.lines)
    assert "居民身份证换领" in printed and "申请人：张*" in printed
    assert receipt_no in printed.replace("\n", "").replace(" ", "")
    assert list(job.qr_codes) == [f"https://zwfw.example.gov.cn/app/#/applications/{receipt_no}"]
    assert job.cuts >= 1

    # 我要评: a low rating asks for reasons
    kiosk.press_text("评价本次服务")
    kiosk.wait_screen("rate")
    kiosk.shot("rate")
    kiosk.press_text("不满意")  # the first match is 不满意 (2), listed before 非常不满意
    kiosk.press_text("办理太慢")
    kiosk.press_text("要跑多次")
    kiosk.shot("rate-reasons")
    kiosk.press(kiosk.widget("rate", "submit"))
    kiosk.wait_screen("thanks")
    kiosk.shot("thanks")

    # Walk away: the countdown shows, then the session ends by itself.
    kiosk.journey.idle_timeout_s, kiosk.journey.countdown_s = 3, 2
    kiosk.journey.touch()
    assert kiosk.until(lambda: kiosk.app.root_widget.countdown_text != "", 5)
    assert "秒后自动退出" in kiosk.app.root_widget.countdown_text
    kiosk.shot("countdown")
    kiosk.wait_screen("attract", timeout=6)
    kiosk.shot("after-timeout")

    events = kiosk.new_events(before)
    kinds = [kind for kind, _ in events]
    assert kinds == [
        "session.started",
        "card.read",
        "face.verified",
        "application.submitted",
        "receipt.printed",
        "rating.submitted",
        "session.ended",
    ]
    bodies = dict(events)
    assert bodies["session.started"]["holder"] == MASKED_ID
    assert bodies["face.verified"]["decision"] == "match"
    assert bodies["face.verified"]["liveness"] == "passed"
    application = bodies["application.submitted"]
    assert application["receipt_no"] == receipt_no
    assert application["item_name"] == "居民身份证换领"
    assert application["applicant"] == MASKED_ID
    assert application["form"] == {"delivery": "post", "phone": "13800138000"}
    assert {m["name"]: m["source"] for m in application["materials"]} == {
        "居民身份证": "card",
        "居民户口簿": "paper",  # offline: no e-licence could be looked up to stand in for it
        "近期免冠彩色证件照片": "paper",
    }
    # Offline, the applicant travels sealed to the backend's key: only it can read who applied.
    assert "citizen_id" not in application
    opened = json.loads(sealing.unseal(sealing_key, application["applicant_sealed"]))
    assert opened == {"id_number": FULL_ID, "name": ZHANG_SAN.name}
    assert bodies["receipt.printed"] == {
        "session_id": application["session_id"],
        "document": "receipt",
        "reference": receipt_no,
        "outcome": "printed",
    }
    assert bodies["rating.submitted"]["level"] == 2
    assert bodies["rating.submitted"]["reasons"] == ["slow", "too_many_visits"]
    assert bodies["rating.submitted"]["receipt_no"] == receipt_no
    assert bodies["session.ended"]["reason"] == "idle_timeout"
    assert len({body["session_id"] for _, body in events}) == 1
    # Nothing of the citizen in any event but the masked number.
    assert not any(FULL_ID in str(body) or ZHANG_SAN.name in str(body) for _, body in events)

    # No trace left: widgets of every screen, the journey, the app, the heap.
    leftovers = [t for t in kiosk.texts() if any(trace in t for trace in CITIZEN_TRACES)]
    assert leftovers == []
    assert kiosk.journey.visit is None
    assert kiosk.app._reference is None and kiosk.app._latest_frame is None
    assert kiosk.widget("face", "preview").texture is None
    # Nothing but the kiosk's database was written (no face frame, no card photo).
    data_dir = kiosk.app.settings.data_dir
    assert {p.name for p in data_dir.iterdir()} <= {"kiosk.db", "kiosk.db-wal", "kiosk.db-shm"}
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, CardIdentity)]
    assert alive == [], "a CardIdentity outlived the session"


def test_face_refused_three_times_refers_to_the_staffed_window(kiosk: KioskDriver) -> None:
    before = len(kiosk.outbox())
    kiosk.app.hardware.sim_camera.present("other")
    start_session(kiosk)
    kiosk.wait_screen("face")
    for attempt in (2, 3):
        assert kiosk.until(lambda a=attempt: kiosk.journey.face_attempt == a, 20)
        assert kiosk.until(lambda: not kiosk.app.face_busy, 5)
        kiosk.pump(0.2)
        kiosk.shot(f"face-retry-{attempt}")
        assert "人脸与证件照片不一致" in kiosk.widget("face", "notice").text
        kiosk.press(kiosk.widget("face", "start"))
    kiosk.wait_screen("referred")
    kiosk.shot("referred")
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")
    events = kiosk.new_events(before)
    faces = [body for kind, body in events if kind == "face.verified"]
    assert [f["decision"] for f in faces] == ["no_match"] * 3
    assert [f["attempt"] for f in faces] == [1, 2, 3]
    assert events[-1][0] == "session.ended" and events[-1][1]["reason"] == "referred"


def test_expired_card_is_refused_with_the_reason(kiosk: KioskDriver) -> None:
    before = len(kiosk.outbox())
    start_session(kiosk, "expired")
    kiosk.wait_screen("card_rejected")
    kiosk.shot("card-expired")
    assert "卡片已过有效期，请到人工窗口办理" in kiosk.texts()
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")
    assert kiosk.new_events(before) == [
        (
            "card.read",
            {
                "session_id": kiosk.new_events(before)[0][1]["session_id"],
                "card_type": "social_security",
                "outcome": "expired",
            },
        )
    ]


def test_paper_out_offers_sms_and_reports_the_fault(kiosk: KioskDriver) -> None:
    kiosk.emulator.paper = "out"
    before = len(kiosk.outbox())
    start_session(kiosk)
    kiosk.wait_screen("home")
    kiosk.journey.open_catalog()
    kiosk.journey.choose_item("11110102000000100E2002001000")  # 社会保障卡补领
    kiosk.journey.start_application()
    kiosk.wait_screen("apply")
    kiosk.press(kiosk.widget("apply", "submit"))
    kiosk.wait_screen("done")
    assert kiosk.until(lambda: kiosk.journey.notice == "done.paper_out", 10)
    kiosk.shot("done-paper-out")
    status = kiosk.widget("done", "status").text
    assert "打印机缺纸" in status and "短信" in status and "小程序" in status
    assert kiosk.until(lambda: any(k == "device.fault" for k, _ in kiosk.new_events(before)), 10)
    events = kiosk.new_events(before)
    assert ("receipt.printed", "out_of_paper") in [
        (k, b.get("outcome")) for k, b in events if k == "receipt.printed"
    ]
    faults = [b for k, b in events if k == "device.fault"]
    assert faults and faults[0]["device"] == "printer" and faults[0]["code"] == "paper_out"
    kiosk.emulator.paper = "ok"
    kiosk.app.poll_health()
    assert kiosk.until(
        lambda: any(k == "device.recovered" for k, _ in kiosk.new_events(before)), 10
    )


def test_elderly_mode_enlarges_type_and_shows_fewer_choices(kiosk: KioskDriver) -> None:
    start_session(kiosk)
    kiosk.wait_screen("home")
    normal = kiosk.widget("home", "apply").font_size
    kiosk.press(kiosk.widget("home", "elderly"))
    kiosk.pump(0.3)
    kiosk.shot("home-elderly")
    assert kiosk.journey.elderly
    assert kiosk.widget("home", "apply").font_size > normal * 1.3
    kiosk.press(kiosk.widget("home", "apply"))
    kiosk.wait_screen("catalog")
    kiosk.shot("catalog-elderly")
    assert len(kiosk.widget("catalog", "rows").children) == 3
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")
    assert not kiosk.journey.elderly, "the next citizen starts in the standard mode"


def test_camera_fault_takes_the_kiosk_out_of_service(kiosk: KioskDriver) -> None:
    before = len(kiosk.outbox())
    camera = kiosk.app.hardware.sim_camera
    camera.break_down()
    try:
        kiosk.app.poll_health()
        kiosk.wait_screen("out_of_service", 10)
        kiosk.shot("out-of-service")
        assert "摄像头故障" in kiosk.texts()
        kiosk.app.sim_action("card", "genuine")
        kiosk.pump(0.5)
        assert kiosk.screen == "out_of_service", "no session while the camera is broken"
        kiosk.app.sim_action("remove")
    finally:
        camera.break_down(False)
    kiosk.app.poll_health()
    kiosk.wait_screen("attract", 10)
    kinds = [(k, b.get("device")) for k, b in kiosk.new_events(before)]
    assert ("device.fault", "camera") in kinds and ("device.recovered", "camera") in kinds


def test_technician_pin_opens_maintenance_and_prints_a_test_page(kiosk: KioskDriver) -> None:
    from kivy.core.window import Window

    kiosk.press(kiosk.widget("attract", "technician"))
    popup = Window.children[0]
    pad = next(w for w in popup.walk() if type(w).__name__ == "NumericKeypad")
    kiosk.type_keys(pad, "000000")
    kiosk.press_text("确认", popup)
    assert kiosk.screen == "attract"
    assert any("密码错误" in t for t in kiosk.texts())
    kiosk.type_keys(pad, TECHNICIAN_PIN)
    kiosk.shot("technician-pin")
    kiosk.press_text("确认", popup)
    kiosk.wait_screen("maintenance")
    report = kiosk.widget("maintenance", "report").text
    assert "终端编号：test-kiosk-01" in report
    assert "待上报事件：" in report and "软件版本：" in report and "消息代理：未连接" in report
    kiosk.press_text("设备自检")
    assert kiosk.until(lambda: len(kiosk.app.selftest_results) == 4, 10)
    kiosk.pump(0.3)
    report = kiosk.widget("maintenance", "report").text
    assert "摄像头：正常 (640x480)" in report and "人脸识别：正常" in report
    assert "打印机：正常 (ok" in report and "读卡器：正常" in report
    kiosk.shot("maintenance")
    jobs = len(kiosk.emulator.receipts)
    kiosk.press(kiosk.widget("maintenance", "test_page"))
    receipts = kiosk.emulator.wait_for_receipts(jobs + 1, timeout=5)
    assert "打印机测试页" in receipts[-1].lines[0]
    kiosk.press(kiosk.widget("maintenance", "leave"))
    kiosk.wait_screen("attract")


def test_sim_keys_play_the_citizen(kiosk: KioskDriver) -> None:
    """F1 inserts the demo card, F4 takes it out (``kiosk --sim``)."""
    from kivy.core.window import Window

    def key(name: str) -> None:
        code = Window._system_keyboard.string_to_keycode(name)
        Window.dispatch("on_key_down", code, 0, None, [])
        kiosk.pump(0.1)

    key("f1")
    kiosk.wait_screen("home")
    assert "张*，您好" in kiosk.texts()  # the demo card's holder, face matched
    key("f4")
    kiosk.wait_screen("attract")
    assert kiosk.journey.visit is None  # the card out ends the session


def test_guides_can_be_read_without_a_card(kiosk: KioskDriver) -> None:
    kiosk.press(kiosk.widget("attract", "browse"))
    kiosk.wait_screen("catalog")
    kiosk.shot("browse-catalog")
    kiosk.press(kiosk.widget("catalog", "tab_life_event"))
    kiosk.press_text("出生一件事")
    kiosk.press_text("出生医学证明")
    kiosk.wait_screen("guide")
    kiosk.shot("browse-guide")
    apply = kiosk.widget("guide", "apply")
    assert apply.disabled and apply.text == "插入身份证或社保卡后可在本机申请"
    kiosk.app.sim_action("card", "genuine")
    kiosk.wait_screen("home")
    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")
