"""/api/v1/catalog: the public service catalog (no log-in), the same one kiosks sync."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel

from backend.api.deps import SessionDep
from backend.services import catalog as catalog_service

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

ItemCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")]
EventCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")]


class DepartmentPublic(BaseModel):
    code: str
    name: str
    credit_code: str
    level: str
    region_code: str
    phone: str | None
    address: str | None


class Material(BaseModel):
    name: str
    required: bool
    form: str | None = None
    copies: int | None = None
    carrier: str | None = None
    source: str | None = None
    licence_type: str | None = None
    note: str | None = None


class ItemGuide(BaseModel):
    """The whole 办事指南 of one service item."""

    code: str
    basic_code: str
    name: str
    type: str
    type_name: str
    department: str
    department_name: str
    region_code: str
    level: str
    legal_basis: str
    conditions: str
    materials: list[Material]
    legal_limit_days: int
    promised_limit_days: int
    limit_unit: str
    on_the_spot: bool
    fee: dict[str, Any]
    online: bool
    visits: int
    location: str
    hours: str
    flow: list[str]
    contact: str
    complaint: str
    instant_approval: bool
    pinyin_initials: str


class ItemPage(BaseModel):
    items: list[ItemGuide]
    next_cursor: str | None


class LifeEventSummary(BaseModel):
    code: str
    name: str
    description: str
    pinyin_initials: str
    items: list[str]


class MergedMaterial(Material):
    for_items: list[str]


class LifeEventDetail(BaseModel):
    code: str
    name: str
    description: str
    pinyin_initials: str
    items: list[ItemGuide]
    materials: list[MergedMaterial]


@router.get("/departments", response_model=list[DepartmentPublic])
def list_departments(session: SessionDep) -> list[dict[str, Any]]:
    return [catalog_service.department_public(d) for d in catalog_service.departments(session)]


@router.get("/items", response_model=ItemPage)
def list_items(
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=50, description="Chinese text (全文检索) or pinyin initials such as sfz"),
    ] = None,
    department: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_-]+$")] = None,
    life_event: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ItemPage:
    rows, next_cursor = catalog_service.search_items(
        session, q=q, department=department, life_event=life_event, limit=limit, cursor=cursor
    )
    names = catalog_service.department_names(session)
    return ItemPage(
        items=[
            ItemGuide(**catalog_service.item_guide(r, names.get(r.department_code, "")))
            for r in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/items/{code}", response_model=ItemGuide)
def get_item(session: SessionDep, code: ItemCode) -> ItemGuide:
    item = catalog_service.get_item(session, code)
    if item is None:
        raise HTTPException(404, detail=f"没有编码为 {code} 的事项")
    names = catalog_service.department_names(session)
    return ItemGuide(**catalog_service.item_guide(item, names.get(item.department_code, "")))


@router.get("/life-events", response_model=list[LifeEventSummary])
def list_life_events(session: SessionDep) -> list[dict[str, Any]]:
    links = catalog_service.life_event_item_codes(session)
    return [
        catalog_service.life_event_summary(e, links.get(e.code, []))
        for e in catalog_service.life_events(session)
    ]


@router.get("/life-events/{code}", response_model=LifeEventDetail)
def get_life_event(session: SessionDep, code: EventCode) -> LifeEventDetail:
    event = catalog_service.get_life_event(session, code)
    if event is None:
        raise HTTPException(404, detail=f"没有编码为 {code} 的一件事")
    items = catalog_service.life_event_items(session, code)
    names = catalog_service.department_names(session)
    return LifeEventDetail(
        code=event.code,
        name=event.name,
        description=event.description,
        pinyin_initials=event.pinyin_initials,
        items=[
            ItemGuide(**catalog_service.item_guide(i, names.get(i.department_code, "")))
            for i in items
        ],
        materials=[MergedMaterial(**m) for m in catalog_service.merged_materials(items)],
    )
