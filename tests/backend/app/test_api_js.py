"""backend/app/static/api.js's pure parts, run in Node: error messages and identity checksums.

Node is on the machine because set-up installs the web assets with npm; the
same module runs in the phone's browser (tests/e2e/test_miniapp.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from backend.app.pages import OWN

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str) -> object:
    script = f'import * as api from "{(OWN / "api.js").as_uri()}";\n{body}'
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


CASES = [
    # the backend's own Chinese sentence is shown as it is
    (401, {"detail": {"reason": "wrong_code", "message": "验证码不正确"}}, "验证码不正确"),
    (404, {"detail": "没有编号为 X1 的办件"}, "没有编号为 X1 的办件"),
    # Chinese mixed with an English library message: the reason's plain sentence instead
    (
        422,
        {"detail": {"reason": "bad_id_number", "message": "身份证号码无效：The number's checksum"}},
        "身份证号码无效，请核对后重新输入",
    ),
    # English only: never shown; the status says it in Chinese
    (401, {"detail": "the citizen token is unknown, expired or revoked"}, "请先登录"),
    (
        403,
        {"detail": "real-name binding is required first (POST /api/v1/app/real-name)"},
        "请先完成实名认证",
    ),
    (409, {"detail": "cannot move from approved to rejected"}, "当前状态下不能进行此操作"),
    # pydantic's list of errors: which field, in Chinese
    (
        422,
        {"detail": [{"loc": ["body", "phone"], "msg": "String should match pattern"}]},
        "手机号码格式不正确，请检查后重试",
    ),
    (500, None, "服务暂时不可用，请稍后再试"),
    (502, {"detail": "Bad Gateway"}, "服务暂时不可用，请稍后再试"),
]


def test_every_refusal_reads_as_one_chinese_sentence() -> None:
    calls = ",".join(f"api.messageOf({status}, {json.dumps(body)})" for status, body, _ in CASES)
    got = run_js(f"console.log(JSON.stringify([{calls}]));")
    assert got == [want for _, _, want in CASES]


def test_identity_number_checksum_matches_gb_11643() -> None:
    numbers = {
        "11010519491231002X": True,  # 张三 in the demo registry
        "110102198805120246": True,
        "110105198001010016": True,
        "110105194912310021": False,  # one digit off
        "11010519491231002x": False,  # the X is upper case (the form upper-cases it)
        "1101051949123100": False,
    }
    calls = ",".join(f"api.idNumberChecks({json.dumps(n)})" for n in numbers)
    assert run_js(f"console.log(JSON.stringify([{calls}]));") == list(numbers.values())
