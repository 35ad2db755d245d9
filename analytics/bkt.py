"""Bayesian Knowledge Tracing: mastery per learner and skill.

Standard BKT (no forgetting): a skill is unlearned or learned; p_init = P(learned before the first
attempt), p_learn = P(unlearned -> learned after an attempt), p_guess = P(correct | unlearned),
p_slip = P(incorrect | learned). `bkt_update` advances a stored mastery by one observation in O(1)
(vectorized over many learner-skill states); `fit_bkt` estimates a skill's parameters from its
history with EM (Baum-Welch), vectorized over sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PARAMETER_BOUNDS = {
    "p_init": (1e-4, 1 - 1e-4),
    "p_learn": (1e-4, 1 - 1e-4),
    "p_guess": (1e-4, 0.5),
    "p_slip": (1e-4, 0.5),
}
MASTERED_AT = 0.95  # P(mastered) from which a skill counts as mastered
DEFAULT_PARAMS: dict[str, Any] = {"p_init": 0.2, "p_learn": 0.15, "p_guess": 0.2, "p_slip": 0.1}


@dataclass(frozen=True)
class BKTParams:
    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    log_likelihood: float = float("nan")
    iterations: int = 0


def bkt_update(
    mastery: np.ndarray,
    correct: np.ndarray,
    p_learn: np.ndarray | float,
    p_guess: np.ndarray | float,
    p_slip: np.ndarray | float,
) -> np.ndarray:
    """Mastery after one more observed attempt: Bayes on the answer, then the chance to learn."""
    mastery = np.asarray(mastery, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    if_correct = mastery * (1 - p_slip) / (mastery * (1 - p_slip) + (1 - mastery) * p_guess)
    if_wrong = mastery * p_slip / (mastery * p_slip + (1 - mastery) * (1 - p_guess))
    posterior = np.where(correct, if_correct, if_wrong)
    return posterior + (1 - posterior) * p_learn


def p_correct(mastery: np.ndarray, p_guess: np.ndarray | float, p_slip: np.ndarray | float) -> np.ndarray:
    """Probability the next attempt is correct."""
    return np.asarray(mastery) * (1 - p_slip) + (1 - np.asarray(mastery)) * p_guess


def to_padded(sequence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observations grouped by sequence id (sorted, in time order) into (n_sequences, T) with a mask."""
    sequence = np.asarray(sequence, dtype=np.int64)
    counts = np.bincount(sequence)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    step = np.arange(len(sequence)) - starts[sequence]
    obs = np.zeros((len(counts), counts.max() if len(counts) else 0), dtype=bool)
    mask = np.zeros_like(obs)
    obs[sequence, step] = np.asarray(correct, dtype=bool)
    mask[sequence, step] = True
    return obs, mask


def replay(obs: np.ndarray, mask: np.ndarray, params: BKTParams) -> np.ndarray:
    """Mastery of every sequence after all its observations (loop over steps, not learners)."""
    mastery = np.full(obs.shape[0], params.p_init)
    for t in range(obs.shape[1]):
        updated = bkt_update(mastery, obs[:, t], params.p_learn, params.p_guess, params.p_slip)
        mastery = np.where(mask[:, t], updated, mastery)
    return mastery


def replay_each(obs: np.ndarray, mask: np.ndarray, params: list[BKTParams]) -> np.ndarray:
    """Like replay, with each sequence's own parameters (params[i] for row i): many skills at once."""
    p_init, p_learn, p_guess, p_slip = (
        np.array([getattr(p, f) for p in params]) for f in ("p_init", "p_learn", "p_guess", "p_slip")
    )
    mastery = p_init.astype(float)
    for t in range(obs.shape[1]):
        mastery = np.where(mask[:, t], bkt_update(mastery, obs[:, t], p_learn, p_guess, p_slip), mastery)
    return mastery


def _emission(obs_t: np.ndarray, guess: float, slip: float) -> np.ndarray:
    """(n, 2) likelihood of each observation under unlearned / learned."""
    return np.stack([np.where(obs_t, guess, 1 - guess), np.where(obs_t, 1 - slip, slip)], axis=1)


def _forward_backward(
    obs: np.ndarray, mask: np.ndarray, prior: float, learn: float, guess: float, slip: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E-step: scaled forward (alpha) and backward (beta) passes over every sequence at once."""
    n, steps = obs.shape
    transition = np.array([[1 - learn, learn], [0.0, 1.0]])
    alpha = np.zeros((steps, n, 2))
    scale = np.ones((steps, n))
    state = np.tile([1 - prior, prior], (n, 1))
    for t in range(steps):
        if t:
            state = np.where(mask[:, t, None], alpha[t - 1] @ transition, alpha[t - 1])
        joint = state * np.where(mask[:, t, None], _emission(obs[:, t], guess, slip), 1.0)
        scale[t] = joint.sum(axis=1)
        alpha[t] = joint / scale[t][:, None]
    beta = np.ones((steps, n, 2))
    for t in range(steps - 2, -1, -1):
        nxt = mask[:, t + 1, None]
        weighted = _emission(obs[:, t + 1], guess, slip) * beta[t + 1] / scale[t + 1][:, None]
        beta[t] = np.where(nxt, weighted @ transition.T, beta[t + 1])
    return alpha, beta, scale


def _maximize(
    obs: np.ndarray, mask: np.ndarray, alpha: np.ndarray, beta: np.ndarray, scale: np.ndarray, params: tuple
) -> tuple[float, float, float, float]:
    """M-step: new (prior, learn, guess, slip) from the expected states and transitions, kept in bounds."""
    _, learn, guess, slip = params
    n, steps = obs.shape
    gamma = alpha * beta
    gamma /= gamma.sum(axis=2, keepdims=True)
    active = mask.T  # (steps, n)
    both = active[1:] & active[:-1]  # expected transitions out of 'unlearned' between observed steps
    xi_learn = (
        alpha[:-1, :, 0]
        * learn
        * _emission(obs[:, 1:].T.reshape(-1), guess, slip)[:, 1].reshape(steps - 1, n)
        * beta[1:, :, 1]
        / scale[1:]
        if steps > 1
        else np.zeros((0, n))
    )
    from_unlearned = (gamma[:-1, :, 0] * both).sum()
    observed = obs.T & active
    unlearned_weight, learned_weight = (gamma[:, :, 0] * active).sum(), (gamma[:, :, 1] * active).sum()
    bounds = PARAMETER_BOUNDS
    return (
        float(np.clip(gamma[0, :, 1].mean(), *bounds["p_init"])),
        float(np.clip((xi_learn * both).sum() / max(from_unlearned, 1e-12), *bounds["p_learn"])),
        float(np.clip((gamma[:, :, 0] * observed).sum() / max(unlearned_weight, 1e-12), *bounds["p_guess"])),
        float(np.clip((gamma[:, :, 1] * (active & ~obs.T)).sum() / max(learned_weight, 1e-12), *bounds["p_slip"])),
    )


def fit_bkt(
    obs: np.ndarray, mask: np.ndarray, initial: BKTParams | None = None, max_iter: int = 100, tol: float = 1e-6
) -> BKTParams:
    """EM (Baum-Welch) estimate of one skill's BKT parameters from padded binary sequences."""
    init = initial or BKTParams(**DEFAULT_PARAMS)
    params = (init.p_init, init.p_learn, init.p_guess, init.p_slip)
    previous, log_likelihood = -np.inf, -np.inf
    for iteration in range(1, max_iter + 1):  # noqa: B007  (the count is returned)
        alpha, beta, scale = _forward_backward(obs, mask, *params)
        log_likelihood = float(np.log(scale).sum())
        params = _maximize(obs, mask, alpha, beta, scale, params)
        if abs(log_likelihood - previous) < tol:
            break
        previous = log_likelihood
    return BKTParams(*params, log_likelihood, iteration)


def simulate_bkt(params: BKTParams, n_sequences: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (obs, mask) from known parameters, for tests and benchmarks."""
    rng = np.random.default_rng(seed)
    learned = rng.random(n_sequences) < params.p_init
    obs = np.zeros((n_sequences, length), dtype=bool)
    for t in range(length):
        p = np.where(learned, 1 - params.p_slip, params.p_guess)
        obs[:, t] = rng.random(n_sequences) < p
        learned |= rng.random(n_sequences) < params.p_learn
    return obs, np.ones_like(obs)
