"""The isolation forest grown with numpy agrees with scikit-learn's IsolationForest as well as two seeds of
scikit-learn's agree with each other (the two differ only in their random draws), and it is much cheaper."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.ensemble import IsolationForest

from analytics.anomaly import average_path_length, detect_anomalies


def sklearn_anomalies(features: np.ndarray, contamination: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's forest on the same robust scaling detect_anomalies applies."""
    median = np.nanmedian(features, axis=0)
    X = np.where(np.isnan(features), median, features)
    spread = np.subtract(*np.percentile(X, [75, 25], axis=0))
    spread[spread == 0] = 1.0
    scaled = (X - median) / spread
    forest = IsolationForest(n_estimators=100, contamination=contamination, random_state=seed).fit(scaled)
    return -forest.score_samples(scaled), forest.predict(scaled) == -1


def cohort(n: int, seed: int) -> np.ndarray:
    """Learners' features: most alike, 5% far off in a few features, a count feature with ties, a constant."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    odd = rng.choice(n, max(1, n // 20), replace=False)
    X[odd, :4] += rng.choice([-1, 1], size=(len(odd), 4)) * rng.uniform(3, 6, size=(len(odd), 4))
    X[:, 5] = np.round(X[:, 5])
    X[:, 6] = 1.0
    X[rng.random(n) < 0.1, 7] = np.nan
    return X


@pytest.mark.parametrize("n", [30, 200, 1000])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_and_flags_agree_with_scikit_learn_as_its_own_seeds_do(n, seed):
    X = cohort(n, seed)
    ours = detect_anomalies(X, contamination=0.05, seed=0)
    theirs, theirs_flagged = sklearn_anomalies(X, 0.05, 0)
    other, other_flagged = sklearn_anomalies(X, 0.05, 1)
    between_seeds = spearmanr(theirs, other)[0]
    assert spearmanr(ours.score, theirs)[0] >= min(0.8, between_seeds - 0.05)
    assert ours.flagged.sum() == theirs_flagged.sum()  # the same share is flagged
    overlap, seeds_overlap = (ours.flagged & theirs_flagged).sum(), (other_flagged & theirs_flagged).sum()
    assert overlap >= seeds_overlap - max(1, n // 100)
    assert np.abs(ours.score.mean() - theirs.mean()) < 0.03  # the same scale: 2^(-path / c(n))


def test_the_planted_outliers_are_the_ones_flagged():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 10))
    X[:5] += 8.0
    found = detect_anomalies(X, contamination=0.05)
    assert found.flagged[:5].all() and found.flagged.sum() == 10
    assert found.score[:5].min() > np.sort(found.score[5:])[-3]


def test_small_and_degenerate_cohorts():
    assert detect_anomalies(np.ones((5, 3))).flagged.tolist() == [False] * 5
    same = detect_anomalies(np.ones((40, 3)), contamination=0.05)  # nothing to isolate: nobody stands out
    assert not same.flagged.any() and np.ptp(same.score) == 0
    assert average_path_length(np.array([1, 2, 256])).round(4).tolist() == [0.0, 1.0, 10.2448]


def test_repeatable_and_cheaper_than_scikit_learn():
    X = cohort(200, 4)
    assert np.array_equal(detect_anomalies(X, 0.05).score, detect_anomalies(X, 0.05).score)
    started = time.process_time()
    for _ in range(3):
        detect_anomalies(X, 0.05)
    ours = time.process_time() - started
    started = time.process_time()
    sklearn_anomalies(X, 0.05, 0)
    assert ours < time.process_time() - started  # three of ours in less CPU than one of theirs
