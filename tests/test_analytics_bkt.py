"""Bayesian Knowledge Tracing: the O(1) update, EM recovery of planted parameters, and pyBKT agreement."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.bkt import BKTParams, bkt_update, fit_bkt, p_correct, replay, simulate_bkt, to_padded

TRUE = BKTParams(0.3, 0.12, 0.2, 0.08)
START = BKTParams(0.2, 0.15, 0.25, 0.15)


def test_update_is_bayes_then_learning():
    m, learn, guess, slip = 0.4, 0.1, 0.2, 0.1
    posterior = m * (1 - slip) / (m * (1 - slip) + (1 - m) * guess)
    assert bkt_update(np.array([m]), np.array([True]), learn, guess, slip)[0] == pytest.approx(
        posterior + (1 - posterior) * learn
    )
    posterior = m * slip / (m * slip + (1 - m) * (1 - guess))
    assert bkt_update(np.array([m]), np.array([False]), learn, guess, slip)[0] == pytest.approx(
        posterior + (1 - posterior) * learn
    )
    assert p_correct(np.array([1.0, 0.0]), guess, slip).tolist() == pytest.approx([0.9, 0.2])


def test_incremental_updates_equal_a_replay_of_history():
    obs, mask = simulate_bkt(TRUE, 50, 10, seed=4)
    mask[::3, 7:] = False  # some shorter sequences
    mastery = np.full(50, TRUE.p_init)
    for t in range(10):  # one event at a time, as the evaluation task will apply them
        mastery = np.where(mask[:, t], bkt_update(mastery, obs[:, t], TRUE.p_learn, TRUE.p_guess, TRUE.p_slip), mastery)
    assert np.allclose(mastery, replay(obs, mask, TRUE))


def test_to_padded_groups_sequences():
    obs, mask = to_padded(np.array([0, 0, 1, 2, 2, 2]), np.array([1, 0, 1, 0, 0, 1]))
    assert obs.tolist() == [[True, False, False], [True, False, False], [False, False, True]]
    assert mask.sum(axis=1).tolist() == [2, 1, 3]


def test_em_recovers_planted_parameters():
    obs, mask = simulate_bkt(TRUE, 4000, 15, seed=1)
    fitted = fit_bkt(obs, mask, START)
    for name in ("p_init", "p_learn", "p_guess", "p_slip"):
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), abs=0.02), name


def test_em_with_ragged_sequences():
    obs, mask = simulate_bkt(TRUE, 3000, 12, seed=2)
    mask[:1500, 6:] = False
    fitted = fit_bkt(obs, mask, START)
    assert fitted.p_learn == pytest.approx(TRUE.p_learn, abs=0.03) and fitted.p_slip == pytest.approx(
        TRUE.p_slip, abs=0.03
    )


def pybkt_fit(obs: np.ndarray, start: BKTParams, tol: float) -> dict:
    """pyBKT's own E-step and M-step, driven by a small loop (its EM_fit driver fails on NumPy 2)."""
    from pyBKT.fit import EM_fit, M_step
    from pyBKT.generate import random_model_uni

    model = random_model_uni.random_model_uni(1, 1)
    model.update(
        prior=start.p_init,
        learns=np.array([start.p_learn]),
        forgets=np.array([0.0]),
        guesses=np.array([start.p_guess]),
        slips=np.array([start.p_slip]),
    )
    n, steps = obs.shape
    data = {
        "data": obs.reshape(1, -1).astype(np.int32) + 1,
        "starts": np.arange(n, dtype=np.int64) * steps + 1,
        "lengths": np.full(n, steps, dtype=np.int64),
        "resources": np.ones(n * steps, dtype=np.int64),
    }
    trans, emission, initial = np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((2, 1))
    previous = -np.inf
    for _ in range(500):
        result = EM_fit.run(data, model, trans, emission, initial, 1, parallel=False)
        trans = np.array([m.transpose() for m in result["all_trans_softcounts"]])
        emission = np.array([m.transpose() for m in result["all_emission_softcounts"]])
        initial = result["all_initial_softcounts"]
        log_likelihood = float(np.asarray(result["total_loglike"]).ravel()[0])
        if abs(log_likelihood - previous) < tol:
            break
        previous = log_likelihood
        model = M_step.run(model, trans, emission, initial)
    return {
        "p_init": float(model["prior"]),
        "p_learn": float(model["learns"][0]),
        "p_guess": float(model["guesses"][0]),
        "p_slip": float(model["slips"][0]),
        "log_likelihood": log_likelihood,
    }


def test_fit_agrees_with_pybkt_on_the_same_data():
    obs, mask = simulate_bkt(TRUE, 400, 12, seed=1)
    ours = fit_bkt(obs, mask, START, max_iter=500, tol=1e-9)
    theirs = pybkt_fit(obs, START, tol=1e-9)
    for name in ("p_init", "p_learn", "p_guess", "p_slip"):
        assert getattr(ours, name) == pytest.approx(theirs[name], abs=1e-4), name
    assert ours.log_likelihood == pytest.approx(theirs["log_likelihood"], rel=1e-6)
