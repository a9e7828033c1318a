"""The learned model: trained on labelled history by time, versioned, served live, explained."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path

import pytest

from tests.risk.factories import assess, complete, ctx
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.risk import cases, service
from zhangyin.risk.errors import ModelNotFound, NotEnoughLabels
from zhangyin.risk.model import auc_roc, average_precision


def test_metrics_match_their_definitions() -> None:
    assert auc_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc_roc([0, 1], [0.5, 0.5]) == 0.5
    # AP: positives at ranks 1 and 3 -> (1/1 + 2/3) / 2
    assert math.isclose(average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), (1 + 2 / 3) / 2)
    assert math.isnan(average_precision([0, 0], [0.2, 0.3]))


def _labelled_history(db: Database, n: int = 160) -> None:
    rng = random.Random(5)
    start = utcnow() - timedelta(days=20)
    for i in range(n):
        at = start + timedelta(hours=2.5 * i)
        fraud = i % 6 == 0
        context = ctx(
            customer_id=f"c{i % 12}",
            account_id=i % 12 + 1,
            amount_minor=rng.randint(4_000_000, 9_000_000) if fraud else rng.randint(5_000, 90_000),
            payee_account_number=f"62220202{i:011d}" if fraud else f"6222020200000000{i % 5:03d}",
            device_id="dev-x" if fraud else f"dev-{i % 12}",
            occurred_at=at,
        )
        decision = assess(db, context)
        complete(db, decision, reference=f"r{i}")
        if fraud:
            db.run(lambda s, c=context, r=f"r{i}": service.report_fraud(s, c.customer_id, r, "x"))


def test_training_publishing_and_serving_a_model(db: Database, tmp_path: Path) -> None:
    _labelled_history(db)
    end = utcnow()
    trained = db.run(
        lambda s: service.train_model(
            s,
            end - timedelta(days=30),
            end,
            trained_by="ana",
            label_delay_days=0,
            write_to=tmp_path,
        )
    )
    assert trained.status == "candidate"
    assert trained.metrics["rows"]["train"] > trained.metrics["rows"]["test"] > 0
    assert trained.metrics["frauds"]["train"] > 0
    assert (tmp_path / f"{trained.version}.txt").exists()
    assert (tmp_path / f"{trained.version}.json").exists()
    # Candidates do not act until published.
    assert assess(db, ctx()).score is None
    db.run(lambda s: service.publish_model(s, trained.version, actor="bob"))
    normal = assess(db, ctx(customer_id="c1", account_id=2, amount_minor=30_000))
    suspicious = assess(
        db,
        ctx(
            customer_id="c1",
            account_id=2,
            amount_minor=8_000_000,
            payee_account_number="6222020299999999999",
            device_id="dev-x",
        ),
    )
    assert normal.score is not None and suspicious.score is not None
    assert suspicious.score > normal.score
    assert [m.status for m in db.run(service.list_models)] == ["live"]


def test_a_model_hold_shows_the_analyst_its_top_features(db: Database) -> None:
    _labelled_history(db)
    end = utcnow()
    trained = db.run(
        lambda s: service.train_model(
            s, end - timedelta(days=30), end, trained_by="ana", label_delay_days=0
        )
    )
    db.run(lambda s: service.publish_model(s, trained.version, actor="bob"))
    draft = db.run(
        lambda s: service.create_rule(
            s,
            key="M1",
            name="any score",
            expression="model.score >= 0 -> hold",
            reason_code="model_any",
            message_zh="模型",
            message_en="model",
            rationale="test",
            author="ana",
        )
    )
    db.run(lambda s: service.set_rule_status(s, draft.id, "live", actor="bob"))
    decision = assess(db, ctx(amount_minor=8_000_000, device_id="dev-x"))
    assert decision.outcome == "hold"
    [held] = [
        c
        for c in db.run(lambda s: cases.list_cases(s, kind="hold", limit=500))
        if c.decision_id == decision.decision_id
    ]
    assert held.top_features == []  # not computed on the payment's clock
    case = db.run(lambda s: service.explain_case(s, held.id))
    assert db.run(lambda s: cases.get_case(s, held.id)).top_features == case.top_features
    assert len(case.top_features) == 5
    assert {"feature", "value", "contribution", "description"} <= set(case.top_features[0])
    contributions = [abs(f["contribution"]) for f in case.top_features]
    assert contributions == sorted(contributions, reverse=True)


def test_training_without_enough_labels_is_refused_and_stores_nothing(db: Database) -> None:
    for i in range(10):
        complete(db, assess(db, ctx(occurred_at=utcnow() - timedelta(days=3, hours=i))))
    end = utcnow()
    with pytest.raises(NotEnoughLabels):
        db.run(
            lambda s: service.train_model(
                s, end - timedelta(days=30), end, trained_by="ana", label_delay_days=0
            )
        )
    assert db.run(service.list_models) == []


def test_publishing_an_unknown_model_is_refused(db: Database) -> None:
    with pytest.raises(ModelNotFound):
        db.run(lambda s: service.publish_model(s, "m-nope", actor="bob"))
