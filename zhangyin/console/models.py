"""Console tables: the app's home-page configuration, changed without a release.

Only `zhangyin.console` writes them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime


class HomeItemKind(enum.StrEnum):
    BANNER = "banner"
    NOTICE = "notice"
    SHORTCUTS = "shortcuts"  # the order of the home page's shortcut icons


class HomeItemStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending_approval"
    LIVE = "live"  # approved; shown to customers while inside its schedule
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ElderTargeting(enum.StrEnum):
    ANY = "any"
    ONLY = "only"  # elder mode (关怀模式) customers only
    EXCLUDE = "exclude"


class HomeItem(Base):
    """A banner, a notice or a shortcut order for the app's home page (首页配置)."""

    __tablename__ = "console_home_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20))
    title_zh: Mapped[str] = mapped_column(String(60))
    title_en: Mapped[str] = mapped_column(String(60), default="")
    body_zh: Mapped[str] = mapped_column(String(400), default="")
    body_en: Mapped[str] = mapped_column(String(400), default="")
    image_url: Mapped[str] = mapped_column(String(300), default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    shortcuts: Mapped[list[str]] = mapped_column(JSON, default=list)
    segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    elder_mode: Mapped[str] = mapped_column(String(8), default=ElderTargeting.ANY.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(36))
    submitted_by: Mapped[str | None] = mapped_column(String(36), default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(36), default=None)
    review_note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index("ix_console_home_items_status_kind", "status", "kind"),)
