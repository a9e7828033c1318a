"""Request and response bodies of the console API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictInt

from zhangyin.api_types import Flag, PlainText, StrictBody
from zhangyin.console.models import ElderTargeting, HomeItemKind
from zhangyin.console.service import Customer360, HomeItemFields, HomeItemView
from zhangyin.money import format_minor
from zhangyin.risk.service import CustomerRiskEvent

Version = Annotated[int, Field(strict=True, ge=1, le=2**31)]
Segment = Literal["youth", "adult", "elder", "enterprise"]


class HomeItemIn(StrictBody):
    kind: HomeItemKind
    title_zh: Annotated[PlainText, Field(min_length=1, max_length=60)]
    title_en: Annotated[PlainText, Field(max_length=60)] = ""
    body_zh: Annotated[PlainText, Field(max_length=400)] = ""
    body_en: Annotated[PlainText, Field(max_length=400)] = ""
    image_url: Annotated[str, Field(max_length=300)] = ""
    link: Annotated[str, Field(max_length=300)] = ""
    shortcuts: Annotated[list[str], Field(max_length=16, default_factory=list)]
    segments: Annotated[list[Segment], Field(max_length=4, default_factory=list)]
    elder_mode: ElderTargeting = ElderTargeting.ANY
    priority: Annotated[int, Field(strict=True, ge=0, le=1000)] = 0
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None

    def fields(self) -> HomeItemFields:
        return HomeItemFields(
            kind=self.kind,
            title_zh=self.title_zh,
            title_en=self.title_en,
            body_zh=self.body_zh,
            body_en=self.body_en,
            image_url=self.image_url,
            link=self.link,
            shortcuts=tuple(self.shortcuts),
            segments=tuple(self.segments),
            elder_mode=self.elder_mode,
            priority=self.priority,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


class HomeItemUpdate(HomeItemIn):
    version: Version


class VersionIn(StrictBody):
    version: Version


class ReviewIn(StrictBody):
    version: Version
    note: Annotated[PlainText, Field(max_length=200)] = ""


class HomeItemOut(BaseModel):
    id: str
    kind: str
    status: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    image_url: str
    link: str
    shortcuts: list[str]
    segments: list[str]
    elder_mode: str
    priority: int
    starts_at: datetime | None
    ends_at: datetime | None
    version: int
    created_by: str
    submitted_by: str | None
    reviewed_by: str | None
    review_note: str
    created_at: datetime
    updated_at: datetime
    reviewed_at: datetime | None

    @classmethod
    def of(cls, view: HomeItemView) -> HomeItemOut:
        return cls(**view.__dict__)


class AppBannerOut(BaseModel):
    id: str
    title: str
    body: str
    image_url: str
    link: str


class AppNoticeOut(BaseModel):
    id: str
    title: str
    body: str
    link: str


class AppHomeConfigOut(BaseModel):
    """What the app's home page shows: the app keeps its built-in defaults where null/empty."""

    banners: list[AppBannerOut]
    notices: list[AppNoticeOut]
    shortcuts: list[str] | None
    version: str


class PeriodOut(BaseModel):
    start: str
    end: str
    figures: dict[str, float | int | None]


class OverviewOut(BaseModel):
    current: PeriodOut
    previous: PeriodOut
    changes: dict[str, float | None]
    segment: str | None
    aggregated_from: str | None
    aggregated_to: str | None


class SeriesOut(BaseModel):
    days: list[str]
    series: dict[str, list[int]]


class BreakdownRow(BaseModel):
    key: str
    value: int


class FunnelStepOut(BaseModel):
    step: str
    customers: int


class CohortOut(BaseModel):
    week_start: str
    size: int
    retained: list[int]


class DefinitionIn(StrictBody):
    value: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_,]+$")]


class AggregateIn(StrictBody):
    start: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    end: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class CustomerHitOut(BaseModel):
    id: str
    name_masked: str
    phone_masked: str
    kyc_level: str
    status: str
    kind: str


class RiskReasonOut(BaseModel):
    code: str
    message_zh: str
    message_en: str


class RiskCaseRefOut(BaseModel):
    id: str
    kind: str
    status: str
    opened_at: datetime


class RiskEventOut(BaseModel):
    """A risk decision on the customer's operation, or a case opened without one."""

    decision_id: str | None
    occurred_at: datetime
    operation: str | None = Field(description="null for a case opened without a decision")
    amount: str = Field(examples=["3000.00"])
    currency: str
    outcome: str | None = Field(description="allow, challenge, delay, hold, block; null for a case")
    reasons: list[RiskReasonOut]
    failsafe: bool
    reference: str | None = Field(description="the transfer (or other operation) id, once known")
    status: str | None = Field(description="what became of the operation (pending, completed...)")
    fraud_label: bool | None
    cases: list[RiskCaseRefOut]

    @classmethod
    def of(cls, e: CustomerRiskEvent) -> RiskEventOut:
        return cls(
            decision_id=e.decision_id,
            occurred_at=e.occurred_at,
            operation=e.operation,
            amount=format_minor(e.amount_minor, e.currency),
            currency=e.currency,
            outcome=e.outcome,
            reasons=[RiskReasonOut(**r) for r in e.reasons],
            failsafe=e.failsafe,
            reference=e.reference,
            status=e.status,
            fraud_label=e.fraud_label,
            cases=[RiskCaseRefOut(**c.__dict__) for c in e.cases],
        )


class Customer360Out(BaseModel):
    profile: dict[str, Any]
    segment: str
    accounts: list[dict[str, Any]]
    transfers: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    risk_events: list[RiskEventOut]
    risk_link: str

    @classmethod
    def of(cls, found: Customer360) -> Customer360Out:
        return cls(
            profile=found.profile,
            segment=found.segment,
            accounts=found.accounts,
            transfers=found.transfers,
            devices=found.devices,
            messages=found.messages,
            activity=found.activity,
            risk_events=[RiskEventOut.of(e) for e in found.risk_events],
            risk_link=f"/console/risk?customer_id={found.profile['id']}",
        )


class RevealIn(StrictBody):
    reason: Annotated[PlainText, Field(min_length=4, max_length=200)]


class RevealedOut(BaseModel):
    id: str
    name: str
    phone: str | None
    id_number: str


class BillerOut(BaseModel):
    id: str
    category: str
    name: str
    name_en: str
    account_label: str
    account_pattern: str
    fixed_amounts_minor: list[int]


class BillerIn(StrictBody):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
    category: Literal[
        "water", "electricity", "gas", "heating", "telecom", "tv", "property", "tuition", "other"
    ]
    name: Annotated[PlainText, Field(min_length=1, max_length=60)]
    name_en: Annotated[PlainText, Field(min_length=1, max_length=60)]
    account_label: Annotated[PlainText, Field(min_length=1, max_length=20)]
    account_pattern: Annotated[str, Field(min_length=2, max_length=100)]
    fixed_amounts_minor: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=10**9)]],
        Field(max_length=10, default_factory=list),
    ]


class RoleOut(BaseModel):
    role: str
    permissions: list[str]


class PreviewQuery(BaseModel):
    segment: Segment | None = None
    elder_mode: Flag = False


LimitAmount = Annotated[str, Field(min_length=1, max_length=24, examples=["50000.00"])]


class LevelLimitsIn(StrictBody):
    """A KYC level's limits; amounts are CNY decimal strings (checked by the service)."""

    per_transaction: LimitAmount
    daily_amount: LimitAmount
    daily_count: Annotated[StrictInt, Field(ge=1, le=10_000)]


class LevelLimitsOut(BaseModel):
    level: str
    currency: str = "CNY"
    per_transaction: str
    daily_amount: str
    daily_count: int

    @classmethod
    def of(cls, v: Any) -> LevelLimitsOut:
        return cls(
            level=v.level,
            per_transaction=format_minor(v.per_transaction_minor, "CNY"),
            daily_amount=format_minor(v.daily_amount_minor, "CNY"),
            daily_count=v.daily_count,
        )


StaffRole = Literal["viewer", "operator", "risk_analyst", "admin"]


class StaffRolesIn(StrictBody):
    roles: Annotated[list[StaffRole], Field(min_length=1, max_length=4)]


class StaffEntryOut(BaseModel):
    id: str
    username: str
    name: str
    roles: list[str]
    active: bool
    totp_enabled: bool
    created_at: datetime | None = None
    last_login_at: datetime | None = None
