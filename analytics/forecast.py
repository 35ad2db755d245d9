"""Forecasts with honest uncertainty: course completion dates and next scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analytics.change_point import EPSILON, forecast_with_bends
from analytics.grouping import SECONDS_PER_DAY, Segments
from analytics.scores import RecentWindow, Regression, fit_lines, recent_window

# Fallback Gamma prior on a learner's module-completion rate (per day): mean 1/7, worth one module;
# used only when a course has too few learners for its own (empirical Bayes) prior, see cohort_prior.
PRIOR_SHAPE = 1.0
PRIOR_DAYS = 7.0
MIN_COHORT = 5  # learners with a week of exposure needed for a course's own prior
MAX_PRIOR_DAYS = 28.0  # the cohort prior never weighs more than four weeks of the learner's own data
DISPERSION_PRIOR_WEEKS = 4.0  # the dispersion estimate is shrunk toward 1 (Poisson) as if by 4 weeks
DISPERSION_RANGE = (0.1, 20.0)
GAP_PRIOR = 2.0  # gap_dispersion shrinks CV^2 toward 1 as if by 2 more gaps


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
    prior_shape: np.ndarray | float = PRIOR_SHAPE,
    prior_days: np.ndarray | float = PRIOR_DAYS,
) -> CompletionForecast:
    """Completion time from a Gamma-Poisson model of each learner's module-completion rate.

    With c completions over T days and a Gamma(a0, b0) prior (the course's, from cohort_prior),
    the rate has posterior Gamma(a = a0 + c / phi, b = b0 + T / phi). The time to finish r
    remaining modules, given the rate, is Gamma(r / phi, rate / phi) (mean r / rate, variance
    phi * r / rate^2: a renewal process as regular as the learner's past), so T_r = b * phi * X / (1 - X)
    with X ~ Beta(r / phi, a), a scaled beta prime with exact quantiles and P(T_r <= deadline).
    Few data means a small a, hence a wide interval. phi = `dispersion` (variance / mean of weekly
    counts, estimated by dispersion_index) says how many Poisson observations the learner's data is
    worth: bursty learners (phi > 1) count as fewer, regular ones (phi < 1) as more.
    """
    completed, total = np.asarray(completed, dtype=float), np.asarray(total, dtype=float)
    exposure = np.maximum(np.asarray(exposure_days, dtype=float), 0.0)
    phi = np.clip(np.asarray(dispersion, dtype=float), *DISPERSION_RANGE)
    a = prior_shape + completed / phi
    b = prior_days + exposure / phi
    remaining = np.maximum(total - completed, 0.0)
    r = np.maximum(remaining, 1.0) / phi  # the future is as regular as the past: r / phi effective events
    scale = b * phi
    tail = (1.0 - level) / 2

    def days_at(q: float) -> np.ndarray:
        x = special.betaincinv(r, a, q)  # stats.beta.ppf's own function, without its per-call checks
        with np.errstate(divide="ignore"):
            return np.where(x < 1, scale * x / (1 - x), np.inf)

    deadline = np.maximum(np.asarray(deadline_days, dtype=float), 0)
    probability = special.betainc(r, a, deadline / (scale + deadline))  # stats.beta.cdf
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


def dispersion_index(weekly: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
    """Variance / mean of each row of weekly counts, shrunk toward 1 (Poisson); 1 without data.

    `observed` masks the weeks the learner was enrolled (weeks before their first event are not
    zeros of a slow learner). Not floored at 1: a learner finishing one module every week is
    under-dispersed and gets a narrower interval. The raw index over k weeks has about k - 1
    degrees of freedom; it is averaged with 1 weighted as DISPERSION_PRIOR_WEEKS weeks.
    """
    weekly = np.asarray(weekly, dtype=float)
    observed = np.ones(weekly.shape, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    k = observed.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (weekly * observed).sum(axis=1) / k
        var = (((weekly - mean[:, None]) * observed) ** 2).sum(axis=1) / (k - 1)
        index = var / mean
    dof = np.where(np.isfinite(index) & (k > 1), k - 1, 0.0)
    index = np.where(dof > 0, index, 1.0)
    return np.clip((dof * index + DISPERSION_PRIOR_WEEKS) / (dof + DISPERSION_PRIOR_WEEKS), *DISPERSION_RANGE)


def gap_dispersion(pair: np.ndarray, times: np.ndarray, n_pairs: int) -> np.ndarray:
    """Regularity of each learner's completions: squared coefficient of variation of the gaps between them.

    For a renewal process the variance / mean of counts tends to CV^2 of the gaps (1 for Poisson,
    1/k for Gamma(k) gaps), and a dozen gaps say far more than a handful of weekly counts. `pair`
    and `times` (seconds) are the completions, sorted by pair then time. Shrunk toward 1 as
    GAP_PRIOR pseudo-gaps; 1 without two gaps.
    """
    pair, times = np.asarray(pair, dtype=np.int64), np.asarray(times, dtype=float)
    same = pair[1:] == pair[:-1]
    owner, gap = pair[1:][same], np.diff(times)[same]
    n = np.bincount(owner, minlength=n_pairs).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(owner, weights=gap, minlength=n_pairs) / n
        var = np.bincount(owner, weights=(gap - mean[owner]) ** 2, minlength=n_pairs) / (n - 1)
        cv2 = var / mean**2
    dof = np.where(np.isfinite(cv2) & (n >= 2), n - 1, 0.0)
    cv2 = np.where(dof > 0, cv2, 1.0)
    return np.clip((dof * cv2 + GAP_PRIOR) / (dof + GAP_PRIOR), *DISPERSION_RANGE)


def cohort_prior(
    group: np.ndarray, completed: np.ndarray, exposure_days: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical Bayes Gamma(shape, days) prior on the completion rate of each group (course).

    Method of moments over the group's learners with at least 7 days of exposure: the pooled
    rate m = sum c / sum T, the between-learner variance v = var(c / T) - m * mean(1 / T) (the
    Poisson part removed). shape = m^2 / v, days = m / v, with days capped at MAX_PRIOR_DAYS
    (shape scaled to keep the mean). Groups with fewer than MIN_COHORT such learners, or no
    completions yet, get the fixed fallback prior (PRIOR_SHAPE, PRIOR_DAYS).
    """
    group = np.asarray(group, dtype=np.int64)
    c, t = np.asarray(completed, dtype=float), np.asarray(exposure_days, dtype=float)
    use = t >= 7.0
    g, c, t = group[use], c[use], t[use]
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(g, weights=c, minlength=n_groups) / np.bincount(g, weights=t, minlength=n_groups)
        rate = c / t
        mean_rate = np.bincount(g, weights=rate, minlength=n_groups) / n
        var_rate = np.bincount(g, weights=(rate - mean_rate[g]) ** 2, minlength=n_groups) / (n - 1)
        poisson = m * np.bincount(g, weights=1 / t, minlength=n_groups) / n
        v = var_rate - poisson
        days = np.where(v > 0, np.minimum(m / v, MAX_PRIOR_DAYS), MAX_PRIOR_DAYS)
    ok = (n >= MIN_COHORT) & (m > 0)
    return np.where(ok, m * days, PRIOR_SHAPE), np.where(ok, days, PRIOR_DAYS)


@dataclass(frozen=True)
class ScoreForecast:
    """Predicted score (percent) `horizon` days after the date the caller counts from (reports: today)."""

    predicted: np.ndarray
    low: np.ndarray  # prediction interval, clipped to 0..100
    high: np.ndarray
    bounded: np.ndarray | None = None  # True where the straight line would leave 0..100 and the bent trend is used
    probability_changed: np.ndarray | None = None  # posterior P(the trend bent inside the scores used); NaN if bounded


def forecast_scores(per_day: Regression, from_x: np.ndarray, horizon_days: float, level: float = 0.9) -> ScoreForecast:
    """Linear-trend forecast with the OLS prediction interval for a new observation.

    interval = y_hat +- t(n-2) * s * sqrt(1 + 1/n + (x0 - mean_x)^2 / sxx); NaN below 3 scores.
    x0 = from_x + horizon_days, where `from_x` is the date the horizon counts from, in the
    regression's units (days since the learner's first assessment): the API passes today.
    """
    x0 = np.asarray(from_x, dtype=float) + horizon_days
    n = per_day.points.astype(float)
    predicted = per_day.intercept + per_day.slope * x0
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = per_day.residual_std * np.sqrt(1 + 1 / n + (x0 - per_day.mean_x) ** 2 / per_day.sxx)
        t = special.stdtrit(np.maximum(n - 2, 1), 0.5 + level / 2)  # stats.t.ppf
    half = np.where(n >= 3, t * spread, np.nan)
    return ScoreForecast(
        np.clip(predicted, 0, 100), np.clip(predicted - half, 0, 100), np.clip(predicted + half, 0, 100)
    )


LOGIT_MARGIN = 1.0  # points: the bent scale maps -1..101, so scores of exactly 0 and 100 stay finite


def to_logit(percent: np.ndarray) -> np.ndarray:
    """Scores on the logit scale of (score + 1) / 102: a straight line there bends to stay inside 0..100."""
    p = (np.asarray(percent, dtype=float) + LOGIT_MARGIN) / (100 + 2 * LOGIT_MARGIN)
    return np.log(p / (1 - p))


def from_logit(z: np.ndarray) -> np.ndarray:
    """Inverse of to_logit, clipped to 0..100."""
    return np.clip((100 + 2 * LOGIT_MARGIN) / (1 + np.exp(-np.asarray(z, dtype=float))) - LOGIT_MARGIN, 0, 100)


def forecast_recent_scores(
    seg: Segments,
    times: np.ndarray,
    percent: np.ndarray,
    now: float,
    window: int,
    horizon_days: float,
    level: float,
    epsilon: float | np.ndarray = EPSILON,
) -> ScoreForecast:
    """Score `horizon_days` after `now` from each learner's recent scores, honest about bends and at 0 and 100.

    Where the straight line through the last `window` scores stays inside 0..100, the forecast is the model
    average over "no bend" and "the slope changed at one of the last 2 * window scores" (analytics.change_point:
    the bend's position integrated out; the interval holds at least `level` under every prior within `epsilon`
    of the stated one, so a recent bend the data make plausible widens it; EPSILON is calibrated to cover `level`
    on average over a reference population; clipped to the scale, as real scores pile up at 100). Where the line
    leaves the scale (an improver at +8 points per score would be "100, range 100-100"), the trend is fitted on
    the logit scale (to_logit: the path bends toward the bound) and the interval is centre +- t * sqrt(s^2 +
    g'^2 * s_z^2 * leverage), s the residual spread in points around the bent path, s_z the logit-scale one, g'
    the slope of from_logit at the centre (delta method). Simulated 90% coverage (tests/test_analytics_forecast.py,
    8 scores): flat, near-100, declining, linear, saturating 90.6-94.3% (plain average 90.1-93.5%, the line 34-91%).
    """
    times, percent = np.asarray(times, dtype=float), np.asarray(percent, dtype=float)
    recent = recent_window(seg, times, window)  # one window for the line and, where it crosses, the logit fit
    line = fit_lines(recent.seg, recent.x, percent[recent.inside])
    x0 = (now - recent.origin) / SECONDS_PER_DAY + horizon_days
    mixed = forecast_with_bends(seg, times, percent, now, 2 * window, horizon_days, level, epsilon)
    with np.errstate(invalid="ignore"):
        raw = line.intercept + line.slope * x0  # the straight line's forecast, unclipped
    crosses = (line.points >= 3) & ((raw < 0) | (raw > 100))
    inside_scale = [np.clip(v, 0, 100) for v in (mixed.predicted, mixed.low, mixed.high)]
    if not crosses.any():  # the bent trend would be computed only to be discarded (most learners, every open)
        return ScoreForecast(inside_scale[0], inside_scale[1], inside_scale[2], crosses, mixed.probability_changed)
    centre, half = _bent_forecast(seg, recent, times, percent, x0, level)
    return ScoreForecast(
        np.where(crosses, centre, inside_scale[0]),
        np.where(crosses, np.clip(centre - half, 0, 100), inside_scale[1]),
        np.where(crosses, np.clip(centre + half, 0, 100), inside_scale[2]),
        crosses,
        np.where(crosses, np.nan, mixed.probability_changed),
    )


def _bent_forecast(
    seg: Segments, recent: RecentWindow, times: np.ndarray, percent: np.ndarray, x0: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """forecast_recent_scores' bent trend: the centre (from_logit of the logit-scale line at x0) and the interval's
    half width, per learner."""
    bent = fit_lines(recent.seg, recent.x, to_logit(percent[recent.inside]))
    x = (times - recent.origin[seg.learner]) / SECONDS_PER_DAY
    fitted = from_logit(bent.intercept[seg.learner] + bent.slope[seg.learner] * x)
    n = bent.points.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(seg.sum(np.where(recent.inside, (percent - fitted) ** 2, 0.0)) / (n - 2))
        z = bent.intercept + bent.slope * x0
        g = (100 + 2 * LOGIT_MARGIN) * np.exp(-z) / (1 + np.exp(-z)) ** 2
        leverage = 1 / n + (x0 - bent.mean_x) ** 2 / bent.sxx
        t = special.stdtrit(np.maximum(n - 2, 1), 0.5 + level / 2)  # stats.t.ppf
        half = t * np.sqrt(s**2 + g**2 * bent.residual_std**2 * leverage)
    return from_logit(z), half
