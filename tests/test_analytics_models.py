"""Models on synthetic cohorts with planted patterns: the planted learners must come out on top."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from analytics.anomaly import detect_anomalies
from analytics.learner_metrics import compute_learner_metrics
from analytics.risk import FEATURES, RiskModel, cold_start_model, score_risk, train_risk_model
from analytics.synthetic import PROFILES, generate_cohort

AT_RISK = [PROFILES.index(name) for name in ("decliner", "dropout", "stagnator")]


@pytest.fixture(scope="module")
def history():
    cohort = generate_cohort(3000, events_per_learner=80, seed=11)
    return compute_learner_metrics(cohort.events, cohort.now).features(), np.isin(cohort.profile, AT_RISK).astype(int)


@pytest.fixture(scope="module")
def current():
    cohort = generate_cohort(2000, events_per_learner=80, seed=12)
    return compute_learner_metrics(cohort.events, cohort.now).features(), cohort.profile


def test_trained_model_ranks_planted_learners_first(history, current):
    model = train_risk_model(*history)
    assert model.kind == "trained"
    assert model.quality["roc_auc"] > 0.9 and model.quality["brier"] < 0.1
    assert len(model.quality["calibration"]["predicted"]) == 5
    X, profile = current
    risk = score_risk(model, X)
    planted = np.isin(profile, AT_RISK)
    top = np.argsort(-risk.probability)[: planted.sum()]
    assert planted[top].mean() > 0.85
    for name in ("decliner", "dropout", "stagnator"):  # each planted kind, not only the easiest one
        assert np.median(risk.probability[profile == PROFILES.index(name)]) > 3 * np.median(
            risk.probability[profile == 0]
        )
    assert roc_auc_score(planted, risk.probability) > 0.9


def test_every_score_explains_itself(history, current):
    model = train_risk_model(*history)
    X, profile = current
    risk = score_risk(model, X, thresholds=(0.3, 0.6), top_k=3)
    assert set(np.unique(risk.light)) <= {0, 1, 2}
    assert np.all((risk.probability >= 0.6) == (risk.light == 2))
    dropouts = np.flatnonzero(profile == PROFILES.index("dropout"))
    named = [FEATURES[i] for i in risk.top_factors[dropouts, 0] if i >= 0]
    assert max(set(named), key=named.count) in (
        "days_since_activity",
        "days_since_progress",
        "engagement",
        "active_day_share",
        "activities_per_day",
    )
    assert np.allclose(
        risk.contributions.sum(axis=1) + model.intercept, np.log(risk.probability / (1 - risk.probability))
    )


def test_cold_start_when_history_is_thin(current):
    X, profile = current
    few = train_risk_model(X[:50], np.isin(profile[:50], AT_RISK).astype(int))
    assert few.kind == "cold_start" and few.quality["samples"] == 50
    one_class = train_risk_model(X, np.zeros(len(X)))
    assert one_class.kind == "cold_start"
    risk = score_risk(cold_start_model(), X)
    assert roc_auc_score(np.isin(profile, AT_RISK), risk.probability) > 0.75


def test_model_round_trips_through_json(history):
    model = train_risk_model(*history)
    again = RiskModel.from_dict(model.to_dict())
    X = history[0][:20]
    assert np.allclose(score_risk(model, X).probability, score_risk(again, X).probability)


def test_missing_features_are_neutral():
    model = cold_start_model()
    risk = score_risk(model, np.full((1, len(FEATURES)), np.nan))
    assert risk.contributions.tolist() == [[0.0] * len(FEATURES)]
    assert risk.top_factors.tolist() == [[-1, -1, -1]]


def test_anomalies_flag_unusual_learners_more_than_steady_ones(current):
    X, profile = current
    found = detect_anomalies(X, contamination=0.05, seed=0)
    assert found.flagged.mean() == pytest.approx(0.05, abs=0.01)
    steady_rate = found.flagged[profile == 0].mean()
    unusual_rate = found.flagged[np.isin(profile, [PROFILES.index("dropout"), PROFILES.index("inconsistent")])].mean()
    assert unusual_rate > 5 * max(steady_rate, 0.001)
    assert detect_anomalies(X[:5]).flagged.tolist() == [False] * 5
