"""/api/v1/faq: the 我要问 knowledge base, searchable without logging in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from backend.api.deps import SessionDep
from backend.services import faq as faq_service

router = APIRouter(prefix="/api/v1/faq", tags=["faq"])


class FaqPublic(BaseModel):
    id: str
    question: str
    answer: str
    department_code: str | None
    item_code: str | None
    score: float


@router.get("", response_model=list[FaqPublic])
def search_faq(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="the question, in plain words")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[FaqPublic]:
    return [
        FaqPublic(
            id=f.id,
            question=f.question,
            answer=f.answer,
            department_code=f.department_code,
            item_code=f.item_code,
            score=round(score, 3),
        )
        for f, score in faq_service.search(session, q, limit)
    ]
