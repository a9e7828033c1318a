"""Request and response types of the risk console API (/v1/console/risk)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from zhangyin.api_types import Flag, PlainText, StrictBody
from zhangyin.money import format_minor
from zhangyin.risk import aml, cases, service, watchlist
from zhangyin.risk.models import RiskDecision

RuleKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", examples=["TF101"])]
ReasonCode = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,60}$", examples=["new_payee_night"])]
RuleText = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[PlainText, Field(max_length=1000)]
AccountNumber = Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{4,40}$")]


class RuleCreate(StrictBody):
    key: RuleKey
    name: Annotated[PlainText, Field(min_length=1, max_length=120)]
    expression: RuleText = Field(
        examples=["payee.first_time and amount >= 5000 and hour_local in 0..6 -> challenge"]
    )
    reason_code: ReasonCode
    message_zh: Annotated[PlainText, Field(min_length=1, max_length=300)]
    message_en: Annotated[PlainText, Field(min_length=1, max_length=300)]
    rationale: Annotated[PlainText, Field(min_length=1, max_length=1000)]


class RuleCheck(StrictBody):
    expression: RuleText


class RuleCheckOut(BaseModel):
    valid: bool
    outcome: str
    features: list[str]


class RuleStatusChange(StrictBody):
    status: Literal["shadow", "live", "retired"]


class RuleOut(BaseModel):
    id: int
    key: str
    version: int
    name: str
    expression: str
    outcome: str
    reason_code: str
    message_zh: str
    message_en: str
    status: str
    author: str
    rationale: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def of(cls, view: service.RuleView) -> RuleOut:
        return cls(**view.__dict__)


class BacktestRequest(StrictBody):
    expression: RuleText
    start: AwareDatetime
    end: AwareDatetime


class BacktestOut(BaseModel):
    expression: str
    outcome: str
    start: datetime
    end: datetime
    transactions: int
    hits: int
    frauds: int
    frauds_caught: int
    good_stopped: int
    good_customers_stopped: int
    precision: float | None
    recall: float | None
    sample_decision_ids: list[str]

    @classmethod
    def of(cls, r: service.BacktestResult) -> BacktestOut:
        return cls(
            expression=r.expression,
            outcome=r.outcome,
            start=r.start,
            end=r.end,
            transactions=r.transactions,
            hits=r.hits,
            frauds=r.frauds,
            frauds_caught=r.frauds_caught,
            good_stopped=r.good_stopped,
            good_customers_stopped=r.good_customers_stopped,
            precision=r.precision,
            recall=r.recall,
            sample_decision_ids=r.hit_decision_ids,
        )


class FeatureOut(BaseModel):
    name: str
    description: str


class ReasonOut(BaseModel):
    code: str
    message_zh: str
    message_en: str


class DecisionOut(BaseModel):
    id: str
    operation: str
    customer_id: str
    account_id: int
    amount: str
    currency: str
    payee_account_number: str | None
    payee_name: str | None
    channel: str
    occurred_at: datetime
    outcome: str
    score: float | None
    rule_hits: list[str]
    shadow_hits: list[str]
    reasons: list[ReasonOut]
    features: dict[str, Any]
    failsafe: bool
    latency_ms: float
    reference: str | None
    status: str
    fraud_label: bool | None

    @classmethod
    def of(cls, d: RiskDecision) -> DecisionOut:
        return cls(
            id=d.id,
            operation=d.operation,
            customer_id=d.customer_id,
            account_id=d.account_id,
            amount=format_minor(d.amount_minor, d.currency),
            currency=d.currency,
            payee_account_number=d.payee_account_number,
            payee_name=d.payee_name,
            channel=d.channel,
            occurred_at=d.occurred_at,
            outcome=d.outcome,
            score=d.score,
            rule_hits=d.rule_hits,
            shadow_hits=d.shadow_hits,
            reasons=[ReasonOut(**r) for r in d.reasons],
            features=d.features,
            failsafe=d.failsafe,
            latency_ms=d.latency_ms,
            reference=d.reference,
            status=d.status,
            fraud_label=d.fraud_label,
        )


class CaseOut(BaseModel):
    id: str
    kind: str
    status: str
    decision_id: str | None
    customer_id: str | None
    reference: str | None
    amount: str
    currency: str
    payee_account_number: str | None
    payee_name: str | None
    features: dict[str, Any]
    rule_hits: list[str]
    reasons: list[ReasonOut]
    top_features: list[dict[str, Any]]
    description: str
    opened_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str
    fraud_confirmed: bool | None
    payee_frozen: bool

    @classmethod
    def of(cls, c: cases.CaseView) -> CaseOut:
        fields = {k: v for k, v in c.__dict__.items() if k not in ("amount_minor", "reasons")}
        return cls(
            **fields,
            amount=format_minor(c.amount_minor, c.currency),
            reasons=[ReasonOut(**r) for r in c.reasons],
        )


class CaseApprove(StrictBody):
    note: Note = ""


class CaseReject(StrictBody):
    note: Note = ""
    confirmed_fraud: Flag = True
    freeze_payee: Flag = False
    watchlist_payee: Flag = False


class CaseEscalate(StrictBody):
    note: Note = ""


class WatchlistCreate(StrictBody):
    list_name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$", examples=["pboc_fraud"])]
    name: Annotated[PlainText, Field(max_length=100)] = ""
    account_number: AccountNumber | None = None
    reason: Annotated[PlainText, Field(min_length=1, max_length=300)]


class WatchlistOut(BaseModel):
    id: int
    list_name: str
    name: str
    account_number: str | None
    reason: str
    added_by: str
    active: bool

    @classmethod
    def of(cls, e: watchlist.EntryView) -> WatchlistOut:
        return cls(**e.__dict__)


class ScreenRequest(StrictBody):
    name: Annotated[PlainText, Field(max_length=100)] = ""
    account_number: AccountNumber | None = None


class MatchOut(BaseModel):
    entry_id: int
    list_name: str
    name: str
    score: float
    matched_on: str


class AmlGenerate(StrictBody):
    business_date: date


class AmlReview(StrictBody):
    status: Literal["reported", "dismissed", "pending_review"]
    note: Note = ""


class AmlReportOut(BaseModel):
    id: int
    business_date: date
    kind: str
    rule_code: str
    subject: str
    currency: str
    total: str
    tx_count: int
    decision_ids: list[str]
    status: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    note: str

    @classmethod
    def of(cls, r: aml.ReportView) -> AmlReportOut:
        return cls(
            id=r.id,
            business_date=r.business_date,
            kind=r.kind,
            rule_code=r.rule_code,
            subject=r.customer_id,
            currency=r.currency,
            total=format_minor(r.total_minor, r.currency),
            tx_count=r.tx_count,
            decision_ids=r.decision_ids,
            status=r.status,
            created_at=r.created_at,
            reviewed_by=r.reviewed_by,
            reviewed_at=r.reviewed_at,
            note=r.note,
        )


class ModelOut(BaseModel):
    version: str
    status: str
    metrics: dict[str, Any]
    trained_by: str
    created_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, m: service.ModelView) -> ModelOut:
        return cls(**m.__dict__)
