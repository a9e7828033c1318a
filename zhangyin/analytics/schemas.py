"""Request and response bodies of the analytics API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from zhangyin.api_types import Flag, StrictBody

#: Names are short identifiers the app chooses ("home", "transfer.confirm").
EventName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_./-]+$")]
EventId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_BATCH = 100


class AppEventIn(StrictBody):
    """One event the app saw. Logins and transactions are recorded by the server, not here."""

    id: EventId = Field(description="Unique per event; a retried batch is stored once")
    type: Literal["screen_view", "feature_use"]
    name: EventName
    occurred_at: AwareDatetime
    channel: Literal["app", "web"] = "app"
    elder_mode: Flag = False


class EventBatchIn(StrictBody):
    events: list[AppEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventBatchOut(BaseModel):
    accepted: int
    duplicates: int
    attributed: bool = Field(description="True when the events were tied to the logged-in customer")


class DefinitionOut(BaseModel):
    key: str
    value: str
    description: str


class MetricOut(BaseModel):
    name: str
    description: str
    dimensions: list[str]


class AggregationOut(BaseModel):
    start: str
    end: str
    rows: int
    seconds: float


class ActivityOut(BaseModel):
    occurred_at: datetime
    event_type: str
    name: str
    channel: str
    tx_type: str
    amount_minor: int
