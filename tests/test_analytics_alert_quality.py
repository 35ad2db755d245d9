"""Per-rule alert quality: acknowledgement, time to acknowledge, recovery within the window (pure)."""

from __future__ import annotations

import numpy as np

from analytics.alert_quality import SECONDS_PER_DAY, summarize_rule_quality

DAY = SECONDS_PER_DAY
NOW = 1_800_000_000.0
NAN = np.nan


def test_figures_per_rule_on_a_hand_checked_table():
    # rule 0: two old alerts (one acknowledged after 2 h and recovered in 3 days, one unacknowledged that
    # recovered only after 20 days) and a recent one that is too young to judge; rule 1: nothing; rule 2: one.
    rule = np.array([0, 0, 0, 2])
    raised = np.array([NOW - 30 * DAY, NOW - 40 * DAY, NOW - 2 * DAY, NOW - 20 * DAY])
    acked = np.array([NOW - 30 * DAY + 7200, NAN, NOW - DAY, NOW - 19 * DAY])
    resolved = np.array([NOW - 27 * DAY, NOW - 20 * DAY, NAN, NAN])
    q = summarize_rule_quality(rule, raised, acked, resolved, 3, NOW, 14.0)
    assert q.raised.tolist() == [3, 0, 1] and q.acknowledged.tolist() == [2, 0, 1]
    assert q.median_hours_to_acknowledge[0] == (2 + 24) / 2 and np.isnan(q.median_hours_to_acknowledge[1])
    assert q.median_hours_to_acknowledge[2] == 24
    assert q.judged_acknowledged.tolist() == [1, 0, 1] and q.judged_not_acknowledged.tolist() == [1, 0, 0]
    assert q.recovered_when_acknowledged[0] == 1.0 and q.recovered_when_not_acknowledged[0] == 0.0
    assert q.recovered_when_acknowledged[2] == 0.0 and np.isnan(q.recovered_when_not_acknowledged[2])


def test_matches_a_plain_loop_on_random_alerts():
    rng = np.random.default_rng(7)
    n, rules = 2000, 5
    rule = rng.integers(0, rules, n)
    raised = NOW - rng.uniform(0, 60, n) * DAY
    acked = np.where(rng.random(n) < 0.6, raised + rng.exponential(20, n) * 3600, NAN)
    resolved = np.where(rng.random(n) < 0.7, raised + rng.exponential(10, n) * DAY, NAN)
    q = summarize_rule_quality(rule, raised, acked, resolved, rules, NOW, 14.0)
    for r in range(rules):
        mine = rule == r
        hours = [(a - s) / 3600 for a, s in zip(acked[mine], raised[mine]) if not np.isnan(a)]
        assert np.isclose(q.median_hours_to_acknowledge[r], np.median(hours))
        old = mine & (raised <= NOW - 14 * DAY) & ~np.isnan(acked)
        recovered = [(not np.isnan(x)) and x - s <= 14 * DAY for x, s in zip(resolved[old], raised[old])]
        assert np.isclose(q.recovered_when_acknowledged[r], np.mean(recovered))
