"""/app/: the mini-app's shell, its allow-listed files and licence QR codes (no database needed).

The Chromium journey through these pages is tests/e2e/test_miniapp.py; here the
fast checks: every file the pages load is served, nothing else is, and
nothing points off-site (government networks have no CDN).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.app import pages
from backend.core.config import Settings

BASE = "https://zwfw.example.gov.cn"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fleet.db'}", public_base_url=BASE)
    with TestClient(create_app(settings)) as c:
        yield c


def test_app_without_slash_redirects_to_the_shell(client: TestClient) -> None:
    response = client.get("/app", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/app/"


def test_shell_is_chinese_html_that_loads_only_its_own_files(client: TestClient) -> None:
    response = client.get("/app/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert "掌上办" in html
    assert 'name="viewport"' in html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs, "the shell loads no files?"
    for ref in refs:
        assert ref.startswith("/app/static/") or ref == "data:,", ref
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp  # no other origin is trusted


def test_every_file_the_shell_and_its_modules_load_is_served(client: TestClient) -> None:
    """Follow index.html's references and every ES module's imports: none may 404."""
    todo = re.findall(r'(?:src|href)="(/app/static/[^"]+)"', client.get("/app/").text)
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["x-content-type-options"] == "nosniff"
        if url.endswith(".js"):
            assert response.headers["content-type"].startswith("text/javascript"), url
            for imported in re.findall(r'from "\./([^"]+)"', response.text):
                todo.append(f"/app/static/{imported}")
    assert {
        "/app/static/vue.global.prod.js",
        "/app/static/vant.min.js",
        "/app/static/vant.css",
        "/app/static/main.js",
        "/app/static/pages-apply.js",
        "/app/static/pages-rate.js",
    } <= seen


def test_vant_css_is_served_without_its_cdn_font(client: TestClient) -> None:
    original = pages.VANT_CSS.read_text(encoding="utf-8")
    assert "alicdn.com" in original  # the reason for the rewrite; drop it when Vant drops the URL
    css = client.get("/app/static/vant.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@font-face" in css.text and "data:font/woff2" in css.text  # the icons still work
    assert not re.search(r"url\((https?:)?//", css.text)
    assert len(css.text) > len(original) - 200  # only the URL went, not the rules around it


def test_own_scripts_and_styles_point_nowhere_else(client: TestClient) -> None:
    for path in pages.OWN.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), f"{path.name} names another site"
        assert "localStorage.setItem(KEY" not in text  # tokens live in sessionStorage only


@pytest.mark.parametrize(
    "name",
    [
        "package.json",
        "index.html",  # served at /app/ with its headers, not as a static file
        "pages.py",
        "..%2Fpages.py",
        "echarts.min.js",  # installed, but not the mini-app's
        "index.css",
    ],
)
def test_files_off_the_allow_list_are_refused(client: TestClient, name: str) -> None:
    response = client.get(f"/app/static/{name}")
    assert response.status_code == 404
    assert "import" not in response.text  # no source leaked, whichever route answered
    if "%" not in name:  # the mini-app's own route answered, in Chinese
        assert response.json()["detail"] == "没有这个文件"


def test_licence_qr_encodes_the_public_verify_url(client: TestClient) -> None:
    code = "RIC-110105-2019-0001.ABCDEFGHIJKLMNOP"
    response = client.get(f"/app/qr/{code}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    expected = io.BytesIO()
    segno.make(f"{BASE}/verify/{code}", error="m").save(
        expected, kind="svg", scale=6, border=2, xmldecl=False, light="#fff"
    )
    assert response.content == expected.getvalue()
    other = client.get("/app/qr/RIC-110105-2019-0002.ABCDEFGHIJKLMNOP")
    assert other.content != response.content


@pytest.mark.parametrize("code", ["ab", "a b", "<script>", "x" * 201])
def test_licence_qr_refuses_what_is_not_a_verification_code(client: TestClient, code: str) -> None:
    assert client.get(f"/app/qr/{code}").status_code in (404, 422)
