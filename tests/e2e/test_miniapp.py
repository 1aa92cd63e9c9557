"""The mini-app (/app/) in headless Chromium at a phone's viewport, against a real backend.

``fleet-backend ca init``, ``db upgrade``, ``load-demo`` and ``serve`` run as
subprocesses on a free loopback port, exactly as a deployment runs them. A
citizen logs in by SMS code (read from the development SMS outbox), binds
their real name, applies, watches a reviewer's decision arrive and rates the
service badly; a second citizen cannot see the first one's application.
Screenshots of each step go to ``test-artifacts/miniapp/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.core.db import make_engine, make_sessionmaker
from backend.gov.providers import DevSmsProvider
from backend.services import tokens
from mqtt.broker import free_port
from tests.backend.gov_fixtures import BINDING_CODE, WANG_XIAOHONG, ZHANG_SAN, ZHAO_MIN
from tests.conftest import REPO, wait_for
from tests.kiosk_identity import CA_PASSPHRASE

BIN = Path(sys.executable).parent
SHOTS = REPO / "test-artifacts" / "miniapp"
LI_SI = {"name": "李四", "id_number": "440305199003071236", "phone": "13900139000"}  # data/citizens
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"
)


@dataclass
class Backend:
    url: str
    database_url: str
    outbox: Path

    def sms_code(self, phone: str) -> str | None:
        return DevSmsProvider(self.outbox).latest_code(phone)

    def binding_code(self, registered_phone: str) -> str | None:
        texts = DevSmsProvider(self.outbox).texts(registered_phone)
        codes = [m for t in texts for m in BINDING_CODE.findall(t)]
        return codes[-1] if codes else None

    def reviewer_headers(self) -> dict[str, str]:
        """A reviewer's API token, made as `fleet-backend admin` would, straight in the database."""
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine).begin() as session:
                token = tokens.create_token(session, role="reviewer", name="e2e-reviewer")
        finally:
            engine.dispose()
        return {"Authorization": f"Bearer {token}"}


def _run(env: dict[str, str], *argv: str) -> None:
    done = subprocess.run(
        [str(BIN / "fleet-backend"), *argv], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"fleet-backend {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """`fleet-backend serve` with the demo data, on a free loopback port."""
    work = tmp_path_factory.mktemp("miniapp")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{work / 'fleet.db'}"
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": database_url,
        "FLEET_CA_DIR": str(work / "ca"),
        "FLEET_CA_PASSPHRASE": CA_PASSPHRASE,
        "FLEET_DEV_OUTBOX_DIR": str(work / "outbox"),
        "FLEET_DATA_DIR": str(REPO / "data"),
        "FLEET_PUBLIC_BASE_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    _run(env, "ca", "init")
    _run(env, "db", "upgrade")
    _run(env, "load-demo")
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        [str(BIN / "fleet-backend"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=work,
    )
    log.close()

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(up, 30, 0.2), (work / "serve.log").read_text(errors="replace")
        yield Backend(url, database_url, work / "outbox")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Phone:
    """One citizen's phone: its own browser context (own sessionStorage), watched for trouble."""

    def __init__(self, browser: Browser, backend: Backend, who: str) -> None:
        self.backend = backend
        self.who = who
        self.context: BrowserContext = browser.new_context(**PHONE)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        # the API's 4xx answers are expected (and shown in Chinese); a page file that fails is not
        self.page.on(
            "console",
            lambda msg: (
                self.errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        self.page.on(
            "response",
            lambda r: (
                self.errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and "/api/v1/" not in r.url
                else None
            ),
        )
        own = urlparse(backend.url).netloc
        self.page.on(
            "request",
            lambda req: (
                self.foreign.append(req.url)
                if urlparse(req.url).netloc not in (own, "")
                and not req.url.startswith(("data:", "blob:"))
                else None
            ),
        )
        self.step = 0

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.step += 1
        # The identity number the citizen types on their own phone is shown to them in full;
        # the artifact masks that field, so no full number is kept (tests/privacy_scan.py).
        self.page.screenshot(
            path=str(SHOTS / f"{self.who}-{self.step:02d}-{name}.png"),
            mask=[self.page.get_by_placeholder("18 位居民身份证号码")],
        )

    def open(self, route: str) -> None:
        self.page.goto(f"{self.backend.url}/app/#{route}")

    def log_in(self, person: dict[str, str], phone: str | None = None) -> None:
        """On the log-in page: ask for a code, read it from the SMS outbox, log in, and fill in
        the real name (which binds at once when ``phone`` is the person's registered number)."""
        page = self.page
        phone = phone or person["phone"]
        expect(page.get_by_text("手机号验证码登录")).to_be_visible()
        page.get_by_placeholder("请输入 11 位手机号").fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_text("验证码已发送至 " + phone[:3] + "****")).to_be_visible()
        assert wait_for(lambda: self.backend.sms_code(phone), 5)
        page.get_by_placeholder("6 位短信验证码").fill(self.backend.sms_code(phone))
        self.shot("login")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="实名认证")).to_be_visible()
        page.get_by_placeholder("与身份证一致").fill(person["name"])
        page.get_by_placeholder("18 位居民身份证号码").fill(person["id_number"])
        page.get_by_text("本人承诺提供的信息真实有效").click()
        self.shot("real-name")
        page.get_by_role("button", name="提交认证").click()

    def session_storage(self) -> str:
        return self.page.evaluate("JSON.stringify(sessionStorage)")

    def close(self) -> None:
        self.context.close()


def test_citizen_journey_log_in_apply_decision_rate(browser: Browser, backend: Backend) -> None:
    me = Phone(browser, backend, "zhangsan")
    page = me.page

    # 首页 -> search by pinyin initials -> the item's guide
    me.open("/")
    expect(page.get_by_text("政务服务 · 掌上办")).to_be_visible()
    me.shot("home")
    page.get_by_placeholder("搜索事项").fill("sfzbl")
    page.keyboard.press("Enter")
    expect(page.locator(".item-name", has_text="居民身份证补领")).to_be_visible()
    me.shot("search")
    page.locator(".item-name", has_text="居民身份证补领").click()
    expect(page.get_by_role("heading", name="居民身份证补领")).to_be_visible()
    expect(page.get_by_text("居民身份证申领登记表")).to_be_visible()
    me.shot("guide")

    # applying needs a log-in: the guard sends the citizen to log in, then back to the form
    page.get_by_role("button", name="在线申请").click()
    me.log_in(ZHANG_SAN)
    expect(page.locator(".guide-head h2", has_text="居民身份证补领")).to_be_visible()
    expect(page.get_by_text("张三")).to_be_visible()  # the name appears after log-in
    expect(page.get_by_text("110105********002X")).to_be_visible()  # the number, masked
    assert "11010519491231002X" not in page.content()
    token_store = me.session_storage()
    assert "zwfw.session" in token_store
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes('session'))") == []

    # apply: the household register is fetched as an e-licence; the rest are ticked as ready
    expect(page.get_by_text("已自动调取")).to_be_visible()
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_text("请备齐材料")).to_be_visible()  # refused in Chinese, nothing lost
    for box in page.locator(".van-checkbox", has_text="已备齐").all():
        box.click()
    page.get_by_placeholder("用于办理进度联系").fill("13800138000")
    page.get_by_text("本人承诺所填信息及所交材料真实有效").click()
    me.shot("apply")
    page.get_by_role("button", name="提交申请").click()
    receipt = page.locator("[data-test=receipt]")
    expect(receipt).to_be_visible()
    receipt_no = receipt.inner_text().strip()
    assert receipt_no
    expect(page.locator("[data-test=state]")).to_have_text("已提交")
    me.shot("submitted")

    # the reviewer decides through the API; the open page shows the decision arrive
    reviewer = backend.reviewer_headers()

    def review(*moves: tuple[str, str]) -> None:
        for target, reason in moves:
            moved = httpx.post(
                f"{backend.url}/api/v1/review/applications/{receipt_no}/transitions",
                json={"to": target, "reason": reason},
                headers=reviewer,
            )
            assert moved.status_code == 200, moved.text

    # first the reviewer asks for a better photo (补正); the citizen answers from the page
    review(
        ("accepted", "材料齐全，予以受理"),
        ("in_review", "进入审核"),
        ("more_material_needed", "照片背景不是白色，请补交白底照片"),
    )
    expect(page.locator("[data-test=state]")).to_have_text("需补正材料", timeout=15_000)
    expect(page.get_by_text("审核人员意见：照片背景不是白色，请补交白底照片")).to_be_visible()
    page.get_by_role("button", name="提交补正").click()
    expect(page.get_by_text("请勾选要补交的材料")).to_be_visible()
    page.locator(".supplement .van-cell", has_text="近期免冠彩色证件照片").locator(
        ".van-checkbox"
    ).click()
    page.get_by_placeholder("选填：说明补交了什么").fill("已补交白底照片")
    me.shot("supplement")
    page.get_by_role("button", name="提交补正").click()
    expect(page.locator("[data-test=state]")).to_have_text("审核中")
    expect(page.locator(".step-reason").first).to_have_text("已补交白底照片")

    review(("approved", "审核通过，新证将邮寄送达"))
    expect(page.locator("[data-test=state]")).to_have_text("审核通过", timeout=15_000)
    expect(page.locator(".step-reason").first).to_have_text("审核通过，新证将邮寄送达")
    me.shot("approved")

    # the list and the inbox agree
    me.open("/applications")
    card = page.locator(f".card[data-receipt='{receipt_no}']")
    expect(card.locator(".state")).to_have_text("审核通过")
    me.open("/messages")
    expect(page.locator(".message").first).to_be_visible()
    me.shot("messages")

    # rate it badly: the rating is accepted and the backend opens a rectification task
    me.open(f"/applications/{receipt_no}")
    page.get_by_role("button", name="评价本次服务").click()
    expect(page.get_by_text("申请编号：" + receipt_no)).to_be_visible()
    page.locator(".van-rate__item").nth(0).click()
    expect(page.get_by_text("非常不满意")).to_be_visible()
    page.get_by_text("办理时间过长").click()
    page.get_by_placeholder("选填：您的意见").fill("等了很久才受理")
    me.shot("rate")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("[data-test=rated]")).to_be_visible()
    expect(page.locator("[data-test=rectification]")).to_be_visible()
    me.shot("rated")
    tasks = httpx.get(
        f"{backend.url}/api/v1/review/rectifications", params={"state": "open"}, headers=reviewer
    )
    assert tasks.status_code == 200, tasks.text
    assert [t for t in tasks.json() if t["level"] == 1 and t["comment"] == "等了很久才受理"]

    # 亮证: a licence with its QR code, drawn by the backend
    me.open("/licences")
    page.locator(".card", has_text="居民身份证").first.click()
    qr = page.get_by_alt_text("证照核验二维码")
    expect(qr).to_be_visible()
    page.wait_for_function("document.querySelector('img.qr').complete")
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0  # a real SVG
    me.shot("licence")

    # 我要问: the FAQ answers first; a question of the citizen's own is kept with its state
    me.open("/ask")
    page.get_by_placeholder("输入您的问题").fill("身份证丢了")
    page.keyboard.press("Enter")
    expect(page.get_by_text("居民身份证丢失了怎么补办？")).to_be_visible()
    page.get_by_placeholder("请描述您的问题").fill("补领的身份证可以邮寄到外地吗？")
    page.get_by_role("button", name="提交问题").click()
    mine = page.locator(".van-cell", has_text="补领的身份证可以邮寄到外地吗？")
    expect(mine).to_be_visible()
    expect(mine.locator(".van-tag")).to_have_text(re.compile("待答复|已答复"))
    me.shot("ask")

    # 我的 shows the name and masked numbers; log-out drops the token
    me.open("/me")
    expect(page.locator("[data-test=name]")).to_have_text("张三")
    expect(page.get_by_text("138****8000")).to_be_visible()
    me.shot("me")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("政务服务 · 掌上办")).to_be_visible()
    assert 'zwfw.session"' not in me.session_storage()
    me.open("/applications")
    expect(page.get_by_text("手机号验证码登录")).to_be_visible()

    assert me.errors == [], me.errors
    assert me.foreign == [], f"requests left the backend: {me.foreign}"
    me.close()

    # a second citizen on another phone cannot see the first one's application
    other = Phone(browser, backend, "wangxiaohong")
    other.open(f"/applications/{receipt_no}")
    other.log_in(WANG_XIAOHONG)
    expect(other.page.get_by_text(f"没有编号为 {receipt_no} 的办件")).to_be_visible()
    expect(other.page.locator("[data-test=state]")).to_have_count(0)
    seen = other.page.content()
    assert "居民身份证补领" not in seen and "张三" not in seen and "审核通过" not in seen
    other.shot("not-yours")
    other.open("/applications")
    expect(other.page.get_by_text("还没有办件")).to_be_visible()
    assert other.errors == [], other.errors
    other.close()


def test_a_second_phone_binds_with_the_registered_numbers_code_and_is_unbound(
    browser: Browser, backend: Backend
) -> None:
    """李四 binds a new phone: the code goes to his registered number; his own phone unbinds it."""
    new = Phone(browser, backend, "second-phone")
    page = new.page
    new.open("/licences")
    new.log_in(LI_SI, phone="13611110002")
    expect(page.get_by_text("请验证您在人口库登记的手机号")).to_be_visible()
    expect(page.locator("[data-test=registered-phone]")).to_have_text("139****9000")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至 139****9000")).to_be_visible()
    assert wait_for(lambda: backend.binding_code(LI_SI["phone"]), 5)
    code = backend.binding_code(LI_SI["phone"])
    assert code is not None
    page.get_by_placeholder("登记手机号收到的 6 位验证码").fill(f"{(int(code) + 1) % 10**6:06d}")
    page.get_by_role("button", name="确认绑定").click()
    expect(page.locator(".error-text")).to_have_text("验证码不正确，还可尝试 4 次")
    page.get_by_placeholder("登记手机号收到的 6 位验证码").fill(code)
    new.shot("binding-code")
    page.get_by_role("button", name="确认绑定").click()
    expect(page.locator(".van-nav-bar__title")).to_have_text("我的证照")
    assert page.url.endswith("#/licences")

    # his own phone (the registered number) lists both and unbinds the new one
    own = Phone(browser, backend, "own-phone")
    own.open("/bindings")
    own.log_in(LI_SI)
    expect(own.page.locator("[data-test=binding]")).to_have_count(2)
    expect(own.page.locator("[data-test=binding]", has_text="本机")).to_contain_text("139****9000")
    other = own.page.locator("[data-test=binding]", has_text="136****0002")
    expect(other).to_contain_text("登记手机号验证码")
    expect(own.page.locator(".van-toast")).to_be_hidden()  # "认证成功" has faded
    own.shot("bindings")
    other.get_by_role("button", name="解除绑定").click()
    expect(own.page.get_by_text("解除后手机 136****0002 将立即退出登录")).to_be_visible()
    own.page.wait_for_timeout(400)  # the dialog's opening animation
    own.shot("unbind-confirm")
    own.page.locator(".van-dialog").get_by_role("button", name="解除绑定").click()
    expect(own.page.locator("[data-test=binding]")).to_have_count(1)

    # the new phone is out at once
    new.open("/applications")
    expect(page.get_by_text("手机号验证码登录")).to_be_visible()
    expect(page.get_by_text("登录已失效，请重新登录")).to_be_visible()
    assert new.errors == [] and own.errors == [], (new.errors, own.errors)
    new.close()
    own.close()


def test_expired_token_sends_the_citizen_back_to_log_in(browser: Browser, backend: Backend) -> None:
    phone = Phone(browser, backend, "expired")
    phone.open("/")
    expect(phone.page.get_by_text("政务服务 · 掌上办")).to_be_visible()
    # a token the backend does not know (revoked, or from before a restart)
    phone.page.evaluate(
        """sessionStorage.setItem('zwfw.session', JSON.stringify({
             token: 'not-a-live-token', expires_at: new Date(Date.now() + 3600e3).toISOString(),
             phone_masked: '138****8000', citizen_id: 'x', name: '张三'}))"""
    )
    phone.open("/licences")
    expect(phone.page.get_by_text("登录已失效，请重新登录")).to_be_visible()
    expect(phone.page.get_by_text("手机号验证码登录")).to_be_visible()
    assert "not-a-live-token" not in phone.session_storage()
    phone.shot("expired")
    phone.close()


def test_refusals_read_in_chinese_and_elder_mode_enlarges_type(
    browser: Browser, backend: Backend
) -> None:
    phone = Phone(browser, backend, "refusals")
    page = phone.page
    stranger = "13100131000"  # no account, no one in the demo registry
    phone.open("/login")
    page.get_by_placeholder("请输入 11 位手机号").fill(stranger)
    page.get_by_role("button", name="获取验证码").click()
    assert wait_for(lambda: backend.sms_code(stranger), 5)
    code = backend.sms_code(stranger)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.get_by_placeholder("6 位短信验证码").fill(wrong)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".error-text")).to_have_text("验证码不正确")  # the API's 401, in Chinese
    page.get_by_placeholder("6 位短信验证码").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()

    # real-name binding against the registry: a stranger is refused, the form keeps its input
    expect(page.get_by_role("heading", name="实名认证")).to_be_visible()
    page.get_by_placeholder("与身份证一致").fill("张三")
    page.get_by_placeholder("18 位居民身份证号码").fill("110105194912310021")
    page.get_by_role("button", name="提交认证").click()
    expect(page.locator(".error-text")).to_have_text("身份证号码校验位不正确，请核对后重新输入")
    page.get_by_placeholder("18 位居民身份证号码").fill("110105198001010016")  # valid, unknown
    page.get_by_role("button", name="提交认证").click()
    expect(page.locator(".error-text")).to_have_text("请先勾选承诺")
    page.get_by_text("本人承诺提供的信息真实有效").click()
    page.get_by_role("button", name="提交认证").click()
    expect(page.locator(".error-text")).to_have_text("姓名与身份证号码不匹配，或不在人口库中")
    expect(page.get_by_placeholder("与身份证一致")).to_have_value("张三")
    assert "{" not in page.locator(".error-text").inner_text()  # never a JSON blob
    phone.shot("refused")

    # 长辈模式: bigger type everywhere, remembered on this phone
    phone.open("/")
    title = page.locator(".van-cell__title").first

    def size() -> float:
        return float(title.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))

    normal = size()
    page.get_by_role("switch", name="长辈模式").click()
    expect(page.locator("html.elder")).to_have_count(1)
    assert size() >= normal * 1.2
    phone.shot("elder")
    page.reload()
    expect(page.locator("html.elder")).to_have_count(1)
    page.get_by_role("switch", name="标准模式").click()
    assert size() == normal
    assert phone.errors == [], phone.errors
    phone.close()


def test_life_event_applied_for_in_one_go(browser: Browser, backend: Backend) -> None:
    """一件事一次办: one form, one merged material list, an application per online item."""
    phone = Phone(browser, backend, "zhaomin")
    page = phone.page
    phone.open("/")
    page.locator(".van-cell", has_text="结婚一件事").click()
    expect(page.get_by_role("heading", name="结婚一件事")).to_be_visible()
    expect(page.get_by_text("包含 3 个事项")).to_be_visible()
    phone.shot("life-event")
    page.get_by_role("button", name="一次申请").click()
    phone.log_in(ZHAO_MIN)
    expect(page.get_by_text("一张表、一套材料，一次提交")).to_be_visible()
    for box in page.locator(".van-checkbox", has_text="已备齐").all():
        box.click()
    page.get_by_text("本人承诺所填信息及所交材料真实有效").click()
    phone.shot("life-event-apply")
    page.get_by_role("button", name="一次提交").click()
    expect(page.get_by_text("已一次提交 2 个事项")).to_be_visible()
    assert page.locator("[data-test=bundle]").inner_text().startswith("YJS")
    expect(page.get_by_text("以下事项需到现场办理")).to_be_visible()
    expect(page.locator(".van-cell", has_text="内地居民结婚登记")).to_be_visible()
    phone.shot("life-event-done")
    page.locator(".card", has_text="户口迁移（市内）").click()
    expect(page.locator("[data-test=state]")).to_have_text("已提交")
    assert phone.errors == [], phone.errors
    phone.close()
