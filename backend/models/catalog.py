"""The service catalog (政务服务事项): departments, items with their guide, life events.

One catalog for every channel (数据同源): the kiosk syncs it, the mini-app
reads it. ``catalog_meta`` holds its version; a load that changes anything
raises the version, which is what a kiosk's ETag follows. The search text
and pinyin initials are computed at load time (pypinyin), so both the SQL
search and a kiosk's offline search need no work at query time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18))
    level: Mapped[str] = mapped_column(String(4))
    region_code: Mapped[str] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ServiceItem(Base):
    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # 实施编码
    basic_code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    item_type: Mapped[str] = mapped_column(String(2))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(4))
    legal_basis: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    legal_limit_days: Mapped[int] = mapped_column(Integer)
    promised_limit_days: Mapped[int] = mapped_column(Integer)
    limit_unit: Mapped[str] = mapped_column(String(8))  # working | natural
    fee: Mapped[dict[str, Any]] = mapped_column(JSON)
    online: Mapped[bool] = mapped_column(Boolean)
    visits: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(Text)
    hours: Mapped[str] = mapped_column(String(200))
    flow: Mapped[list[str]] = mapped_column(JSON)
    contact: Mapped[str] = mapped_column(String(200))
    complaint: Mapped[str] = mapped_column(String(200))
    instant_approval: Mapped[bool] = mapped_column(Boolean, default=False)  # 秒批
    result_licence_type: Mapped[str | None] = mapped_column(String(32))
    pinyin_initials: Mapped[str] = mapped_column(String(200), index=True)
    search_text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LifeEvent(Base):
    """一件事一次办: several items of one life event, one merged material list."""

    __tablename__ = "life_events"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    pinyin_initials: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class LifeEventItem(Base):
    __tablename__ = "life_event_items"

    life_event_code: Mapped[str] = mapped_column(
        ForeignKey("life_events.code", ondelete="CASCADE"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CatalogMeta(Base):
    """One row: the catalog's version and the digest of its content at that version."""

    __tablename__ = "catalog_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
