"""Risk of failing or dropping out: a logistic model over learner features, explainable per learner.

The model is trained on the platform's own history (label 1 = failed or dropped). Until there is
enough history (`MIN_SAMPLES` labelled learners, `MIN_POSITIVES` of each class), the documented
cold-start model of analytics.cold_start is used instead: monotone effects of the signals the
alert rules compute, and "unknown" (NaN, grey light) for learners with too little data. A trained
model imputes missing features with its mean, which contributes nothing to the score. Every
score says which model produced it (`RiskScores.model`).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from analytics import cold_start

FEATURES = (
    "average_score",
    "recent_average",
    "score_slope",
    "baseline_z",
    "activities_per_day",
    "active_day_share",
    "days_since_activity",
    "days_since_progress",
    "modules_per_week",
    "attendance_percent",
    "engagement",
)
MIN_SAMPLES = 200
MIN_POSITIVES = 20
DEFAULT_LIGHT_THRESHOLDS = (0.3, 0.6)  # amber from 0.3, red from 0.6
UNKNOWN_LIGHT = -1  # too little data to say: shown grey, never red


@dataclass(frozen=True)
class RiskModel:
    """Standardisation and logistic coefficients; serialisable with to_dict/from_dict."""

    kind: str  # "trained" or "cold_start"
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    quality: dict[str, Any] = field(default_factory=dict)  # held-out ROC AUC, Brier score, calibration

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            features=list(self.features), mean=self.mean.tolist(), scale=self.scale.tolist(), coef=self.coef.tolist()
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskModel:
        return cls(
            data["kind"],
            tuple(data["features"]),
            np.array(data["mean"]),
            np.array(data["scale"]),
            np.array(data["coef"]),
            float(data["intercept"]),
            dict(data.get("quality", {})),
        )


def cold_start_model() -> RiskModel:
    """The documented prior model used before the platform has enough labelled history (see analytics.cold_start)."""
    n = len(cold_start.FEATURES)
    coef = cold_start.feature_coefficients()  # display only: scoring goes through cold_start.contributions
    return RiskModel(
        "cold_start",
        cold_start.FEATURES,
        np.zeros(n),
        np.ones(n),
        coef,
        cold_start.INTERCEPT,
        {
            "reason": "not enough labelled history",
            "signals": list(cold_start.SIGNALS),
            "coefficients": cold_start.COEFFICIENTS.tolist(),
            "provenance": cold_start.FIT["provenance"],
            "validation": cold_start.FIT["validation"],
        },
    )


def train_risk_model(features: np.ndarray, labels: np.ndarray, seed: int = 0, test_size: float = 0.25) -> RiskModel:
    """Fit on 75% of the labelled learners, report quality on the held-out 25% (that fitted model is returned)."""
    X, y = np.asarray(features, dtype=float), np.asarray(labels, dtype=int)
    positives = int(y.sum())
    if len(y) < MIN_SAMPLES or min(positives, len(y) - positives) < MIN_POSITIVES:
        model = cold_start_model()
        model.quality.update(samples=len(y), positives=positives)
        return model
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature nobody has yet (e.g. attendance)
        mean = np.nanmean(X, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    X = np.where(np.isnan(X), mean, X)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale
    Z_train, Z_test, y_train, y_test = train_test_split(Z, y, test_size=test_size, stratify=y, random_state=seed)
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit(Z_train, y_train)
    probability = fitted.predict_proba(Z_test)[:, 1]
    observed, predicted = calibration_curve(y_test, probability, n_bins=5, strategy="quantile")
    quality = {
        "roc_auc": float(roc_auc_score(y_test, probability)),
        "brier": float(brier_score_loss(y_test, probability)),
        "calibration": {"predicted": predicted.tolist(), "observed": observed.tolist()},
        "samples": len(y),
        "positives": positives,
        "held_out": len(y_test),
    }
    return RiskModel("trained", FEATURES, mean, scale, fitted.coef_[0].copy(), float(fitted.intercept_[0]), quality)


@dataclass(frozen=True)
class RiskScores:
    probability: np.ndarray  # 0..1; NaN where unknown
    light: np.ndarray  # 0 green, 1 amber, 2 red, -1 unknown (too little data)
    contributions: np.ndarray  # (n, features): log-odds each of model.features adds
    top_factors: np.ndarray  # (n, k) feature indices pushing risk up most; -1 where none does
    model: str = "trained"  # which model produced the scores: "trained" or "cold_start"


def risk_lights(probability: np.ndarray, thresholds: tuple[float, float] = DEFAULT_LIGHT_THRESHOLDS) -> np.ndarray:
    """Traffic light per probability: 0 green, 1 amber, 2 red; -1 (unknown) where the probability is NaN."""
    probability = np.asarray(probability, dtype=float)
    light = np.searchsorted(np.asarray(thresholds), probability, side="right").astype(np.int8)  # NaN: set below
    light[np.isnan(probability)] = UNKNOWN_LIGHT
    return light


def score_risk(
    model: RiskModel, features: np.ndarray, thresholds: tuple[float, float] = DEFAULT_LIGHT_THRESHOLDS, top_k: int = 3
) -> RiskScores:
    """Probability, traffic light and the top contributing factors for every learner at once.

    `features` has one column per name in model.features (LearnerMetrics.features(model.features)).
    """
    X = np.asarray(features, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(model.features):
        raise ValueError(
            f"the {model.kind} model scores {len(model.features)} columns {model.features}; "
            "build them with LearnerMetrics.features(model.features)"
        )
    if model.kind == "cold_start":
        contributions = cold_start.contributions(X)
        intercept, known = cold_start.INTERCEPT, cold_start.known(X)
    else:
        X = np.where(np.isnan(X), model.mean, X)
        contributions = (X - model.mean) / model.scale * model.coef
        intercept, known = model.intercept, np.ones(len(X), dtype=bool)
    probability = np.where(known, 1.0 / (1.0 + np.exp(-(intercept + contributions.sum(axis=1)))), np.nan)
    light = risk_lights(probability, thresholds)  # NaN exactly where not known
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top_k]
    top = np.where((np.take_along_axis(contributions, order, axis=1) > 0) & known[:, None], order, -1)
    return RiskScores(probability, light, contributions, top, model.kind)
