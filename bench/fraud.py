"""Zhangyin's fraud model against the public baseline of the fraud-detection handbook.

    python bench/fraud.py [--customers 5000] [--terminals 10000]

Data: bench/fraudsim.py, a re-implementation of the transaction simulator of Le Borgne,
Siblini, Lebichot, Bontempi, "Reproducible Machine Learning for Credit Card Fraud
Detection - Practical Handbook" (2022), with its parameters (5,000 customers, 10,000
terminals, from 2018-04-01), simulated up to the end of the test week.

Protocol (the handbook's chapter 3.4, "Baseline fraud detection system"): train on the
week 2018-07-25..31, a one-week delay, test on 2018-08-08..14. Labels become known one
week after the transaction (the handbook's feedback delay); a fraud label is the only
way any feature learns of fraud.

Pipeline: Zhangyin's own. Every transaction goes through `zhangyin.risk.features`
(the in-memory event store, same code and values as the database and Redis stores) as a
`qr_payment` from customer to terminal; every fraud label reaches the store a week after
its transaction, as a confirmed case would; the model is `zhangyin.risk.model`
(LightGBM) on `MODEL_FEATURES`. Decision latency is the in-process decision per test
transaction: features + the default rule set + the model's score.

Metrics as the handbook defines them: AUC ROC, average precision, and card
precision@100 (per test day, the 100 cards with the highest score that day, the share of
them that had a fraud that day; cards found on an earlier test day are removed; mean
over the test days).

Baseline figures: the handbook's "Baseline fraud detection system" section, table of
test-set performances (logistic regression, decision trees, random forest, XGBoost):
https://fraud-detection-handbook.github.io/fraud-detection-handbook/Chapter_3_GettingStarted/BaselineModeling.html
(notebook Chapter_3_GettingStarted/BaselineModeling.ipynb in
github.com/Fraud-Detection-Handbook/fraud-detection-handbook). The best of them per
metric is the anchor.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fraudsim import DAY_SECONDS, START, simulate
from zhangyin.risk.context import RiskContext
from zhangyin.risk.defaults import DEFAULT_RULES
from zhangyin.risk.features import (
    FEATURE_NAMES,
    MemoryEventStore,
    PastEvent,
    compute,
    from_us,
    model_vector,
    to_us,
)
from zhangyin.risk.model import auc_roc, average_precision, fit
from zhangyin.risk.rules import SEVERITY, compile_rule

#: Test-set figures of the handbook's baseline models (AUC ROC, AP, card precision@100).
BASELINES = {
    "logistic_regression": (0.871, 0.606, 0.291),
    "decision_tree_depth_2": (0.763, 0.496, 0.241),
    "decision_tree_unlimited": (0.788, 0.309, 0.243),
    "random_forest": (0.867, 0.658, 0.287),
    "xgboost": (0.862, 0.639, 0.273),
}
BEST = {
    name: max(v[i] for v in BASELINES.values())
    for i, name in enumerate(("auc_roc", "average_precision", "card_precision_at_100"))
}

TRAIN_START = 115  # 2018-07-25, days since 2018-04-01
TRAIN_DAYS = 7
DELAY_DAYS = 7
TEST_START = TRAIN_START + TRAIN_DAYS + DELAY_DAYS  # 2018-08-08
TEST_DAYS = 7
LABEL_DELAY = timedelta(days=7)
#: The simulator's time of day is local time: shift so that Beijing time shows it.
LOCAL_SHIFT = timedelta(hours=8)


def card_precision_at_k(
    day: np.ndarray, card: np.ndarray, fraud: np.ndarray, score: np.ndarray, k: int = 100
) -> float:
    found: set[int] = set()
    precisions = []
    for d in np.unique(day):
        mask = day == d
        best: dict[int, float] = {}
        frauded: set[int] = set()
        for c, s, f in zip(card[mask], score[mask], fraud[mask], strict=True):
            c = int(c)
            if c in found:
                continue
            best[c] = max(best.get(c, -1.0), float(s))
            if f:
                frauded.add(c)
        top = sorted(best, key=lambda c: -best[c])[:k]
        hits = [c for c in top if c in frauded]
        precisions.append(len(hits) / k)
        found.update(hits)
    return float(np.mean(precisions))


def main() -> None:
    parser = argparse.ArgumentParser(description="Fraud model vs the handbook baseline")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-features", help="Also save the feature matrix (.npz) here")
    args = parser.parse_args()
    started = time.perf_counter()

    n_days = TEST_START + TEST_DAYS
    tx = simulate(args.customers, args.terminals, n_days, seed=args.seed)
    simulated = time.perf_counter()
    print(f"simulated {len(tx)} transactions, {int(tx.fraud.sum())} frauds in {n_days} days")

    store = MemoryEventStore()
    day = tx.day
    in_train = (day >= TRAIN_START) & (day < TRAIN_START + TRAIN_DAYS)
    in_test = (day >= TEST_START) & (day < TEST_START + TEST_DAYS)
    wanted = in_train | in_test
    # Events older than the longest window before the training week never show in a
    # feature; only "known payee" needs the whole history (a cheap dictionary update).
    windowed = day >= TRAIN_START - 31
    origin_us = to_us(START - LOCAL_SHIFT)
    at_us = origin_us + tx.seconds.astype(np.int64) * 1_000_000
    fraud_idx = np.flatnonzero(tx.fraud)
    label_us = at_us[fraud_idx] + LABEL_DELAY // timedelta(microseconds=1)
    next_label = 0
    rules = [compile_rule(r["expression"], FEATURE_NAMES) for r in DEFAULT_RULES]
    rows: list[list[float]] = []
    row_index: list[int] = []
    test_contexts: list[RiskContext] = []
    customers, terminals, amounts = tx.customer.tolist(), tx.terminal.tolist(), tx.amount.tolist()
    times = at_us.tolist()
    for i in range(len(tx)):
        now_us = times[i]
        # Labels known by now: frauds at least a week old (the feedback delay).
        while next_label < len(fraud_idx) and label_us[next_label] <= now_us:
            j = int(fraud_idx[next_label])
            store.frauds[f"T{terminals[j]}"].append(int(label_us[next_label]))
            next_label += 1
        customer_id, payee = f"C{customers[i]}", f"T{terminals[i]}"
        amount_minor = round(amounts[i] * 100)
        if wanted[i]:
            ctx = RiskContext(
                operation="qr_payment",
                customer_id=customer_id,
                account_id=customers[i] + 1,
                amount_minor=amount_minor,
                currency="CNY",
                payee_account_number=payee,
                payee_name=None,
                payee_bank_code=None,
                device_id=None,
                ip=None,
                channel="app",
                occurred_at=from_us(now_us),
            )
            features = compute(ctx, store.history_of(ctx))
            rows.append(model_vector(features))
            row_index.append(i)
            if in_test[i]:
                test_contexts.append(ctx)
        if windowed[i]:
            event = PastEvent(now_us, amount_minor, customer_id, str(i), payee)
            keys = {"customer": customer_id, "account": str(customers[i] + 1), "payee": payee}
            store.add_event(keys, event)
        store.complete_us(customer_id, payee, now_us)
    featured = time.perf_counter()
    print(f"features for {len(rows)} transactions in {featured - simulated:.1f} s")

    x = np.asarray(rows, dtype=float)
    idx = np.asarray(row_index)
    if args.save_features:
        np.savez(
            args.save_features,
            x=x,
            y=tx.fraud[idx],
            day=day[idx],
            customer=tx.customer[idx],
            train=in_train[idx],
            test=in_test[idx],
        )
    y = tx.fraud[idx].astype(float)
    train = in_train[idx]
    test = in_test[idx]
    train_days = day[idx]
    # Early stopping on the last two days of the training week, then refit on all of it.
    fit_part = train & (train_days < TRAIN_START + TRAIN_DAYS - 2)
    valid_part = train & ~fit_part
    probe = fit(x[fit_part], y[fit_part], valid=(x[valid_part], y[valid_part]), rounds=600)
    rounds = max(50, int(probe.best_iteration or probe.current_iteration()))
    booster = fit(x[train], y[train], rounds=rounds)
    scores = booster.predict(x[test])
    trained = time.perf_counter()

    auc = auc_roc(y[test], scores)
    ap = average_precision(y[test], scores)
    cp100 = card_precision_at_k(train_days[test], tx.customer[idx][test], y[test], scores)

    # In-process decision latency over the test week: features + rules + model.
    from zhangyin.risk.features import MODEL_FEATURES
    from zhangyin.risk.model import ModelServer

    server = ModelServer("bench", booster.model_to_string(), MODEL_FEATURES)
    latencies = []
    for ctx in test_contexts[:: max(1, len(test_contexts) // 3000)]:
        t0 = time.perf_counter()
        features = compute(ctx, store.history_of(ctx))
        features["model.score"] = server.score(features)
        outcome = "allow"
        for rule in rules:
            if rule.matches(features) and SEVERITY[rule.outcome] > SEVERITY[outcome]:
                outcome = rule.outcome
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    p50 = latencies[len(latencies) // 2] * 1000

    print()
    print(f"{'model':<28}{'AUC ROC':>10}{'AP':>10}{'CP@100':>10}")
    for name, (a, p, c) in BASELINES.items():
        print(f"{'handbook ' + name:<28}{a:>10.3f}{p:>10.3f}{c:>10.3f}")
    print(f"{'zhangyin (LightGBM)':<28}{auc:>10.3f}{ap:>10.3f}{cp100:>10.3f}")
    print(
        f"\ntrain {int(train.sum())} tx ({int(y[train].sum())} frauds), "
        f"test {int(test.sum())} tx ({int(y[test].sum())} frauds), {rounds} rounds; "
        f"decision p50 {p50:.2f} ms p99 {p99:.2f} ms; "
        f"total {time.perf_counter() - started:.0f} s (model {trained - featured:.1f} s)"
    )
    result = {
        "bench": "fraud",
        "auc_roc": round(auc, 4),
        "average_precision": round(ap, 4),
        "card_precision_at_100": round(cp100, 4),
        "baseline_auc_roc": BEST["auc_roc"],
        "baseline_average_precision": BEST["average_precision"],
        "baseline_card_precision_at_100": BEST["card_precision_at_100"],
        "ap_ratio": round(ap / BEST["average_precision"], 3),
        "cp100_ratio": round(cp100 / BEST["card_precision_at_100"], 3),
        "decision_p50_ms": round(p50, 3),
        "decision_p99_ms": round(p99, 3),
        "transactions": len(tx),
        "test_transactions": int(test.sum()),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        "days_simulated": n_days,
        "day_seconds": DAY_SECONDS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
