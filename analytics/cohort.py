"""Cohort analytics for educators: per group (section, subject, course or exam) of learners.

Membership is given as pairs (member_learner[i], member_group[i]) because a learner belongs to
several groups; learner values are per-learner arrays (NaN = no data, left out of averages).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PASS_MARK = 60.0
GRADE_BANDS = ("A+", "A", "B+", "B", "C+", "C", "D+", "D", "F")
# Lower edge (percent) of each band but F; a learner's band is the first whose edge they reach.
DEFAULT_BAND_EDGES = (90.0, 80.0, 75.0, 70.0, 65.0, 60.0, 55.0, 50.0)
TRAFFIC_LIGHTS = ("green", "amber", "red")


def grade_band(percent: np.ndarray, edges: tuple[float, ...] = DEFAULT_BAND_EDGES) -> np.ndarray:
    """Index into GRADE_BANDS for each percent (edges descending); -1 for NaN."""
    percent = np.asarray(percent, dtype=float)
    if list(edges) != sorted(edges, reverse=True) or len(edges) != len(GRADE_BANDS) - 1:
        raise ValueError(f"need {len(GRADE_BANDS) - 1} descending band edges")
    band = np.searchsorted(-np.asarray(edges), -percent, side="left")  # edges strictly above
    return np.where(np.isnan(percent), -1, band)


@dataclass(frozen=True)
class CohortSummary:
    learners: np.ndarray  # members per group
    scored: np.ndarray  # members with a score
    average: np.ndarray  # mean of member averages (percent)
    pass_rate: np.ndarray  # share of scored members at or above the pass mark, 0..1
    band_counts: np.ndarray  # (n_groups, 9) members per grade band (GRADE_BANDS order)
    attendance: np.ndarray  # mean member attendance percent
    risk_counts: np.ndarray  # (n_groups, 3) members per traffic light (green, amber, red)


def summarize_cohorts(
    member_learner: np.ndarray,
    member_group: np.ndarray,
    n_groups: int,
    learner_average: np.ndarray,
    learner_attendance: np.ndarray | None = None,
    learner_light: np.ndarray | None = None,
    pass_mark: float = DEFAULT_PASS_MARK,
    band_edges: tuple[float, ...] = DEFAULT_BAND_EDGES,
) -> CohortSummary:
    """Every group's size, average, pass rate, grade distribution, attendance and risk counts at once."""
    member_learner = np.asarray(member_learner, dtype=np.int64)
    group = np.asarray(member_group, dtype=np.int64)
    score = np.asarray(learner_average, dtype=float)[member_learner]
    scored = ~np.isnan(score)

    def mean_of(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        present = ~np.isnan(values)
        count = np.bincount(group[present], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(group[present], weights=values[present], minlength=n_groups) / count, count

    average, n_scored = mean_of(score)
    with np.errstate(invalid="ignore", divide="ignore"):
        pass_rate = (
            np.bincount(group[scored], weights=(score[scored] >= pass_mark).astype(float), minlength=n_groups)
            / n_scored
        )
    bands = grade_band(score, band_edges)
    band_counts = np.bincount(
        group[scored] * len(GRADE_BANDS) + bands[scored], minlength=n_groups * len(GRADE_BANDS)
    ).reshape(n_groups, len(GRADE_BANDS))
    attendance = (
        mean_of(np.asarray(learner_attendance, dtype=float)[member_learner])[0]
        if learner_attendance is not None
        else np.full(n_groups, np.nan)
    )
    risk_counts = np.zeros((n_groups, 3), dtype=np.int64)
    if learner_light is not None:
        light = np.asarray(learner_light, dtype=np.int64)[member_learner]
        known = light >= 0
        risk_counts = np.bincount(group[known] * 3 + light[known], minlength=n_groups * 3).reshape(n_groups, 3)
    return CohortSummary(
        np.bincount(group, minlength=n_groups), n_scored, average, pass_rate, band_counts, attendance, risk_counts
    )


def top_and_low_performers(
    member_learner: np.ndarray, member_group: np.ndarray, n_groups: int, learner_average: np.ndarray, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """(n_groups, k) learner indices of the best and the weakest scored members; -1 pads short groups.

    Ties are broken by learner index, so the result is deterministic.
    """
    member_learner = np.asarray(member_learner, dtype=np.int64)
    group = np.asarray(member_group, dtype=np.int64)
    score = np.asarray(learner_average, dtype=float)[member_learner]
    keep = ~np.isnan(score)
    learner, group, score = member_learner[keep], group[keep], score[keep]

    def first_k(order: np.ndarray) -> np.ndarray:
        ordered_group = group[order]
        starts = np.searchsorted(ordered_group, np.arange(n_groups))
        rank = np.arange(len(order)) - starts[ordered_group]
        out = np.full((n_groups, k), -1, dtype=np.int64)
        take = rank < k
        out[ordered_group[take], rank[take]] = learner[order][take]
        return out

    return first_k(np.lexsort((learner, -score, group))), first_k(np.lexsort((learner, score, group)))


def cohort_average_trend(
    group: np.ndarray,
    times: np.ndarray,
    percent: np.ndarray,
    n_groups: int,
    start: float,
    bucket_seconds: float,
    n_buckets: int,
) -> np.ndarray:
    """(n_groups, n_buckets) mean score per group per time bucket (e.g. weeks); NaN for empty buckets."""
    bucket = np.floor((np.asarray(times, dtype=float) - start) / bucket_seconds).astype(np.int64)
    inside = (bucket >= 0) & (bucket < n_buckets)
    key = np.asarray(group, dtype=np.int64)[inside] * n_buckets + bucket[inside]
    size = n_groups * n_buckets
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(key, weights=np.asarray(percent, dtype=float)[inside], minlength=size) / np.bincount(
            key, minlength=size
        )
    return means.reshape(n_groups, n_buckets)


def weekly_sums(
    learner: np.ndarray,
    times: np.ndarray,
    percent: np.ndarray,
    n_learners: int,
    start: float,
    bucket_seconds: float,
    n_buckets: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(n_learners, n_buckets) sum and count of scores per learner per time bucket: what any group's
    cohort_average_trend is made of, so stored per learner it serves every group they belong to."""
    bucket = np.floor((np.asarray(times, dtype=float) - start) / bucket_seconds).astype(np.int64)
    inside = (bucket >= 0) & (bucket < n_buckets)
    key = np.asarray(learner, dtype=np.int64)[inside] * n_buckets + bucket[inside]
    size = n_learners * n_buckets
    sums = np.bincount(key, weights=np.asarray(percent, dtype=float)[inside], minlength=size)
    counts = np.bincount(key, minlength=size).astype(float)
    return sums.reshape(n_learners, n_buckets), counts.reshape(n_learners, n_buckets)
