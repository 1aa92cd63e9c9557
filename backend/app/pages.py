"""/app/: the citizen's mobile mini-app (one page, Chinese), its files and licence QR codes.

The pages are static files: ``index.html`` loads Vue 3 and Vant 4 (installed
at set-up into ``backend/web/node_modules``, served from here because
government networks have no CDN) and the mini-app's own ES modules in
``static/``. Everything a citizen sees comes from the public API
(``/api/v1/catalog``, ``/api/v1/app``, ``/api/v1/citizen``, ``/api/v1/faq``):
the mini-app holds no data of its own. Only an explicit allow-list of files
is served, never a folder, so nothing else under node_modules leaks out.

The Content-Security-Policy keeps every script, style, font and request on
this origin. ``'unsafe-eval'`` is needed because Vue's global build compiles
the page templates in the browser (the price of having no build step).
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
OWN = HERE / "static"
WEB = HERE.parent / "web" / "node_modules"
VENDOR = {
    "vue.global.prod.js": WEB / "vue" / "dist" / "vue.global.prod.js",
    "vant.min.js": WEB / "vant" / "lib" / "vant.min.js",
}
VANT_CSS = WEB / "vant" / "lib" / "index.css"
# Vant's icon font names a CDN copy after its inline one; a closed network cannot reach it and
# the CSP would block it, so the stylesheet is served without any off-site url(...)
OFF_SITE_URL = re.compile(r",?\s*url\((?:https?:)?//[^)]*\)(?:\s*format\([^)]*\))?")
OWN_SUFFIXES = {".js", ".css", ".svg"}
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# the same pattern as /verify/{code}: a signed licence code, nothing else reaches segno
VerificationCode = Annotated[
    str, PathParam(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9_.=-]+$")
]


def static_files() -> dict[str, Path]:
    """Every file /app/static/ may serve from disk: Vue, Vant's script and the mini-app's own."""
    own = {p.name: p for p in OWN.iterdir() if p.is_file() and p.suffix in OWN_SUFFIXES}
    return {**own, **VENDOR}


STATIC = static_files()


@lru_cache(maxsize=1)
def vant_css() -> bytes:
    return OFF_SITE_URL.sub("", VANT_CSS.read_text(encoding="utf-8")).encode()


@router.get("/app")
def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/")
def index() -> FileResponse:
    # no-store: a new release reaches phones at once, and the shell holds no citizen data anyway
    return FileResponse(
        OWN / "index.html",
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/app/static/{name}")
def static(name: str) -> Response:
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    if name == "vant.css" and VANT_CSS.exists():
        return Response(vant_css(), media_type="text/css; charset=utf-8", headers=headers)
    path = STATIC.get(name)
    if path is None or not path.exists():
        raise HTTPException(404, detail="没有这个文件")
    media_type = "text/javascript; charset=utf-8" if name.endswith(".js") else None
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/app/qr/{code}")
def licence_qr(request: Request, code: VerificationCode) -> Response:
    """The QR code of a licence's verify page, as SVG: whoever scans it lands on /verify/{code}.

    Drawn here (segno) rather than in the browser so no QR library has to be
    shipped; it encodes only the public verify URL, never a citizen's data.
    """
    base = request.app.state.settings.public_base_url.rstrip("/")
    out = io.BytesIO()
    segno.make(f"{base}/verify/{code}", error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, light="#fff"
    )
    return Response(
        out.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=3600"},
    )
