"""Forecasts with honest uncertainty: course completion dates and next scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytics.scores import Regression

# Weak Gamma prior on a learner's module-completion rate (per day): mean 1/7, worth one module.
PRIOR_SHAPE = 1.0
PRIOR_DAYS = 7.0


@dataclass(frozen=True)
class CompletionForecast:
    """Days from now until the remaining modules are done (NaN where nothing remains)."""

    remaining: np.ndarray  # modules left
    median_days: np.ndarray
    low_days: np.ndarray  # lower end of the interval
    high_days: np.ndarray  # upper end (inf when the rate is essentially unknown)
    probability_by_deadline: np.ndarray  # P(done within deadline_days); 1 when nothing remains
    rate_per_week: np.ndarray  # posterior mean completion rate


def forecast_completion(
    completed: np.ndarray,
    total: np.ndarray,
    exposure_days: np.ndarray,
    deadline_days: np.ndarray | float,
    dispersion: np.ndarray | float = 1.0,
    level: float = 0.8,
) -> CompletionForecast:
    """Completion time from a Gamma-Poisson model of each learner's module-completion rate.

    With c completions over T days, the rate has posterior Gamma(a = a0 + c, b = b0 + T). The
    time to finish r remaining modules is then a scaled beta prime: T_r = b * X / (1 - X) with
    X ~ Beta(r, a), which gives exact quantiles and P(T_r <= deadline). Few data means a small a,
    hence a wide interval. Irregular learners (weekly counts over-dispersed: variance/mean =
    `dispersion` > 1) count as fewer independent observations: a and b are divided by it,
    which keeps the rate's mean but widens the interval.
    """
    completed, total = np.asarray(completed, dtype=float), np.asarray(total, dtype=float)
    exposure = np.maximum(np.asarray(exposure_days, dtype=float), 0.0)
    phi = np.maximum(np.asarray(dispersion, dtype=float), 1.0)
    a = (PRIOR_SHAPE + completed) / phi
    b = (PRIOR_DAYS + exposure) / phi
    remaining = np.maximum(total - completed, 0.0)
    r = np.maximum(remaining, 1.0)  # the Beta needs r > 0; finished learners are masked below
    tail = (1.0 - level) / 2

    def days_at(q: float) -> np.ndarray:
        x = stats.beta.ppf(q, r, a)
        with np.errstate(divide="ignore"):
            return np.where(x < 1, b * x / (1 - x), np.inf)

    deadline = np.asarray(deadline_days, dtype=float)
    probability = stats.beta.cdf(np.maximum(deadline, 0) / (b + np.maximum(deadline, 0)), r, a)
    done = remaining <= 0
    zero = np.zeros_like(remaining)
    return CompletionForecast(
        remaining,
        np.where(done, zero, days_at(0.5)),
        np.where(done, zero, days_at(tail)),
        np.where(done, zero, days_at(1 - tail)),
        np.where(done, 1.0, probability),
        7 * a / b,
    )


def dispersion_index(weekly: np.ndarray) -> np.ndarray:
    """Variance / mean of each row of weekly counts (1 for Poisson-like regularity); 1 without data."""
    weekly = np.asarray(weekly, dtype=float)
    mean = weekly.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = weekly.var(axis=1, ddof=1) / mean if weekly.shape[1] > 1 else np.ones(len(weekly))
    return np.where(np.isfinite(index), np.maximum(index, 1.0), 1.0)


@dataclass(frozen=True)
class ScoreForecast:
    """Predicted score (percent) `horizon` days after each learner's last assessment."""

    predicted: np.ndarray
    low: np.ndarray  # prediction interval, clipped to 0..100
    high: np.ndarray


def forecast_scores(per_day: Regression, last_x: np.ndarray, horizon_days: float, level: float = 0.9) -> ScoreForecast:
    """Linear-trend forecast with the OLS prediction interval for a new observation.

    interval = y_hat +- t(n-2) * s * sqrt(1 + 1/n + (x0 - mean_x)^2 / sxx); NaN below 3 scores.
    `last_x` is each learner's last x in the regression's units (days since first assessment).
    """
    x0 = np.asarray(last_x, dtype=float) + horizon_days
    n = per_day.points.astype(float)
    predicted = per_day.intercept + per_day.slope * x0
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = per_day.residual_std * np.sqrt(1 + 1 / n + (x0 - per_day.mean_x) ** 2 / per_day.sxx)
        t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 2, 1))
    half = np.where(n >= 3, t * spread, np.nan)
    return ScoreForecast(
        np.clip(predicted, 0, 100), np.clip(predicted - half, 0, 100), np.clip(predicted + half, 0, 100)
    )
