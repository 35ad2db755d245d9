"""Unusual learners: IsolationForest over feature vectors, for patterns no rule names."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest


@dataclass(frozen=True)
class Anomalies:
    score: np.ndarray  # higher = more unusual (negated sklearn score_samples)
    flagged: np.ndarray  # bool: among the `contamination` most unusual


def detect_anomalies(features: np.ndarray, contamination: float = 0.02, seed: int = 0) -> Anomalies:
    """Robust-scale each feature (median/IQR, NaN -> median), then isolate the outliers."""
    X = np.asarray(features, dtype=float)
    if len(X) < 10:
        return Anomalies(np.zeros(len(X)), np.zeros(len(X), dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature nobody has yet
        median = np.nan_to_num(np.nanmedian(X, axis=0))
    X = np.where(np.isnan(X), median, X)
    spread = np.subtract(*np.percentile(X, [75, 25], axis=0))
    spread[spread == 0] = 1.0
    forest = IsolationForest(n_estimators=100, contamination=contamination, random_state=seed).fit(
        (X - median) / spread
    )
    scaled = (X - median) / spread
    return Anomalies(-forest.score_samples(scaled), forest.predict(scaled) == -1)
