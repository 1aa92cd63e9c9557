"""/verify/{code}: anyone holding a printed or shown licence checks it (the QR code's target).

The page shows whether the code is genuine and the licence's current status
with a masked holder name; nothing else about the citizen. A forged or
garbled code gets the same 404 as an unknown one.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.api.citizen_deps import KeysDep
from backend.api.deps import SessionDep
from backend.services import licences as licences_service

router = APIRouter(tags=["verify"])

Code = Annotated[str, Path(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9_.=-]+$")]


class Verification(BaseModel):
    licence_no: str
    title: str
    issuer: str
    holder: str
    issued_at: datetime
    valid_until: datetime | None
    status: str
    status_name: str
    genuine: bool


NOT_FOUND = "核验码无效：不是本平台签发的证照，或已被篡改"


@router.get("/api/v1/verify/{code}", response_model=Verification)
def verify_json(session: SessionDep, keys: KeysDep, code: Code) -> Verification:
    result = licences_service.verify(session, keys, code)
    if result is None:
        raise HTTPException(404, detail=NOT_FOUND)
    session.commit()
    return Verification(**result)


@router.get("/verify/{code}", response_class=HTMLResponse, include_in_schema=False)
def verify_page(session: SessionDep, keys: KeysDep, code: Code) -> HTMLResponse:
    result = licences_service.verify(session, keys, code)
    session.commit()
    if result is None:
        body = f'<p class="bad">{NOT_FOUND}</p>'
        status = 404
    else:
        ok = result["status"] == "valid"
        rows = [
            ("证照名称", result["title"]),
            ("证照编号", result["licence_no"]),
            ("持证人", result["holder"]),
            ("发证机关", result["issuer"]),
            ("发证日期", f"{result['issued_at']:%Y-%m-%d}"),
            ("有效期至", f"{result['valid_until']:%Y-%m-%d}" if result["valid_until"] else "长期"),
        ]
        table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        verdict = "真实有效" if ok else f"证照真实，但当前状态为：{result['status_name']}"
        body = f'<p class="{"good" if ok else "bad"}">{escape(verdict)}</p><table>{table}</table>'
        status = 200
    html = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>电子证照核验</title>
<style>body{{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:1.5em;max-width:40em}}
.good{{color:#07803a;font-size:1.3em}}.bad{{color:#c0261c;font-size:1.3em}}
th{{text-align:left;padding-right:1em;color:#555;font-weight:normal}}td,th{{padding:.3em 0}}</style>
</head><body><h1>电子证照核验</h1>{body}<p><small>政务服务平台 · 核验结果以本页为准</small></p></body></html>"""
    return HTMLResponse(html, status_code=status)
