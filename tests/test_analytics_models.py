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


@pytest.fixture(scope="module")
def cold_cohort():
    cohort = generate_cohort(3000, events_per_learner=80, seed=13)
    metrics = compute_learner_metrics(cohort.events, cohort.now)
    return metrics.features(cold_start_model().features), cohort.profile


def test_cold_start_ranks_another_generators_slipping_learners_first(cold_cohort):
    """Out of sample twice over: analytics.synthetic is not the population the coefficients were fitted on."""
    X, profile = cold_cohort
    risk = score_risk(cold_start_model(), X)
    assert risk.model == "cold_start" and not np.isnan(risk.probability).any()  # 80 events: everyone is known
    planted = np.isin(profile, [PROFILES.index("decliner"), PROFILES.index("dropout")])
    versus_steady = planted | (profile == PROFILES.index("steady"))
    assert roc_auc_score(planted[versus_steady], risk.probability[versus_steady]) > 0.95
    assert (risk.light[profile == PROFILES.index("dropout")] == 2).mean() > 0.9
    assert np.median(risk.probability[profile == PROFILES.index("steady")]) < 0.2


def test_cold_start_effects_are_monotone_and_documented():
    model = cold_start_model()
    base = np.array([[75.0, 0.0, 1.0, 2.0, 1.0, 1.0, 2.0, 10.0]])  # a typical engaged learner
    p0 = score_risk(model, base).probability[0]
    assert p0 < 0.1
    for column, worse in [(0, 55.0), (1, 20.0), (2, 14.0), (3, 0.5), (4, 0.2), (5, 20.0)]:
        X = base.copy()
        steps = np.linspace(X[0, column], worse, 6)
        X = np.repeat(X, 6, axis=0)
        X[:, column] = steps
        p = score_risk(model, X).probability
        assert np.all(np.diff(p) >= 0) and p[-1] > p0, model.features[column]
    assert set(model.quality["signals"]) == {
        "below_pass",
        "baseline_drop",
        "inactive_weeks",
        "engagement_fall",
        "pace_gap",
        "stalled_weeks",
        "silence_surprise",
    }
    assert model.quality["provenance"]["training_seed"] not in (1, 2, 3)  # never a bench evaluation seed


def test_features_of_another_model_are_refused(history):
    with pytest.raises(ValueError, match="LearnerMetrics.features"):
        score_risk(cold_start_model(), history[0][:5])  # FEATURES columns, not the cold-start model's


def test_too_little_data_is_unknown_not_red():
    model = cold_start_model()
    newcomer = [np.nan, np.nan, 0.5, 0.0, 0.0, 0.5, 0.5, 1.0]  # one assessment, seen half a day ago
    vanished = [np.nan, np.nan, 12.0, 0.0, 0.0, 12.0, 1.0, 1.0]  # one assessment, daily until 12 days ago
    occasional = [np.nan, np.nan, 12.0, 0.0, 0.0, 12.0, 0.1, 1.0]  # the same silence, one activity in 10 days
    risk = score_risk(model, np.array([newcomer, vanished, occasional]))
    assert np.isnan(risk.probability[0]) and risk.light[0] == -1 and risk.top_factors[0].tolist() == [-1, -1, -1]
    assert risk.light[1] == 2 and risk.light[2] >= 1  # a silence is data: never grey, and worse for the regular
    assert risk.probability[1] > risk.probability[2]
    assert model.features[risk.top_factors[1, 0]] == "days_since_activity"


def test_model_round_trips_through_json(history):
    model = train_risk_model(*history)
    again = RiskModel.from_dict(model.to_dict())
    X = history[0][:20]
    assert np.allclose(score_risk(model, X).probability, score_risk(again, X).probability)


def test_missing_features_are_neutral(history):
    model = train_risk_model(*history)
    risk = score_risk(model, np.full((1, len(FEATURES)), np.nan))
    assert risk.contributions.tolist() == [[0.0] * len(FEATURES)] and risk.model == "trained"
    assert risk.top_factors.tolist() == [[-1, -1, -1]]
    cold = score_risk(cold_start_model(), np.full((1, len(cold_start_model().features)), np.nan))
    assert cold.contributions.tolist() == [[0.0] * len(cold_start_model().features)]


def test_anomalies_flag_unusual_learners_more_than_steady_ones(current):
    X, profile = current
    found = detect_anomalies(X, contamination=0.05, seed=0)
    assert found.flagged.mean() == pytest.approx(0.05, abs=0.01)
    steady_rate = found.flagged[profile == 0].mean()
    unusual_rate = found.flagged[np.isin(profile, [PROFILES.index("dropout"), PROFILES.index("inconsistent")])].mean()
    assert unusual_rate > 5 * max(steady_rate, 0.001)
    assert detect_anomalies(X[:5]).flagged.tolist() == [False] * 5
