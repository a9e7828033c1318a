"""The learned model beside the rules: LightGBM trained on labelled history, served in process.

Training splits by time (train, then validation for early stopping, then test),
never at random: a fraud model is judged on the future it did not see. The
model text, its feature list and its metrics are stored as one versioned row
(and a file), and every worker loads the live version when the version check
says it changed. Per-decision explanations are LightGBM's exact tree SHAP
contributions (`pred_contrib`).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from zhangyin.clock import utcnow
from zhangyin.risk.errors import NotEnoughLabels
from zhangyin.risk.features import FEATURES, MODEL_FEATURES, model_vector

MODEL_DIR = Path("var") / "risk" / "models"
MIN_POSITIVES = 5

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
}


# --------------------------------------------------------------------------- metrics


def auc_roc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata

    y = np.asarray(labels, dtype=float)
    positives = float(y.sum())
    negatives = float(len(y) - positives)
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: Any, scores: Any) -> float:
    """Average precision: sum over score thresholds of (recall step) x precision."""
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    positives = y.sum()
    if positives == 0:
        return math.nan
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_tie = np.r_[np.where(np.diff(s) != 0)[0], len(s) - 1]
    tp = np.cumsum(y)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / positives
    steps = np.diff(np.r_[0.0, recall])
    return float((steps * precision).sum())


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainedModel:
    version: str
    model_text: str
    feature_names: list[str]
    metrics: dict[str, Any]


def new_version() -> str:
    return f"m{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _split_by_time(times: Sequence[datetime]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(np.asarray([t.timestamp() for t in times]), kind="mergesort")
    n = len(order)
    a, b = int(n * 0.70), int(n * 0.85)
    return order[:a], order[a:b], order[b:]


def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    rounds: int = 400,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Fit a booster (early stopping on `valid` when given)."""
    import lightgbm as lgb

    merged = {**PARAMS, **(params or {})}
    train_set = lgb.Dataset(x, label=y, feature_name=list(MODEL_FEATURES), free_raw_data=True)
    callbacks: list[Any] = []
    valid_sets = []
    if valid is not None and valid[1].sum() > 0:
        valid_sets = [lgb.Dataset(valid[0], label=valid[1], reference=train_set)]
        callbacks = [lgb.early_stopping(40, verbose=False)]
    return lgb.train(
        merged, train_set, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks
    )


def train_from_rows(
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[int],
    times: Sequence[datetime],
) -> TrainedModel:
    """Train on feature rows with a time-based train/validation/test split."""
    y = np.asarray(labels, dtype=float)
    if len(rows) < 50 or y.sum() < MIN_POSITIVES:
        raise NotEnoughLabels()
    x = np.asarray([model_vector(r) for r in rows], dtype=float)
    train_idx, valid_idx, test_idx = _split_by_time(times)
    if y[train_idx].sum() == 0:
        raise NotEnoughLabels()
    booster = fit(x[train_idx], y[train_idx], valid=(x[valid_idx], y[valid_idx]))
    metrics: dict[str, Any] = {
        "rows": {"train": len(train_idx), "valid": len(valid_idx), "test": len(test_idx)},
        "frauds": {
            "train": int(y[train_idx].sum()),
            "valid": int(y[valid_idx].sum()),
            "test": int(y[test_idx].sum()),
        },
        "trained_from": min(times).isoformat(),
        "trained_until": max(times).isoformat(),
        "best_iteration": int(booster.best_iteration or booster.current_iteration()),
    }
    for name, idx in (("valid", valid_idx), ("test", test_idx)):
        scores = booster.predict(x[idx]) if len(idx) else np.asarray([])
        auc = auc_roc(y[idx], scores) if len(idx) else math.nan
        ap = average_precision(y[idx], scores) if len(idx) else math.nan
        metrics[f"{name}_auc_roc"] = None if math.isnan(auc) else round(auc, 4)
        metrics[f"{name}_average_precision"] = None if math.isnan(ap) else round(ap, 4)
    return TrainedModel(new_version(), booster.model_to_string(), list(MODEL_FEATURES), metrics)


def write_files(trained: TrainedModel, directory: Path = MODEL_DIR) -> Path:
    """Write `<version>.txt` (the model) and `<version>.json` (metrics and features)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{trained.version}.txt"
    path.write_text(trained.model_text)
    (directory / f"{trained.version}.json").write_text(
        json.dumps(
            {"version": trained.version, "features": trained.feature_names, **trained.metrics},
            indent=2,
        )
    )
    return path


# --------------------------------------------------------------------------- serving


class ModelServer:
    """A loaded booster; thread-safe for prediction."""

    def __init__(self, version: str, model_text: str, feature_names: Sequence[str]) -> None:
        import lightgbm as lgb

        self.version = version
        self.booster = lgb.Booster(model_str=model_text)
        # Columns by name, in the model's own order: a model trained before features
        # were added keeps working; one whose text disagrees with its list is refused.
        self.feature_names = list(feature_names)
        if self.booster.num_feature() != len(self.feature_names):
            raise ValueError(f"model {version} does not match its feature list")

    def score(self, features: Mapping[str, Any]) -> float:
        x = np.asarray([model_vector(features, self.feature_names)], dtype=float)
        return float(self.booster.predict(x, num_threads=1)[0])

    def explain(self, features: Mapping[str, Any], top: int = 5) -> list[dict[str, Any]]:
        """The features that pushed this score most, with their values and contributions."""
        x = np.asarray([model_vector(features, self.feature_names)], dtype=float)
        contributions = self.booster.predict(x, pred_contrib=True, num_threads=1)[0][:-1]
        order = np.argsort(-np.abs(contributions))[:top]
        result = []
        for index in order:
            name = self.feature_names[int(index)]
            result.append(
                {
                    "feature": name,
                    "value": features.get(name.replace("_code", ""))
                    if name.endswith("_code")
                    else features.get(name),
                    "contribution": round(float(contributions[index]), 4),
                    "description": FEATURES.get(name, name),
                }
            )
        return result
