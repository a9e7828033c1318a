"""Real-time risk decisions (风控), asked by every money-moving operation before the ledger posts.

    decision = risk.assess(session, RiskContext(...))     # allow / challenge / delay / hold / block
    risk.record_outcome(session, decision.decision_id, reference=..., status="completed")

`assess` computes the features, evaluates the live rules (shadow rules are
evaluated and logged only) and the live model, records the decision, and opens
a case for every hold. It never raises for an engine fault: it fails safe —
hold for large amounts, challenge for small ones — and alerts through the log
and the `zhangyin_risk_engine_failures_total` metric.

Each worker caches the compiled live rules, the watch list and the model, and
re-reads them when a one-row version check (at most once a second by default)
says they changed: a published rule acts on every worker within seconds,
without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from zhangyin.clock import utcnow
from zhangyin.config import get_settings
from zhangyin.ledger import service as ledger
from zhangyin.ledger.errors import AccountNotFound
from zhangyin.risk import cases, state
from zhangyin.risk.context import RiskContext, RiskDecision, RiskReason
from zhangyin.risk.errors import (
    DecisionNotFound,
    FourEyesRequired,
    ModelNotFound,
    NotEnoughLabels,
    OutcomeStatusInvalid,
    RuleInvalid,
    RuleNotFound,
    RuleTransitionInvalid,
)
from zhangyin.risk.features import (
    FEATURE_NAMES,
    DatabaseEventStore,
    EventStore,
    PayeeLedgerFacts,
    RedisEventStore,
    compute,
    flush_redis_after_commit,
    ledger_facts,
    to_us,
)
from zhangyin.risk.model import ModelServer, TrainedModel, train_from_rows, write_files
from zhangyin.risk.models import RiskCase, RiskModel, RiskRule, RuleStatus
from zhangyin.risk.models import RiskDecision as DecisionRow
from zhangyin.risk.rules import SEVERITY, CompiledRule, RuleSyntaxError, compile_rule
from zhangyin.risk.watchlist import Screener, load_screener

__all__ = [
    "EngineConfig",
    "RiskContext",
    "RiskDecision",
    "RiskEngine",
    "RiskReason",
    "assess",
    "configure",
    "get_engine",
    "record_outcome",
    "report_fraud",
]

log = logging.getLogger(__name__)

DECISIONS = Counter("zhangyin_risk_decisions_total", "Risk decisions by outcome", ["outcome"])
ENGINE_FAILURES = Counter(
    "zhangyin_risk_engine_failures_total",
    "Risk engine faults answered with the fail-safe outcome",
    ["reason"],
)
SHADOW_HITS = Counter("zhangyin_risk_shadow_hits_total", "Shadow-rule matches", ["rule"])
DECISION_SECONDS = Histogram(
    "zhangyin_risk_decision_seconds",
    "Time to decide (features + rules + model + record)",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

#: What payments may report about a transaction.
OUTCOME_STATUSES = frozenset(
    {
        "pending",
        "challenged",
        "delayed",
        "held",
        "completed",
        "cancelled",
        "rejected",
        "failed",
        "reversed",
        "expired",
        "blocked",
    }
)

FAILSAFE_REASONS = {
    "hold": RiskReason(
        "risk_check_unavailable",
        "风险检查暂时不可用，交易已暂停待人工核实",
        "The risk check is temporarily unavailable; the payment is held for review",
    ),
    "challenge": RiskReason(
        "risk_check_unavailable",
        "风险检查暂时不可用，请完成身份验证",
        "The risk check is temporarily unavailable; please verify it's you",
    ),
}


@dataclass(frozen=True)
class EngineConfig:
    redis_url: str | None = None
    redis_prefix: str = "zy:risk:"
    #: How often a worker asks "did the rules, watch list or model change?".
    version_check_seconds: float = 1.0
    #: Fail-safe: at or above this amount (minor units) hold, below it challenge.
    failsafe_hold_minor: int = 500_000
    #: A decision slower than this is treated as an engine timeout (fail safe).
    budget_ms: float = 2000.0
    watchlist_threshold: float = 90.0


@dataclass(frozen=True)
class LiveRule:
    id: int
    key: str
    version: int
    status: str
    reason: RiskReason
    compiled: CompiledRule

    @property
    def label(self) -> str:
        return f"{self.key}v{self.version}"


@dataclass
class _Snapshot:
    rules_version: int = -1
    watchlist_version: int = -1
    model_version: str | None = None
    rules: list[LiveRule] = field(default_factory=list)
    screener: Screener = field(default_factory=lambda: Screener([]))
    model: ModelServer | None = None
    checked_at: float = 0.0


class RiskEngine:
    """One per worker process: the event store and the per-database caches."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.store: EventStore = (
            RedisEventStore(self.config.redis_url, prefix=self.config.redis_prefix)
            if self.config.redis_url
            else DatabaseEventStore()
        )
        self._snapshots: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ caches

    def snapshot(self, session: Session) -> _Snapshot:
        bind = session.get_bind()
        key = str(bind.engine.url)
        snap = self._snapshots.get(key)
        now = time.monotonic()
        if snap is not None and now - snap.checked_at < self.config.version_check_seconds:
            return snap
        rules_version, watchlist_version, model_version = state.read_versions(session)
        if (
            snap is not None
            and snap.rules_version == rules_version
            and snap.watchlist_version == watchlist_version
            and snap.model_version == model_version
        ):
            snap.checked_at = now
            return snap
        with self._lock:
            fresh = _Snapshot(checked_at=now)
            old = snap or _Snapshot()
            fresh.rules_version = rules_version
            fresh.rules = old.rules if old.rules_version == rules_version else load_rules(session)
            fresh.watchlist_version = watchlist_version
            fresh.screener = (
                old.screener
                if old.watchlist_version == watchlist_version
                else load_screener(session)
            )
            fresh.model_version = model_version
            fresh.model = (
                old.model
                if old.model_version == model_version and old.rules_version != -1
                else load_model(session, model_version)
            )
            self._snapshots[key] = fresh
            return fresh

    # ------------------------------------------------------------------ decide

    def decide(self, session: Session, ctx: RiskContext, decision_id: str) -> DecisionRow:
        snap = self.snapshot(session)
        history = self.store.history(session, ctx)
        in_bank, facts = payee_ledger_facts(session, ctx)
        screener_hit = snap.screener.best_score(ctx.payee_name, ctx.payee_account_number)
        account_hit = bool(
            ctx.payee_account_number and ctx.payee_account_number in snap.screener.by_account
        )
        features = compute(
            ctx,
            history,
            payee_ledger=facts,
            payee_in_bank=in_bank,
            watchlist_score=screener_hit,
            watchlist_threshold=self.config.watchlist_threshold,
            watchlist_account=account_hit,
        )
        score: float | None = None
        if snap.model is not None:
            score = round(snap.model.score(features), 6)
            features["model.score"] = score
        hits: list[LiveRule] = []
        shadow: list[str] = []
        for rule in snap.rules:
            if rule.compiled.matches(features):
                if rule.status == RuleStatus.LIVE:
                    hits.append(rule)
                else:
                    shadow.append(rule.label)
                    SHADOW_HITS.labels(rule.key).inc()
        outcome = "allow"
        for rule in hits:
            if SEVERITY[rule.compiled.outcome] > SEVERITY[outcome]:
                outcome = rule.compiled.outcome
        hits.sort(key=lambda r: -SEVERITY[r.compiled.outcome])
        reasons: list[RiskReason] = []
        for rule in hits:
            if rule.compiled.outcome != "allow" and rule.reason not in reasons:
                reasons.append(rule.reason)
        if shadow:
            log.info("risk shadow rules matched", extra={"rules": shadow, "decision": decision_id})
        row = _decision_row(
            ctx,
            decision_id,
            outcome=outcome,
            score=score,
            rule_hits=[r.label for r in hits],
            shadow_hits=shadow,
            reasons=reasons,
            features=features,
            rules_version=snap.rules_version,
            model_version=snap.model.version if snap.model else None,
        )
        session.add(row)
        session.flush()
        if outcome == "hold":
            # The model's explanation (tree SHAP) costs milliseconds: computed when the
            # analyst opens the case (`explain_case`), not on the payment's clock.
            cases.open_hold_case(session, row, [])
        return row

    def fail_safe(
        self, session: Session, ctx: RiskContext, decision_id: str, reason: str
    ) -> RiskDecision:
        outcome = "hold" if ctx.amount_minor >= self.config.failsafe_hold_minor else "challenge"
        why = FAILSAFE_REASONS[outcome]
        ENGINE_FAILURES.labels(reason).inc()
        DECISIONS.labels(outcome).inc()
        log.error(
            "risk engine failed; fail-safe decision",
            extra={"decision": decision_id, "outcome": outcome, "reason": reason},
        )
        try:
            with session.begin_nested():
                row = _decision_row(
                    ctx,
                    decision_id,
                    outcome=outcome,
                    score=None,
                    rule_hits=[],
                    shadow_hits=[],
                    reasons=[why],
                    features={"failsafe_reason": reason},
                    rules_version=-1,
                    model_version=None,
                    failsafe=True,
                )
                session.add(row)
                session.flush()
                if outcome == "hold":
                    cases.open_hold_case(session, row, [])
            _keep(session, row)
            # The attempt counts in the features like any other (a Redis that is down
            # only logs the lost write, after the commit).
            self.store.record(session, row)
        except Exception:
            log.exception("could not record the fail-safe risk decision", extra={"id": decision_id})
        return RiskDecision(decision_id, outcome, [why], None, [], [], failsafe=True)


def _decision_row(
    ctx: RiskContext,
    decision_id: str,
    *,
    outcome: str,
    score: float | None,
    rule_hits: list[str],
    shadow_hits: list[str],
    reasons: list[RiskReason],
    features: dict[str, Any],
    rules_version: int,
    model_version: str | None,
    failsafe: bool = False,
) -> DecisionRow:
    return DecisionRow(
        id=decision_id,
        operation=ctx.operation[:30],
        customer_id=ctx.customer_id,
        account_id=ctx.account_id,
        amount_minor=ctx.amount_minor,
        currency=ctx.currency,
        payee_account_number=ctx.payee_account_number,
        payee_name=(ctx.payee_name or None) and ctx.payee_name[:100],
        payee_bank_code=ctx.payee_bank_code,
        device_id=ctx.device_id,
        ip=ctx.ip,
        channel=ctx.channel[:20],
        occurred_at=ctx.occurred_at,
        occurred_us=to_us(ctx.occurred_at),
        outcome=outcome,
        score=score,
        rule_hits=rule_hits,
        shadow_hits=shadow_hits,
        reasons=[r.__dict__ for r in reasons],
        features=features,
        rules_version=rules_version,
        model_version=model_version,
        failsafe=failsafe,
        status="pending",
    )


def payee_ledger_facts(
    session: Session, ctx: RiskContext
) -> tuple[bool | None, PayeeLedgerFacts | None]:
    """Is the payee held here, and its recent movements (through the ledger's service)."""
    number = ctx.payee_account_number
    if not number:
        return None, None
    if not ledger.is_valid_account_number(number):
        return False, None
    page = _payee_statement(session, ctx.payee_account_id, number)
    if page is None:
        return False, None
    return True, ledger_facts(page.lines, ctx.occurred_at, page.account.created_at)


def _payee_statement(
    session: Session, account_id: int | None, number: str
) -> ledger.StatementPage | None:
    """The newest 50 statement lines of the account numbered `number` (None: not ours).

    With the account's id from the caller this is one read of the account and one of
    its postings; the number is still checked against the account read.
    """
    if account_id is not None:
        try:
            page = ledger.statement(session, account_id, limit=50)
        except AccountNotFound:
            page = None
        if page is not None and page.account.number == number:
            return page
    try:
        account = ledger.get_account_by_number(session, number)
    except AccountNotFound:
        return None
    return ledger.statement(session, account.id, limit=50)


def load_rules(session: Session) -> list[LiveRule]:
    rows = session.scalars(
        select(RiskRule)
        .where(RiskRule.status.in_([RuleStatus.LIVE, RuleStatus.SHADOW]))
        .order_by(RiskRule.key, RiskRule.version)
    ).all()
    result = []
    for row in rows:
        try:
            compiled = compile_rule(row.expression, FEATURE_NAMES)
        except RuleSyntaxError:
            # Published rules were checked when written; a rule the current code cannot
            # read (a feature was removed) must not silently stop protecting: fail loudly.
            log.exception("live risk rule no longer compiles", extra={"rule": row.key})
            raise
        reason = RiskReason(row.reason_code, row.message_zh, row.message_en)
        result.append(LiveRule(row.id, row.key, row.version, row.status, reason, compiled))
    return result


def load_model(session: Session, version: str | None) -> ModelServer | None:
    if version is None:
        return None
    row = session.get(RiskModel, version)
    if row is None:
        raise ModelNotFound()
    return ModelServer(row.version, row.model_text, row.feature_names)


# --------------------------------------------------------------------------- the engine


_engine: RiskEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> RiskEngine:
    """The process's engine, built from settings on first use (Redis when REDIS_URL is set)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = RiskEngine(EngineConfig(redis_url=get_settings().redis_url))
    return _engine


def configure(engine: RiskEngine | None) -> None:
    """Replace the process's engine (tests, or an app with its own settings)."""
    global _engine
    _engine = engine


@event.listens_for(Session, "after_commit")
def _flush_redis(session: Session) -> None:
    flush_redis_after_commit(session)


@event.listens_for(Session, "after_rollback")
def _drop_redis(session: Session) -> None:
    session.info.pop("risk_redis", None)


# --------------------------------------------------------------------------- decisions


def assess(session: Session, ctx: RiskContext) -> RiskDecision:
    """Decide on an operation and record the decision. Never raises for an engine fault."""
    engine = get_engine()
    decision_id = str(uuid.uuid4())
    started = time.perf_counter()
    try:
        with session.begin_nested():
            row = engine.decide(session, ctx, decision_id)
    except Exception as exc:
        return engine.fail_safe(session, ctx, decision_id, type(exc).__name__)
    elapsed = time.perf_counter() - started
    if elapsed * 1000 > engine.config.budget_ms:
        # Too slow to trust: the engine is degraded. Keep the row, act as if it failed.
        row.failsafe = True
        outcome = "hold" if ctx.amount_minor >= engine.config.failsafe_hold_minor else "challenge"
        ENGINE_FAILURES.labels("timeout").inc()
        log.error("risk decision over budget", extra={"decision": decision_id, "s": elapsed})
        if SEVERITY[outcome] > SEVERITY[row.outcome]:
            row.outcome = outcome
            row.reasons = [*row.reasons, FAILSAFE_REASONS[outcome].__dict__]
            if outcome == "hold":
                cases.open_hold_case(session, row, [])
    _write_latency_later(session, row, round(elapsed * 1000, 3))
    _keep(session, row)
    engine.store.record(session, row)
    DECISIONS.labels(row.outcome).inc()
    DECISION_SECONDS.observe(elapsed)
    return to_decision(row)


def _write_latency_later(session: Session, row: DecisionRow, latency_ms: float) -> None:
    """Write the decision's latency with the row's next change, not in an UPDATE of its own.

    The row is inserted before its latency is known (the clock stops after the insert).
    The caller records the outcome on the same row moments later (`record_outcome`):
    the latency goes out in that UPDATE, or when the transaction commits if none comes.
    """
    session.info.setdefault("risk_pending_latency", {})[row.id] = (row, latency_ms)


@event.listens_for(Session, "before_flush")
def _latency_with_other_changes(session: Session, _context: Any, _instances: Any) -> None:
    pending: dict[str, tuple[DecisionRow, float]] | None = session.info.get("risk_pending_latency")
    if not pending:
        return
    for decision_id, (row, latency_ms) in list(pending.items()):
        if inspect(row).modified:  # updated in this flush anyway
            row.latency_ms = latency_ms
            del pending[decision_id]


@event.listens_for(Session, "before_commit")
def _latency_before_commit(session: Session) -> None:
    pending: dict[str, tuple[DecisionRow, float]] | None = session.info.pop(
        "risk_pending_latency", None
    )
    for row, latency_ms in (pending or {}).values():
        if inspect(row).persistent:  # not rolled back with a savepoint meanwhile
            row.latency_ms = latency_ms


@event.listens_for(Session, "after_rollback")
def _drop_pending_latency(session: Session) -> None:
    session.info.pop("risk_pending_latency", None)


def _keep(session: Session, row: DecisionRow) -> None:
    """Hold the decision row for the rest of the unit of work.

    The session's identity map holds clean rows weakly: without this, the payment's
    `record_outcome` moments later would read the row back (one more SELECT).
    """
    session.info.setdefault("risk_decision_rows", {})[row.id] = row


def to_decision(row: DecisionRow) -> RiskDecision:
    return RiskDecision(
        decision_id=row.id,
        outcome=row.outcome,
        reasons=[RiskReason(**r) for r in row.reasons],
        score=row.score,
        rule_hits=list(row.rule_hits),
        shadow_hits=list(row.shadow_hits),
        failsafe=row.failsafe,
    )


def get_decision_row(session: Session, decision_id: str) -> DecisionRow:
    row = session.get(DecisionRow, decision_id)
    if row is None:
        raise DecisionNotFound()
    return row


def record_outcome(session: Session, decision_id: str, *, reference: str, status: str) -> None:
    """Payments tells risk what became of a decided operation (feeds features and labels)."""
    if status not in OUTCOME_STATUSES:
        raise OutcomeStatusInvalid(status=status)
    row = get_decision_row(session, decision_id)
    was_completed = row.status == "completed"
    row.reference = reference[:64]
    row.status = status
    row.status_at = utcnow()
    if row.outcome == "hold":
        # Only a hold opens a case at decision time (other cases carry their reference).
        cases.attach_reference(session, decision_id, row.reference)
    if status == "completed" and not was_completed:
        get_engine().store.mark_completed(session, row)


def explain_case(session: Session, case_id: str) -> cases.CaseView:
    """The case, with the model's top contributing features filled in on first view."""
    view = cases.get_case(session, case_id)
    if view.top_features or view.decision_id is None:
        return view
    decision = get_decision_row(session, view.decision_id)
    if decision.model_version is None or decision.score is None:
        return view
    snap = get_engine().snapshot(session)
    model = (
        snap.model
        if snap.model is not None and snap.model.version == decision.model_version
        else load_model(session, decision.model_version)
    )
    if model is None:
        return view
    return cases.set_top_features(session, case_id, model.explain(decision.features))


def report_fraud(
    session: Session, customer_id: str, reference: str, description: str
) -> cases.CaseView:
    """A customer reports one of their transfers as fraud (举报): label it and open a case."""
    return cases.report_fraud(session, customer_id, reference, description)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleView:
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


def _rule_view(row: RiskRule) -> RuleView:
    return RuleView(
        row.id,
        row.key,
        row.version,
        row.name,
        row.expression,
        row.outcome,
        row.reason_code,
        row.message_zh,
        row.message_en,
        row.status,
        row.author,
        row.rationale,
        row.created_at,
        row.published_by,
        row.published_at,
        row.retired_at,
    )


def check_rule(expression: str) -> CompiledRule:
    """Compile rule text against the feature catalogue; `RuleInvalid` points at the problem."""
    try:
        return compile_rule(expression, FEATURE_NAMES)
    except RuleSyntaxError as exc:
        raise RuleInvalid.of(exc) from None


def create_rule(
    session: Session,
    *,
    key: str,
    name: str,
    expression: str,
    reason_code: str,
    message_zh: str,
    message_en: str,
    rationale: str,
    author: str,
) -> RuleView:
    """Write a new draft version of rule `key` (nothing acts until it is published)."""
    compiled = check_rule(expression)
    latest = session.scalar(select(func.max(RiskRule.version)).where(RiskRule.key == key))
    row = RiskRule(
        key=key,
        version=(latest or 0) + 1,
        name=name,
        expression=expression,
        outcome=compiled.outcome,
        reason_code=reason_code,
        message_zh=message_zh,
        message_en=message_en,
        status=RuleStatus.DRAFT,
        author=author,
        rationale=rationale,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return _rule_view(row)


_TRANSITIONS = {
    RuleStatus.DRAFT: {RuleStatus.SHADOW, RuleStatus.LIVE, RuleStatus.RETIRED},
    RuleStatus.SHADOW: {RuleStatus.LIVE, RuleStatus.RETIRED},
    RuleStatus.LIVE: {RuleStatus.RETIRED},
    RuleStatus.RETIRED: set(),
}


def set_rule_status(session: Session, rule_id: int, status: str, *, actor: str) -> RuleView:
    """Shadow, publish (live) or retire a rule version; takes effect on every worker in seconds.

    Publishing needs a second person (four eyes): the author cannot make their own
    rule act on customers. Going live or shadow retires the key's other active version.
    """
    row = session.get(RiskRule, rule_id, with_for_update=True)
    if row is None:
        raise RuleNotFound()
    target = RuleStatus(status)
    if target not in _TRANSITIONS[RuleStatus(row.status)]:
        raise RuleTransitionInvalid(current=row.status, requested=status)
    if target == RuleStatus.LIVE and actor == row.author:
        raise FourEyesRequired()
    check_rule(row.expression)
    now = utcnow()
    if target in (RuleStatus.LIVE, RuleStatus.SHADOW):
        others = session.scalars(
            select(RiskRule).where(
                RiskRule.key == row.key,
                RiskRule.id != row.id,
                RiskRule.status.in_([RuleStatus.LIVE, RuleStatus.SHADOW]),
            )
        ).all()
        for other in others:
            # A shadow version under test does not replace the live one; going live does.
            if target == RuleStatus.LIVE or other.status == RuleStatus.SHADOW:
                other.status = RuleStatus.RETIRED
                other.retired_at = now
    row.status = target
    if target == RuleStatus.LIVE:
        row.published_by = actor
        row.published_at = now
    if target == RuleStatus.RETIRED:
        row.retired_at = now
    state.bump_rules(session)
    return _rule_view(row)


def get_rule(session: Session, rule_id: int) -> RuleView:
    row = session.get(RiskRule, rule_id)
    if row is None:
        raise RuleNotFound()
    return _rule_view(row)


def list_rules(session: Session, status: str | None = None) -> list[RuleView]:
    query = select(RiskRule).order_by(RiskRule.key, RiskRule.version)
    if status is not None:
        query = query.where(RiskRule.status == status)
    return [_rule_view(r) for r in session.scalars(query).all()]


@dataclass(frozen=True)
class BacktestResult:
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
    hit_decision_ids: list[str]

    @property
    def precision(self) -> float | None:
        return round(self.frauds_caught / self.hits, 4) if self.hits else None

    @property
    def recall(self) -> float | None:
        return round(self.frauds_caught / self.frauds, 4) if self.frauds else None


def backtest(
    session: Session, expression: str, start: datetime, end: datetime, *, sample: int = 20
) -> BacktestResult:
    """Replay rule text over the recorded transactions in [start, end).

    Uses the features as they were at decision time. A transaction is fraud when it
    is labelled so (confirmed case or customer report); good when it is labelled
    genuine or completed without a report.
    """
    compiled = check_rule(expression)
    d = DecisionRow
    rows = session.execute(
        select(d.id, d.customer_id, d.features, d.fraud_label, d.status, d.failsafe)
        .where(d.occurred_at >= start, d.occurred_at < end)
        .order_by(d.occurred_at)
    ).all()
    hits = frauds = caught = good_stopped = 0
    stopped_customers: set[str] = set()
    hit_ids: list[str] = []
    total = 0
    for decision_id, customer_id, features, label, status, failsafe in rows:
        if failsafe:
            continue
        total += 1
        is_fraud = label is True
        frauds += is_fraud
        if not compiled.matches(features):
            continue
        hits += 1
        if len(hit_ids) < sample:
            hit_ids.append(decision_id)
        if is_fraud:
            caught += 1
        elif label is False or status == "completed":
            good_stopped += 1
            stopped_customers.add(customer_id)
    return BacktestResult(
        expression,
        compiled.outcome,
        start,
        end,
        total,
        hits,
        frauds,
        caught,
        good_stopped,
        len(stopped_customers),
        hit_ids,
    )


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ModelView:
    version: str
    status: str
    metrics: dict[str, Any]
    trained_by: str
    created_at: datetime
    published_at: datetime | None


def _model_view(row: RiskModel) -> ModelView:
    return ModelView(
        row.version, row.status, row.metrics, row.trained_by, row.created_at, row.published_at
    )


def labelled_history(
    session: Session, start: datetime, end: datetime, *, label_delay_days: int = 7
) -> tuple[list[dict[str, Any]], list[int], list[datetime]]:
    """Feature rows with labels: confirmed frauds and reports are 1; genuine are 0.

    A completed transaction nobody reported within `label_delay_days` counts as
    genuine; younger unlabelled ones are left out (their label is not known yet).
    """
    cutoff = utcnow() - timedelta(days=label_delay_days)
    d = DecisionRow
    rows = session.execute(
        select(d.features, d.fraud_label, d.status, d.occurred_at)
        .where(d.occurred_at >= start, d.occurred_at < end, d.failsafe.is_(False))
        .order_by(d.occurred_at)
    ).all()
    features: list[dict[str, Any]] = []
    labels: list[int] = []
    times: list[datetime] = []
    for feats, label, status, occurred_at in rows:
        if label is None:
            if status != "completed" or occurred_at > cutoff:
                continue
            label = False
        features.append(feats)
        labels.append(1 if label else 0)
        times.append(occurred_at)
    return features, labels, times


def train_model(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    trained_by: str,
    label_delay_days: int = 7,
    write_to: Any = None,
) -> ModelView:
    """Train on labelled history in [start, end) and store a candidate version."""
    rows, labels, times = labelled_history(session, start, end, label_delay_days=label_delay_days)
    if not rows:
        raise NotEnoughLabels()
    trained: TrainedModel = train_from_rows(rows, labels, times)
    if write_to is not None:
        write_files(trained, write_to)
    row = RiskModel(
        version=trained.version,
        status="candidate",
        feature_names=trained.feature_names,
        metrics=trained.metrics,
        model_text=trained.model_text,
        trained_by=trained_by,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return _model_view(row)


def publish_model(session: Session, version: str, *, actor: str) -> ModelView:
    """Make a model version live on every worker (the previous live version retires)."""
    row = session.get(RiskModel, version, with_for_update=True)
    if row is None:
        raise ModelNotFound()
    ModelServer(row.version, row.model_text, row.feature_names)  # refuse an unloadable model
    for other in session.scalars(select(RiskModel).where(RiskModel.status == "live")).all():
        if other.version != version:
            other.status = "retired"
    row.status = "live"
    row.published_at = utcnow()
    state.set_model(session, version)
    log.info("risk model published", extra={"version": version, "actor": actor})
    return _model_view(row)


def list_models(session: Session) -> list[ModelView]:
    rows = session.scalars(select(RiskModel).order_by(RiskModel.created_at.desc())).all()
    return [_model_view(r) for r in rows]


def recent_decisions(
    session: Session, *, outcome: str | None = None, limit: int = 50
) -> Sequence[DecisionRow]:
    query = select(DecisionRow).order_by(DecisionRow.occurred_at.desc()).limit(limit)
    if outcome:
        query = query.where(DecisionRow.outcome == outcome)
    return session.scalars(query).all()


# --------------------------------------------------------------------------- per customer


@dataclass(frozen=True)
class CaseRef:
    """A case as a list shows it: enough to find it in the review queue."""

    id: str
    kind: str
    status: str
    opened_at: datetime


@dataclass(frozen=True)
class CustomerRiskEvent:
    """One line of a customer's risk history.

    Either a decision (`decision_id` set) with the cases opened on it, or a case opened
    without a decision (a credit from a watch-listed payer), whose `operation` and
    `outcome` are None. No payee, device or IP: the console shows those elsewhere, masked.
    """

    decision_id: str | None
    occurred_at: datetime
    operation: str | None
    amount_minor: int
    currency: str
    outcome: str | None
    reasons: list[dict[str, str]]
    failsafe: bool
    reference: str | None
    status: str | None
    fraud_label: bool | None
    cases: list[CaseRef]


def customer_risk_events(
    session: Session, customer_id: str, limit: int = 50
) -> list[CustomerRiskEvent]:
    """The customer's `limit` latest decisions and decision-less cases, newest first."""
    decisions = session.scalars(
        select(DecisionRow)
        .where(DecisionRow.customer_id == customer_id)
        .order_by(DecisionRow.occurred_us.desc(), DecisionRow.id)
        .limit(limit)
    ).all()
    ids = [d.id for d in decisions]
    on_decisions = session.scalars(
        select(RiskCase).where(RiskCase.decision_id.in_(ids)).order_by(RiskCase.opened_at)
    ).all()
    without_decision = session.scalars(
        select(RiskCase)
        .where(RiskCase.customer_id == customer_id, RiskCase.decision_id.is_(None))
        .order_by(RiskCase.opened_at.desc(), RiskCase.id)
        .limit(limit)
    ).all()
    by_decision: dict[str, list[CaseRef]] = {}
    found: list[CustomerRiskEvent] = []
    for case in [*on_decisions, *without_decision]:
        ref = CaseRef(case.id, case.kind, case.status, case.opened_at)
        if case.decision_id is not None:
            by_decision.setdefault(case.decision_id, []).append(ref)
            continue
        found.append(
            CustomerRiskEvent(
                decision_id=None,
                occurred_at=case.opened_at,
                operation=None,
                amount_minor=case.amount_minor,
                currency=case.currency,
                outcome=None,
                reasons=list(case.reasons),
                failsafe=False,
                reference=case.reference,
                status=None,
                fraud_label=case.fraud_confirmed,
                cases=[ref],
            )
        )
    for d in decisions:
        found.append(
            CustomerRiskEvent(
                decision_id=d.id,
                occurred_at=d.occurred_at,
                operation=d.operation,
                amount_minor=d.amount_minor,
                currency=d.currency,
                outcome=d.outcome,
                reasons=list(d.reasons),
                failsafe=d.failsafe,
                reference=d.reference,
                status=d.status,
                fraud_label=d.fraud_label,
                cases=by_decision.get(d.id, []),
            )
        )
    found.sort(key=lambda e: e.occurred_at, reverse=True)
    return found[:limit]
