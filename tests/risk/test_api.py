"""Risk console API: who may call it, bad input refused with nothing stored, the analyst's flows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.risk.factories import NOON, assess, complete, ctx, idem, staff_headers
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.risk import cases, service
from zhangyin.risk.api import router
from zhangyin.risk.models import AmlRun, RiskRule, WatchlistEntry

RULE = {
    "key": "TF900",
    "name": "QR payments at night",
    "expression": "operation == 'qr_payment' and night and amount >= 2000 -> challenge",
    "reason_code": "qr_night",
    "message_zh": "夜间大额扫码支付，请完成身份验证",
    "message_en": "A large QR payment at night needs extra verification",
    "rationale": "QR-code scams peak at night",
}


def count(db: Database, model: type) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(model))))


def risk_routes() -> list[tuple[str, str]]:
    found = []
    for route in router.routes:
        if isinstance(route, APIRoute):
            path = re.sub(
                r"\{case_id\}|\{decision_id\}", "00000000-0000-0000-0000-000000000000", route.path
            )
            path = re.sub(r"\{[a-z_]+\}", "1", path)
            found.extend((method, path) for method in route.methods)
    return found


def test_every_risk_route_needs_staff_with_a_risk_permission(
    client: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    viewer = staff_headers(client, db, ["viewer"])
    routes = risk_routes()
    assert len(routes) >= 20
    for method, path in routes:
        anonymous = client.request(method, path, json={})
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        assert client.request(method, path, json={}, headers=viewer).status_code == 403, path
        # The internal service token is not a staff session either.
        assert client.request(method, path, json={}, headers=service_headers).status_code in (
            401,
            403,
        )


def test_bad_rule_text_is_refused_at_its_position_and_nothing_is_stored(
    client: TestClient, db: Database
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    before = count(db, RiskRule)
    bad = {**RULE, "expression": "operation == 'qr_payment' and nite -> challenge"}
    response = client.post(
        "/v1/console/risk/rules", json=bad, headers={**analyst, **idem(), "Accept-Language": "en"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "risk_rule_invalid"
    assert body["position"] == 31
    assert "did you mean 'night'" in body["detail"]
    assert "^" in body["pointer"]
    zh = client.post(
        "/v1/console/risk/rules/check", json={"expression": "amount >= -> hold"}, headers=analyst
    )
    assert zh.status_code == 422 and "第 11 个字符" in zh.json()["detail"]
    assert count(db, RiskRule) == before


@pytest.mark.parametrize(
    "body",
    [
        {**RULE, "key": "bad key!"},
        {**RULE, "extra": 1},
        {**RULE, "message_zh": ""},
        {**RULE, "name": "tab\there"},
        {k: v for k, v in RULE.items() if k != "rationale"},
        {**RULE, "expression": "x" * 2001},
    ],
)
def test_malformed_rule_bodies_are_refused_and_nothing_is_stored(
    client: TestClient, db: Database, body: dict[str, object]
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    before = count(db, RiskRule)
    response = client.post("/v1/console/risk/rules", json=body, headers={**analyst, **idem()})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count(db, RiskRule) == before


def test_rule_written_then_published_by_a_second_analyst_acts_at_once(
    client: TestClient, db: Database
) -> None:
    author = staff_headers(client, db, ["risk_analyst"])
    checker = staff_headers(client, db, ["risk_analyst"])
    created = client.post("/v1/console/risk/rules", json=RULE, headers={**author, **idem()})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["status"], rule["version"], rule["outcome"]) == ("draft", 1, "challenge")
    own = client.post(
        f"/v1/console/risk/rules/{rule['id']}/status",
        json={"status": "live"},
        headers={**author, **idem()},
    )
    assert own.status_code == 403 and own.json()["code"] == "risk_four_eyes_required"
    night_qr = ctx(
        operation="qr_payment", amount_minor=300_000, occurred_at=NOON + timedelta(hours=14)
    )
    assert assess(db, night_qr).outcome == "allow"
    published = client.post(
        f"/v1/console/risk/rules/{rule['id']}/status",
        json={"status": "live"},
        headers={**checker, **idem()},
    )
    assert published.status_code == 200, published.text
    assert published.json()["published_by"] != rule["author"]
    decision = assess(db, night_qr)
    assert decision.outcome == "challenge" and decision.rule_hits == ["TF900v1"]
    listed = client.get("/v1/console/risk/rules?status=live", headers=checker).json()
    assert "TF900" in {r["key"] for r in listed}
    retired = client.post(
        f"/v1/console/risk/rules/{rule['id']}/status",
        json={"status": "retired"},
        headers={**checker, **idem()},
    )
    assert retired.json()["status"] == "retired"
    assert assess(db, night_qr).outcome == "allow"
    again = client.post(
        f"/v1/console/risk/rules/{rule['id']}/status",
        json={"status": "live"},
        headers={**checker, **idem()},
    )
    assert again.status_code == 409


def test_backtest_reports_hits_frauds_caught_and_good_customers_stopped(
    client: TestClient, db: Database
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    for i in range(6):
        context = ctx(
            customer_id=f"c{i}",
            amount_minor=100_000 * (i + 1),
            occurred_at=NOON - timedelta(days=i),
        )
        complete(db, assess(db, context), reference=f"ref{i}")
    db.run(lambda s: service.report_fraud(s, "c5", "ref5", "scam"))
    db.run(lambda s: service.report_fraud(s, "c4", "ref4", "scam"))
    response = client.post(
        "/v1/console/risk/rules/backtest",
        json={
            "expression": "amount >= 4000 -> hold",
            "start": (NOON - timedelta(days=10)).isoformat(),
            "end": (NOON + timedelta(days=1)).isoformat(),
        },
        headers=analyst,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["transactions"], result["hits"], result["frauds"]) == (6, 3, 2)
    assert (result["frauds_caught"], result["good_stopped"], result["recall"]) == (2, 1, 1.0)
    naive = client.post(
        "/v1/console/risk/rules/backtest",
        json={"expression": "amount >= 0 -> hold", "start": "2020-01-01", "end": "2020-01-02"},
        headers=analyst,
    )
    assert naive.status_code == 422  # dates without a time zone are refused


def test_analyst_approves_a_held_transfer_through_the_console(
    client: TestClient, db: Database
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    decision = assess(
        db,
        ctx(
            amount_minor=300_000,
            device_first_seen_at=NOON - timedelta(hours=1),
            last_phone_change_at=NOON - timedelta(hours=2),
        ),
    )
    db.run(
        lambda s: service.record_outcome(s, decision.decision_id, reference="p-1", status="held")
    )
    [case] = client.get("/v1/console/risk/cases?status=open", headers=analyst).json()
    assert case["decision_id"] == decision.decision_id and case["amount"] == "3000.00"
    assert case["reasons"][0]["code"] == "takeover_pattern"
    shown = client.get(f"/v1/console/risk/decisions/{decision.decision_id}", headers=analyst)
    assert shown.json()["features"]["device.new"] is True
    approved = client.post(
        f"/v1/console/risk/cases/{case['id']}/approve",
        json={"note": "customer confirmed by phone"},
        headers={**analyst, **idem()},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    events = db.run(
        lambda s: s.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "risk.case.approved")
        ).all()
    )
    assert [e.payload["reference"] for e in events] == ["p-1"]
    twice = client.post(
        f"/v1/console/risk/cases/{case['id']}/reject", json={}, headers={**analyst, **idem()}
    )
    assert twice.status_code == 409
    assert db.run(lambda s: cases.get_case(s, case["id"])).status == "approved"
    missing = client.get(
        "/v1/console/risk/cases/00000000-0000-0000-0000-000000000000", headers=analyst
    )
    assert missing.status_code == 404


def test_cases_are_listed_for_one_customer(client: TestClient, db: Database) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    held = ctx(
        amount_minor=300_000,
        device_first_seen_at=NOON - timedelta(hours=1),
        last_phone_change_at=NOON - timedelta(hours=2),
    )
    decision = assess(db, held)
    db.run(
        lambda s: service.record_outcome(s, decision.decision_id, reference="p-2", status="held")
    )

    def listed(query: str) -> list[str]:
        found = client.get(f"/v1/console/risk/cases?{query}", headers=analyst)
        assert found.status_code == 200, found.text
        return [c["decision_id"] for c in found.json()]

    assert listed(f"customer_id={held.customer_id}") == [decision.decision_id]
    assert listed("customer_id=someone-else") == []
    too_long = client.get(f"/v1/console/risk/cases?customer_id={'x' * 65}", headers=analyst)
    assert too_long.status_code == 422


def test_watch_list_entries_are_added_screened_and_removed(
    client: TestClient, db: Database
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    empty = client.post(
        "/v1/console/risk/watchlist",
        json={"list_name": "internal_fraud", "reason": "no name or account"},
        headers={**analyst, **idem()},
    )
    assert empty.status_code == 422
    assert count(db, WatchlistEntry) == 0
    added = client.post(
        "/v1/console/risk/watchlist",
        json={"list_name": "internal_fraud", "name": "赵 六", "reason": "case 12"},
        headers={**analyst, **idem()},
    )
    assert added.status_code == 201, added.text
    hits = client.post(
        "/v1/console/risk/watchlist/screen", json={"name": "趙六"}, headers=analyst
    ).json()
    assert hits[0]["entry_id"] == added.json()["id"]
    removed = client.delete(f"/v1/console/risk/watchlist/{added.json()['id']}", headers=analyst)
    assert removed.json()["active"] is False
    assert (
        client.post(
            "/v1/console/risk/watchlist/screen", json={"name": "趙六"}, headers=analyst
        ).json()
        == []
    )


def test_aml_reports_of_a_day_not_over_are_refused_and_nothing_is_claimed(
    client: TestClient, db: Database
) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    today = business_date(utcnow() + timedelta(seconds=10))  # also across 16:00 UTC
    for day in (today, today + timedelta(days=1)):
        refused = client.post(
            "/v1/console/risk/aml/reports/generate",
            json={"business_date": day.isoformat()},
            headers={**analyst, **idem(), "Accept-Language": "zh-CN"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "risk_aml_day_not_over"
        assert "尚未结束" in refused.json()["detail"]
    assert db.run(lambda s: s.scalars(select(AmlRun)).all()) == []


def test_aml_reports_are_generated_and_exported_as_csv(client: TestClient, db: Database) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    decision = assess(db, ctx(amount_minor=80_000_000))
    complete(db, decision, reference="big")
    generated = client.post(
        "/v1/console/risk/aml/reports/generate",
        json={"business_date": "2026-11-18"},
        headers={**analyst, **idem()},
    )
    assert generated.status_code == 200, generated.text
    [report] = generated.json()
    assert (report["rule_code"], report["total"]) == ("TRANSFER_INDIVIDUAL", "800000.00")
    exported = client.get(
        "/v1/console/risk/aml/reports.csv?business_date=2026-11-18", headers=analyst
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert "TRANSFER_INDIVIDUAL" in exported.text
    bad = client.get("/v1/console/risk/aml/reports.csv?business_date=18/11/2026", headers=analyst)
    assert bad.status_code == 422


def test_feature_catalogue_is_listed_for_rule_authors(client: TestClient, db: Database) -> None:
    analyst = staff_headers(client, db, ["risk_analyst"])
    names = {f["name"] for f in client.get("/v1/console/risk/features", headers=analyst).json()}
    assert {"payee.first_time", "model.score", "customer.count_10m", "hour_local"} <= names
