"""/api/v1/ops/dead-letters: messages ingest refused, with the reason.

Listed with a masked preview (identity and mobile numbers masked); an admin
opens one original payload with ``POST .../{id}/reveal`` and a reason, which
goes to the audit log (backend/services/dead_letters.py).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from backend.api.citizen_deps import KeysDep
from backend.api.deps import SessionDep
from backend.api.ops_deps import Admin, Operator
from backend.api.schemas import DeadLetterPage, DeadLetterPublic
from backend.core.privacy import mask_personal_data
from backend.services import dead_letters as dead_letters_service

router = APIRouter(prefix="/api/v1/ops/dead-letters", tags=["ops"])

PREVIEW_BYTES = 2048


@router.get("", response_model=DeadLetterPage)
def list_dead_letters(
    session: SessionDep,
    principal: Operator,
    reason_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DeadLetterPage:
    rows, next_cursor = dead_letters_service.list_dead_letters(
        session, reason_code=reason_code, limit=limit, cursor=cursor
    )
    items = [
        DeadLetterPublic(
            id=r.id,
            received_at=r.received_at,
            topic=r.topic,
            reason_code=r.reason_code,
            reason=r.reason,
            payload_size=r.payload_size,
            payload_preview=mask_personal_data(  # masked at ingest; masked again for old rows
                r.payload[:PREVIEW_BYTES].decode("utf-8", errors="replace")
            ),
            protection=r.payload_protection or "clear",
        )
        for r in rows
    ]
    return DeadLetterPage(items=items, next_cursor=next_cursor)


class RevealRequest(BaseModel):
    reason: str = Field(min_length=2, max_length=300, description="why the original is needed")


class DeadLetterOriginal(BaseModel):
    id: int
    payload_text: str = Field(description="the original payload as UTF-8 (bad bytes replaced)")
    payload_base64: str


@router.post("/{dead_letter_id}/reveal", response_model=DeadLetterOriginal)
def reveal_dead_letter(
    session: SessionDep,
    principal: Admin,
    keys: KeysDep,
    dead_letter_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: RevealRequest,
) -> DeadLetterOriginal:
    """The original payload, decrypted for an admin; the read is in the audit log."""
    try:
        payload = dead_letters_service.reveal(
            session, keys, dead_letter_id, actor=principal.actor, reason=body.reason
        )
    except dead_letters_service.NotRevealable as err:
        raise HTTPException(
            404, detail="没有可解密的原文（该死信不存在，或接收时密钥不可用，仅保存了脱敏内容）"
        ) from err
    session.commit()
    return DeadLetterOriginal(
        id=dead_letter_id,
        payload_text=payload.decode("utf-8", errors="replace"),
        payload_base64=base64.b64encode(payload).decode(),
    )
