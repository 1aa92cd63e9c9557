"""/api/v1/ops/dead-letters: messages ingest refused, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import SessionDep
from backend.api.ops_deps import Operator
from backend.api.schemas import DeadLetterPage, DeadLetterPublic
from backend.core.privacy import mask_identity_numbers_in
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
            payload_preview=mask_identity_numbers_in(
                r.payload[:PREVIEW_BYTES].decode("utf-8", errors="replace")
            ),
        )
        for r in rows
    ]
    return DeadLetterPage(items=items, next_cursor=next_cursor)
