"""The cold-start coefficients are fitted, reproducibly, and calibrated on populations they were not fitted on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics import cold_start
from analytics.risk import risk_lights
from analytics.risk_fit import (
    FIT_PATH,
    TRAINING_SEED,
    VALIDATION_SEED,
    fit_cold_start,
    fit_monotone_logistic,
    population_signals,
    quality,
)


def test_stored_coefficients_are_what_the_documented_fit_produces():
    stored = json.loads(FIT_PATH.read_text())
    refit = fit_cold_start()
    assert refit["coefficients"] == pytest.approx(stored["coefficients"], abs=2e-3)
    assert refit["intercept"] == pytest.approx(stored["intercept"], abs=2e-3)
    assert stored["provenance"]["training_seed"] == TRAINING_SEED != VALIDATION_SEED
    assert cold_start.COEFFICIENTS.tolist() == stored["coefficients"] and min(stored["coefficients"]) >= 0


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_probabilities_are_calibrated_on_fresh_seeds(seed):
    """10 quantile bins of ~600 learners: a bin's observed share has sd <= 0.02, so 0.08 is a 4-sd allowance."""
    S, y, known = population_signals(6000, seed)
    p = 1 / (1 + np.exp(-(cold_start.INTERCEPT + S[known] @ cold_start.COEFFICIENTS)))
    measured = quality(p, y[known])
    assert measured["largest_calibration_gap"] < 0.08, measured
    assert abs(p.mean() - y[known].mean()) < 0.02  # calibration-in-the-large
    assert measured["roc_auc"] > 0.8 and measured["brier"] < 0.13


def test_the_fit_recovers_known_monotone_coefficients():
    rng = np.random.default_rng(4)
    X = rng.exponential(1.0, (20000, 3))
    truth = np.array([1.5, 0.0, 0.7])
    y = rng.random(20000) < 1 / (1 + np.exp(-(-2.0 + X @ truth)))
    coef, intercept = fit_monotone_logistic(X, y, ridge=0.0)
    assert coef == pytest.approx(truth, abs=0.1) and intercept == pytest.approx(-2.0, abs=0.1)
    negative = fit_monotone_logistic(X, rng.random(20000) < 1 / (1 + np.exp(X[:, 0] - 1)))[0]
    assert negative[0] == 0.0  # a protective effect is not allowed to enter as a risk: it is pinned at 0


def test_lights_and_cold_start_knowledge_read_missing_and_infinite_values_as_nan_to_num_would():
    """risk_lights and cold_start.known compare without nan_to_num: NaN compares False (as its 0 would against their
    positive thresholds) and +-inf as its +-max; the same answers for any input."""
    rng = np.random.default_rng(2)
    for _ in range(1000):
        n = int(rng.integers(1, 20))
        X = rng.normal(5, 6, (n, len(cold_start.FEATURES)))
        draw = rng.random(X.shape)
        X[draw < 0.15], X[(draw >= 0.15) & (draw < 0.18)], X[(draw >= 0.18) & (draw < 0.2)] = np.nan, np.inf, -np.inf
        a, i = (X[:, cold_start.FEATURES.index(name)] for name in ("assessments", "days_since_activity"))
        want = (np.nan_to_num(a) >= cold_start.MIN_ASSESSMENTS) | (np.nan_to_num(i) >= cold_start.INACTIVE_KNOWN_DAYS)
        assert np.array_equal(cold_start.known(X), want)
        p = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-0.2, 1.2, n))
        p[rng.random(n) < 0.05], p[rng.random(n) < 0.05] = np.inf, -np.inf
        lights = np.searchsorted(np.asarray((0.3, 0.6)), np.nan_to_num(p), side="right").astype(np.int8)
        lights[np.isnan(p)] = -1
        assert np.array_equal(risk_lights(p, (0.3, 0.6)), lights)
