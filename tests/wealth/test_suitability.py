"""The questionnaire and the suitability rule: no endpoint sells a product above the
customer's level, and every refused attempt is kept."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.identity import factories as identity_factories
from tests.wealth.authz import buyer
from tests.wealth.factories import (
    acknowledge,
    answers_for,
    assess,
    balance,
    beijing,
    demo_shelf,
    new_customer,
)
from zhangyin.db import Database
from zhangyin.money import Money
from zhangyin.wealth import service, suitability
from zhangyin.wealth.errors import (
    DisclosureRequired,
    InvalidAnswers,
    RiskAssessmentRequired,
    SuitabilityMismatch,
)
from zhangyin.wealth.models import SuitabilityRefusal, WealthOrder

T0 = beijing(date(2025, 11, 3), time(10))


def test_all_lowest_answers_give_c1_and_all_highest_c5() -> None:
    lowest = {q.key: q.options[0].key for q in suitability.QUESTIONS}
    assert suitability.score_answers(lowest).level == 1
    best = {q.key: max(q.options, key=lambda o: o.score).key for q in suitability.QUESTIONS}
    assert suitability.score_answers(best) == suitability.Assessment(32, 5)


def test_refusing_any_loss_caps_the_level_at_c1() -> None:
    best = {q.key: max(q.options, key=lambda o: o.score).key for q in suitability.QUESTIONS}
    assert suitability.score_answers({**best, "loss": "A"}).level == 1


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_every_level_is_reachable(level: int) -> None:
    assert suitability.score_answers(answers_for(level)).level == level


@pytest.mark.parametrize(
    "answers",
    [{}, {"age": "A"}, {**answers_for(3), "age": "E"}, {**answers_for(3), "extra": "A"}],
)
def test_partial_or_unknown_answers_are_refused(answers: dict[str, str]) -> None:
    with pytest.raises(InvalidAnswers):
        suitability.score_answers(answers)


@pytest.mark.parametrize(("level", "risk", "allowed"), [(1, 1, True), (2, 3, False), (5, 5, True)])
def test_the_rule(level: int, risk: int, allowed: bool) -> None:
    assert suitability.may_buy(level, risk) is allowed


def test_the_service_refuses_above_level_without_assessment_and_after_a_year(
    db: Database,
) -> None:
    demo_shelf(db, T0.date())
    customer, account = new_customer(db, 1_000_000)
    acknowledge(db, customer, "F-CSI300", T0)

    def buy(now: object) -> WealthOrder:
        from datetime import datetime

        assert isinstance(now, datetime)
        return db.run(
            lambda s: service.subscribe(
                s,
                customer,
                product_code="F-CSI300",
                amount=Money(100_000, "CNY"),
                account_id=account,
                in_pension=False,
                now=now,
            )
        )

    with pytest.raises(RiskAssessmentRequired):
        buy(T0)
    assess(db, customer, 3, T0)
    with pytest.raises(SuitabilityMismatch) as refused:
        buy(T0)
    assert refused.value.params == {
        "customer_level": 3,
        "product_risk": 4,
        "questionnaire": "/v1/wealth/risk-questionnaire",
    }
    assess(db, customer, 4, T0)
    assert buy(T0).status == "pending"
    with pytest.raises(RiskAssessmentRequired):  # the assessment has expired
        buy(T0 + timedelta(days=366))
    assert balance(db, account) == 900_000


def test_documents_must_be_read_again_when_they_change(db: Database) -> None:
    demo_shelf(db, T0.date())
    customer, account = new_customer(db, 1_000_000)
    assess(db, customer, 5, T0)

    def buy() -> WealthOrder:
        return db.run(
            lambda s: service.subscribe(
                s,
                customer,
                product_code="F-BOND",
                amount=Money(100_000, "CNY"),
                account_id=account,
                in_pension=False,
                now=T0,
            )
        )

    with pytest.raises(DisclosureRequired):
        buy()
    acknowledge(db, customer, "F-BOND", T0)
    buy()
    from zhangyin.wealth import catalogue

    db.run(lambda s: catalogue.publish_documents(s, "F-BOND", "v2"))
    with pytest.raises(DisclosureRequired):
        buy()
    assert balance(db, account) == 900_000


def _refusals(db: Database, customer_id: str) -> int:
    return int(
        db.run(
            lambda s: s.scalar(
                select(func.count())
                .select_from(SuitabilityRefusal)
                .where(SuitabilityRefusal.customer_id == customer_id)
            )
        )
        or 0
    )


def test_api_refuses_above_level_explains_and_records_the_attempt(
    client: TestClient, db: Database
) -> None:
    from tests.identity.authz import World
    from zhangyin.config import Settings

    owner = identity_factories.register(client, db)
    world = World(client, db, Settings())
    account_id = buyer(world, owner, ["F-TECH", "F-BOND"])
    headers = owner.headers
    # downgrade to C2
    again = client.post(
        "/v1/wealth/risk-assessments",
        json={"answers": answers_for(2)},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert again.status_code == 201 and again.json()["level"] == "C2"
    before = client.get(f"/v1/accounts/{account_id}", headers=headers).json()
    for key in (uuid.uuid4().hex, uuid.uuid4().hex):
        refused = client.post(
            "/v1/wealth/orders",
            json={"product_code": "F-TECH", "amount": "1000.00", "account_id": account_id},
            headers={**headers, "Idempotency-Key": key, "Accept-Language": "en-US"},
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["code"] == "suitability_mismatch"
        assert (body["customer_level"], body["product_risk"]) == (2, 5)
        assert "questionnaire" in body["detail"]
        assert body["questionnaire"] == "/v1/wealth/risk-questionnaire"
    assert _refusals(db, owner.customer_id) == 2
    after = client.get(f"/v1/accounts/{account_id}", headers=headers).json()
    assert after["balance"] == before["balance"]
    assert client.get("/v1/wealth/orders", headers=headers).json() == []
    # a product within the level still sells
    ok = client.post(
        "/v1/wealth/orders",
        json={"product_code": "F-BOND", "amount": "1000.00", "account_id": account_id},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert ok.status_code == 201, ok.text
