"""How useful each alert rule is in practice: acknowledgement, educators' verdicts, and recovery.

Recovery: an alert "recovered" when its condition cleared (the alert was resolved automatically)
within `window_days` of being raised. It is measured only on alerts raised at least `window_days`
ago, so every alert counted had the whole window to recover; acknowledged and unacknowledged
alerts are compared, which is what tells whether acting on an alert helps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class RuleQuality:
    """Per-rule figures, arrays indexed by rule code."""

    raised: np.ndarray
    acknowledged: np.ndarray
    median_hours_to_acknowledge: np.ndarray  # NaN where none was acknowledged
    recovered_when_acknowledged: np.ndarray  # share in [0, 1]; NaN where no alert is old enough
    recovered_when_not_acknowledged: np.ndarray
    judged_acknowledged: np.ndarray  # alerts old enough to judge, acknowledged
    judged_not_acknowledged: np.ndarray


def summarize_rule_quality(
    rule: np.ndarray,
    raised_at: np.ndarray,
    acknowledged_at: np.ndarray,
    resolved_at: np.ndarray,
    n_rules: int,
    now: float,
    window_days: float = 14.0,
) -> RuleQuality:
    """Figures per rule from one row per alert (epoch seconds; NaN where not acknowledged / resolved)."""
    rule = np.asarray(rule, dtype=np.int64)
    raised_at, acknowledged_at, resolved_at = (
        np.asarray(a, dtype=float) for a in (raised_at, acknowledged_at, resolved_at)
    )
    acked = np.isfinite(acknowledged_at)
    window = window_days * SECONDS_PER_DAY
    old_enough = raised_at <= now - window
    with np.errstate(invalid="ignore"):
        recovered = np.isfinite(resolved_at) & (resolved_at - raised_at <= window)

    def share(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        judged = np.bincount(rule[mask], minlength=n_rules)
        hits = np.bincount(rule[mask & recovered], minlength=n_rules)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(judged > 0, hits / np.maximum(judged, 1), np.nan), judged

    rec_ack, judged_ack = share(old_enough & acked)
    rec_not, judged_not = share(old_enough & ~acked)
    hours = (acknowledged_at - raised_at) / 3600.0
    median_hours = np.full(n_rules, np.nan)
    order = np.lexsort((hours, rule))  # grouped by rule, ascending hours: medians without a loop per alert
    acked_sorted = order[acked[order]]
    starts = np.searchsorted(rule[acked_sorted], np.arange(n_rules), side="left")
    ends = np.searchsorted(rule[acked_sorted], np.arange(n_rules), side="right")
    for code in np.flatnonzero(ends > starts):  # one pass per rule (a handful), never per alert
        median_hours[code] = float(np.median(hours[acked_sorted[starts[code] : ends[code]]]))
    return RuleQuality(
        raised=np.bincount(rule, minlength=n_rules),
        acknowledged=np.bincount(rule[acked], minlength=n_rules),
        median_hours_to_acknowledge=median_hours,
        recovered_when_acknowledged=rec_ack,
        recovered_when_not_acknowledged=rec_not,
        judged_acknowledged=judged_ack,
        judged_not_acknowledged=judged_not,
    )
