"""Score forecasts that allow the trend to have bent inside the window: Bayesian model averaging over bends.

Models for each learner's last `window` scores y at days x (scores noisy with unknown sd sigma):
  M0: y = a + b x                          (no change; the plain recent line)
  Mj: y = a + b x + d max(0, x - x_j)      (the slope changed by d at the learner's j-th score)
for every j with at least MIN_BEFORE scores up to and including the bend and MIN_AFTER after it.
Priors: flat on a, b and log sigma (shared by all models, so they cancel in the comparison),
d ~ N(0, (KAPPA sigma)^2) with KAPPA = TAU / s (s: the learner's noise from successive differences, so
the prior on d is about TAU points a day whatever the noise; a plug-in, the one step that is not exact),
and P(M0) = PRIOR_NO_CHANGE with the rest spread evenly over the bend positions. These are conjugate
(Normal-inverse-gamma), so each model's marginal likelihood and its predictive distribution for a new
score are exact: with A = X'X + diag(0, 0, 1 / KAPPA^2) and R the penalised residual sum of squares,
  log p(y | M) = -(n - 2) / 2 log R - 1/2 log |A| - log KAPPA [Mj only] + const,
  y_new | M ~ t_{n-2}(f' beta, R / (n - 2) (1 + f' A^-1 f)),   f = (1, x0, max(0, x0 - x_j)).
M0 alone gives exactly the OLS prediction interval. The forecast is the posterior-weighted mixture of the
models' predictive distributions: its median as the point forecast. The bend's position is integrated out, not
chosen, so a bend fitted to noise costs a little width, not coverage.

The interval is robust to the prior (epsilon-contamination, Berger 1985, 4.7; Berger and Berliner 1986): the
mixture above is exactly calibrated only on average over its own prior (simulated: 89.6-90.7%), i.e. 92-93% for
learners with no change and 65% for a large change in the last few scores, whose data cannot yet tell it from
noise. So the interval is the narrowest equal-tailed one holding at least `level` of the predictive under every
prior (1 - EPSILON) * stated + EPSILON * q, q any distribution over the models: its ends are the extreme
quantiles over q, reached at q = a single model (the mixture's CDF is a ratio of functions linear in q).
A model the data make plausible (a recent bend) then widens the interval even though the stated prior spreads
it over many positions; a model the data rule out gets no weight from any q. "At least `level` under every
prior in the class" alone over-covers, by more the larger EPSILON; so EPSILON is calibrated: the value at which
the interval covers `level` on average over a reference population of learners whose trend may change once, at
any time their scores could show it (bench/contamination_calibration.py, not the bench's archetypes; the plain
mixture covers 88.1-88.9% there, as it cannot place a change between its last scores). Intervals nest in
EPSILON (a smaller class lies inside a larger one), and the point forecast does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr, stdtrit

from analytics.grouping import SECONDS_PER_DAY, Segments

PRIOR_NO_CHANGE = 0.5  # prior probability that the trend did not bend inside the window
TAU = 3.0  # prior sd of a slope change, points per day (KAPPA = TAU / the learner's noise, see _noise_scale)
MIN_BEFORE = 2  # scores up to and including the bend
MIN_AFTER = 2  # scores after the bend
QUANTILE_TOLERANCE = 1e-3  # points: a thousandth of a score point, far below what is shown (one decimal)
# Prior mass not trusted, calibrated (module doc): the interval covers 90% on average over the reference population
# at 0.075 (28,800 learners, seeds 801-803; seed by seed 0.051-0.087); was 0.1, the literature's customary value.
EPSILON = 0.075


@dataclass(frozen=True)
class BentForecast:
    """Mixture forecast per learner (NaN below 3 scores) and the posterior probability of a bend."""

    predicted: np.ndarray  # mixture median
    low: np.ndarray
    high: np.ndarray
    probability_changed: np.ndarray  # posterior P(some bend inside the window)


def padded_window(
    seg: Segments, times: np.ndarray, values: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each learner's last `window` (x in days from their oldest one, y) as (learners, window) arrays.

    Returns x, y, a mask of real entries (left-aligned, oldest first) and each learner's origin (epoch s).
    """
    n_used = np.minimum(seg.counts, window)
    inside = seg.rank_from_end() < window
    learner = seg.learner[inside]
    col = n_used[learner] - 1 - seg.rank_from_end()[inside]
    t = np.zeros((seg.n_learners, window))
    y = np.zeros((seg.n_learners, window))
    mask = np.zeros((seg.n_learners, window), dtype=bool)
    t[learner, col], y[learner, col], mask[learner, col] = times[inside], values[inside], True
    origin = np.where(n_used > 0, t[:, 0], 0.0)
    x = np.where(mask, (t - origin[:, None]) / SECONDS_PER_DAY, 0.0)
    return x, y, mask, origin


def _designs(x: np.ndarray, mask: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Design matrices (learners, models, window, 3), forecast rows (learners, models, 3) and model validity."""
    n_learners, window = x.shape
    n = mask.sum(axis=1)
    bends = np.arange(MIN_BEFORE - 1, window - MIN_AFTER)  # index of the bend score, oldest = 0
    knots = np.concatenate([np.zeros((n_learners, 1)), x[:, bends]], axis=1)  # (learners, models)
    design = np.zeros((n_learners, len(bends) + 1, window, 3))
    design[..., 0] = mask[:, None, :]
    design[..., 1] = x[:, None, :] * mask[:, None, :]
    design[:, 1:, :, 2] = np.maximum(x[:, None, :] - knots[:, 1:, None], 0) * mask[:, None, :]
    row = np.stack(
        [np.ones_like(knots), np.broadcast_to(x0[:, None], knots.shape), np.maximum(x0[:, None] - knots, 0)], axis=-1
    )
    row[:, 0, 2] = 0.0
    valid = np.concatenate([np.ones((n_learners, 1), bool), bends[None, :] <= (n[:, None] - 1 - MIN_AFTER)], axis=1)
    return design, row, valid & (n >= 3)[:, None]


def _noise_scale(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each learner's noise sd from successive differences (mean squared difference / 2, at least 1 point)."""
    both = mask[:, 1:] & mask[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mssd = ((np.diff(y, axis=1) ** 2) * both).sum(axis=1) / both.sum(axis=1)
    return np.sqrt(np.maximum(np.nan_to_num(mssd / 2, nan=1.0), 1.0))


def _model_predictives(design: np.ndarray, y: np.ndarray, row: np.ndarray, n: np.ndarray, kappa: np.ndarray):
    """Per learner and model: log marginal likelihood (up to a shared constant), predictive centre and scale."""
    penalty = np.zeros(design.shape[:2] + (3, 3))
    penalty[:, :, 2, 2] = 1 / kappa[:, None] ** 2
    penalty[:, 0, 2, 2] = 1.0  # M0: no bend column, so d stays 0; its term is removed below
    gram = np.einsum("lmwi,lmwj->lmij", design, design) + penalty
    gram += np.eye(3) * np.where(n < 3, 1.0, 1e-9)[:, None, None, None]  # invertible always; NaN out below 3
    moment = np.einsum("lmwi,lw->lmi", design, y)
    beta = np.linalg.solve(gram, moment[..., None])[..., 0]
    fitted = np.einsum("lmwi,lmi->lmw", design, beta)
    resid = np.where(design[..., 0] > 0, y[:, None, :] - fitted, 0.0)
    r = (resid**2).sum(axis=-1) + beta[..., 2] ** 2 * penalty[..., 2, 2] * (np.arange(design.shape[1]) > 0)
    r = np.maximum(r, 1e-9)
    _, logdet = np.linalg.slogdet(gram)
    dof = np.maximum(n - 2, 1)[:, None]
    log_ml = -dof / 2 * np.log(r) - logdet / 2 - np.log(kappa)[:, None] * (np.arange(design.shape[1]) > 0)
    leverage = np.einsum("lmi,lmi->lm", row, np.linalg.solve(gram, row[..., None])[..., 0])
    centre = np.einsum("lmi,lmi->lm", row, beta)
    scale = np.sqrt(r / dof * (1 + leverage))
    return log_ml, centre, scale


def _bisect(cdf: Callable[[np.ndarray], np.ndarray], q: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row k of (rows, learners) brackets: the smallest x in [low, high] with cdf(x)[k] >= q[k] for a
    non-decreasing cdf, to QUANTILE_TOLERANCE. The rows halve in one pass (one cdf call for all of them: on one
    learner numpy's cost per call, not per value, dominates), each row stopping when all of its own brackets are
    that narrow, so every row takes exactly the steps, and gives exactly the values, of a bisection of its own."""
    if low.shape[1] == 1:
        return _bisect_one(cdf, q, low, high)
    q = q[:, None]
    for _ in range(60):  # halves the brackets until they are QUANTILE_TOLERANCE wide (~15-20 steps; never 60)
        open_ = np.logical_or.reduce(high - low > QUANTILE_TOLERANCE, axis=1)  # ndarray.any's wrapper costs more
        rows = open_.tolist()
        if not any(rows):
            break
        mid = (low + high) / 2
        below = cdf(mid) < q
        if all(rows):
            low, high = np.where(below, mid, low), np.where(below, high, mid)
        else:  # a row that is narrow enough keeps its brackets
            step = open_[:, None]
            low, high = np.where(below & step, mid, low), np.where(step & ~below, mid, high)
    return (low + high) / 2


def _bisect_one(
    cdf: Callable[[np.ndarray], np.ndarray], q: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """_bisect for one learner ((rows, 1) brackets), its brackets kept as Python floats: the same IEEE halvings and
    comparisons, so the same steps and values, without ~8 numpy calls a step on 3 values (a dashboard open
    forecasts one learner: ~16 steps)."""
    lows, highs, qs = low[:, 0].tolist(), high[:, 0].tolist(), q.tolist()
    for _ in range(60):
        steps = [b - a > QUANTILE_TOLERANCE for a, b in zip(lows, highs)]
        if not any(steps):
            break
        mids = [(a + b) / 2 for a, b in zip(lows, highs)]
        values = cdf(np.array(mids)[:, None])[:, 0].tolist()
        for row, step in enumerate(steps):
            if step and values[row] < qs[row]:
                lows[row] = mids[row]
            elif step:  # not below q, or NaN (as np.where(cdf < q, ...) takes it)
                highs[row] = mids[row]
    return np.array([[(a + b) / 2] for a, b in zip(lows, highs)])


def _quantiles(
    prior: np.ndarray,
    log_ml: np.ndarray,
    weights: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    dof: np.ndarray,
    level: float,
    epsilon: float | np.ndarray,
) -> np.ndarray:
    """The mixture's median and the robust interval's ends (rows 0, 1, 2 of the result, per learner).

    The median: the 0.5-quantile of sum_k w_k t_dof(centre_k, scale_k) over the models (learners, models). The
    ends: the lowest lower and highest upper (1 -+ level) / 2 quantile over the contaminated priors (module doc).
    Under the prior (1 - epsilon) * prior + epsilon * [model k] the mixture's CDF is
    (S(x) + epsilon f_k F_k(x)) / (S + epsilon f_k), S(x) = sum_j (1 - epsilon) prior_j f_j F_j(x) (f: Bayes factors
    against the best model, F: the models' predictive CDFs). The lowest quantile over k is where the largest of
    these CDFs reaches the tail, the highest where the smallest does: one bisection each, over the models' CDFs,
    instead of one per k. Each is bisected between the lowest and highest of its components' own quantiles."""
    factor = np.exp(log_ml - log_ml.max(axis=1, keepdims=True))  # invalid models (log_ml = -inf): 0
    share = np.broadcast_to(np.asarray(epsilon, dtype=float), factor.shape[:1])[:, None]  # one per learner
    stated = (1 - share) * prior * factor  # (learners, models)
    point = share * factor  # the contamination's mass on model k, as a weight beside `stated`
    total = stated.sum(axis=1, keepdims=True) + point  # (learners, k)
    tail = (1 - level) / 2
    q = np.array([0.5, tail, 1 - tail])
    mass = np.stack([weights, stated, stated])  # what each row's sum weighs the models' CDFs by
    used = np.stack([weights > 0, (stated > 0) | (point > 0), (stated > 0) | (point > 0)])
    own = centre + scale * stdtrit(dof[None, :, None], q[:, None, None])  # each component's own quantile
    low, high = np.where(used, own, np.inf).min(axis=-1), np.where(used, own, -np.inf).max(axis=-1)
    t_dof = dof[:, None]

    def cdfs(x: np.ndarray) -> np.ndarray:
        cdf = stdtr(t_dof, (x[..., None] - centre) / scale)  # (rows, learners, models)
        sums = np.add.reduce(mass * cdf, axis=-1)  # the mixture's CDF (row 0), S(x) (rows 1, 2); as .sum, unwrapped
        bound = (sums[1:, :, None] + point * cdf[1:]) / total  # (2, learners, k)
        np.maximum.reduce(bound[0], axis=-1, out=sums[1])  # as .max and .min, unwrapped
        np.minimum.reduce(bound[1], axis=-1, out=sums[2])
        return sums

    return _bisect(cdfs, q, low, high)


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """scipy.special.logsumexp(a, axis=1, keepdims=True) for real `a`, step by step as scipy 1.17 computes it (so
    the same numbers: tests/test_analytics_change_point_numbers.py compares them), without its array-API dispatch, which
    cost one learner's forecast ~4x the arithmetic: the largest terms apart, log1p of the rest's shifted sum; where
    that is not finite, the direct log of the sum."""
    direct = np.log(np.add.reduce(np.exp(a), axis=1, keepdims=True))
    top = np.maximum.reduce(a, axis=1, keepdims=True)
    at_top = a == top
    count = np.add.reduce(at_top.astype(float), axis=1, keepdims=True)
    rest = np.add.reduce(np.exp(np.where(at_top, -np.inf, a) - top), axis=1, keepdims=True)
    out = np.log1p(np.where(rest == 0, rest, rest / count)) + np.log(count) + top
    return np.where(np.isfinite(out), out, direct)


def _prior(valid: np.ndarray) -> np.ndarray:
    """P(M0) = PRIOR_NO_CHANGE, the rest spread evenly over the valid bend positions; all on M0 when none is."""
    bends = valid[:, 1:].sum(axis=1, keepdims=True)
    prior = np.where(valid, (1 - PRIOR_NO_CHANGE) / np.maximum(bends, 1), 0.0)
    prior[:, 0] = np.where(bends[:, 0] > 0, PRIOR_NO_CHANGE, 1.0)
    return prior


def forecast_with_bends(
    seg: Segments,
    times: np.ndarray,
    percent: np.ndarray,
    now: float,
    window: int,
    horizon_days: float,
    level: float,
    epsilon: float | np.ndarray = EPSILON,
) -> BentForecast:
    """Score `horizon_days` after `now`: the model average over no bend and every bend position, its interval
    robust to `epsilon` of the prior (module doc; a value or one per learner; 0 gives the plain mixture's quantiles)."""
    x, y, mask, origin = padded_window(seg, np.asarray(times, float), np.asarray(percent, float), window)
    n = mask.sum(axis=1)
    x0 = (now - origin) / SECONDS_PER_DAY + horizon_days
    design, row, valid = _designs(x, mask, x0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_ml, centre, scale = _model_predictives(design, y, row, n, TAU / _noise_scale(y, mask))
        prior = _prior(valid)
        log_ml = np.where(valid, log_ml, -np.inf)
        log_post = log_ml + np.log(prior)
        weights = np.where(valid, np.exp(log_post - _logsumexp_rows(log_post)), 0.0)
        centre, scale = np.where(valid, centre, 0.0), np.where(valid, scale, 1.0)
        dof = np.maximum(n - 2, 1).astype(float)
        mid, low, high = _quantiles(prior, log_ml, weights, centre, scale, dof, level, epsilon)
    ok = (n >= 3) & (np.ptp(np.where(mask, x, x[:, :1]), axis=1) > 0)  # as OLS: NaN where x does not vary
    nan = np.full(len(n), np.nan)
    return BentForecast(
        np.where(ok, mid, nan), np.where(ok, low, nan), np.where(ok, high, nan), np.where(ok, 1 - weights[:, 0], nan)
    )
