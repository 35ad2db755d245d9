"""A cohort's per-learner figures: what every cohort view aggregates (score average and count, attendance,
risk light, anomaly score, weekly score sums). The worker computes them per section (with the
IsolationForest over the section's learners) and stores them beside the section's summary, so the
cohort endpoints aggregate stored figures for any pass mark and any subset of learners the caller may see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics import cohort as cohort_analytics
from analytics.anomaly import detect_anomalies
from analytics.grouping import SECONDS_PER_DAY
from analytics.learner_metrics import KIND_CODES, compute_learner_metrics
from analytics.risk import RiskModel, score_risk
from models import User
from models.queries import mapping
from services.analytics_data import load_attendance_percent, load_event_arrays
from services.json_values import json_scalar
from services.model_training import current_risk_model

LIGHTS = cohort_analytics.TRAFFIC_LIGHTS
WEEKS = 8
WEEK = 7 * SECONDS_PER_DAY
ANOMALY_CONTAMINATION = 0.05


@dataclass(frozen=True)
class MemberFigures:
    """Per member, in ascending learner id order; `as_of` is when they were computed (epoch seconds)."""

    learner: np.ndarray  # internal learner ids
    assessments: np.ndarray  # scored assessments in the cohort's courses
    average: np.ndarray  # mean score percent (NaN: none)
    attendance: np.ndarray  # attendance percent (NaN: no records)
    light: np.ndarray  # 0 green, 1 amber, 2 red, -1 grey
    anomaly: np.ndarray  # IsolationForest score among the section's learners (higher: more unusual)
    unusual: np.ndarray  # among the most unusual ANOMALY_CONTAMINATION of the section
    weekly_sum: np.ndarray  # (n, WEEKS) sum of assessment percents per week before as_of, oldest first
    weekly_count: np.ndarray  # (n, WEEKS) assessments per week
    as_of: float

    def take(self, keep: np.ndarray) -> MemberFigures:
        """The members selected by a boolean mask or index array."""
        return replace(self, **{f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "as_of"})


def empty_figures(now: float) -> MemberFigures:
    """No members (a cohort the caller sees nobody of)."""
    none, weeks = np.zeros(0), np.zeros((0, WEEKS))
    ints = np.zeros(0, dtype=np.int64)
    return MemberFigures(ints, ints, none, none, ints, none, none.astype(bool), weeks, weeks, now)


def compute_figures(
    learner_ids: Sequence[int],
    course_ids: Sequence[int] | None,
    now: float,
    model: RiskModel | None = None,
    attendance_of: Mapping[int, float] | None = None,
) -> MemberFigures:
    """The figures of these learners over their events in `course_ids` (all courses if None), as of now. A
    shard of sections passes what it read once for all of them: the risk model and each learner's attendance
    percent (over all their records, as load_attendance_percent gives it); otherwise they are read here."""
    ids = sorted(set(int(i) for i in learner_ids))
    if not ids:
        return empty_figures(now)
    events, _ = load_event_arrays(ids, course_ids)
    if attendance_of is None:
        attendance = load_attendance_percent(ids)
    else:
        attendance = np.array([attendance_of[i] for i in ids], dtype=float)
    metrics = compute_learner_metrics(events, now, attendance)
    model = model or current_risk_model()
    light = score_risk(model, metrics.features(model.features)).light.astype(np.int64)
    unusual = detect_anomalies(metrics.features(), contamination=ANOMALY_CONTAMINATION)
    assessed = events.kind == KIND_CODES["assessment"]
    sums, counts = cohort_analytics.weekly_sums(
        events.learner[assessed],
        events.time[assessed],
        events.percent[assessed],
        len(ids),
        now - WEEKS * WEEK,
        WEEK,
        WEEKS,
    )
    return MemberFigures(
        np.asarray(ids, dtype=np.int64),
        np.asarray(metrics.assessments, dtype=np.int64),
        np.asarray(metrics.average_score, dtype=float),
        np.asarray(attendance, dtype=float),
        light,
        np.asarray(unusual.score, dtype=float),
        np.asarray(unusual.flagged, dtype=bool),
        sums,
        counts,
        now,
    )


def figures_json(figures: MemberFigures) -> dict[str, Any]:
    """Columnar JSON for the section_summaries.members column (NaN as null; floats round-trip exactly)."""

    def floats(values: np.ndarray) -> list:
        return [None if np.isnan(v) else v for v in values.tolist()] if values.ndim == 1 else values.tolist()

    return {
        f.name: floats(value) if value.dtype.kind == "f" else value.tolist()
        for f in fields(figures)
        if isinstance(value := getattr(figures, f.name), np.ndarray)
    } | {"as_of": figures.as_of}


def figures_from_json(stored: dict[str, Any]) -> MemberFigures:
    """Back from figures_json."""
    return MemberFigures(
        learner=np.asarray(stored["learner"], dtype=np.int64),
        assessments=np.asarray(stored["assessments"], dtype=np.int64),
        average=np.asarray(stored["average"], dtype=float),
        attendance=np.asarray(stored["attendance"], dtype=float),
        light=np.asarray(stored["light"], dtype=np.int64),
        anomaly=np.asarray(stored["anomaly"], dtype=float),
        unusual=np.asarray(stored["unusual"], dtype=bool),
        weekly_sum=np.asarray(stored["weekly_sum"], dtype=float).reshape(-1, WEEKS),
        weekly_count=np.asarray(stored["weekly_count"], dtype=float).reshape(-1, WEEKS),
        as_of=float(stored["as_of"]),
    )


def merge(parts: Sequence[tuple[int | None, MemberFigures]]) -> MemberFigures:
    """One row per learner from several sections' figures, each given with its course scope. A learner's
    rows in sections of one course are the same figures (kept once); rows of different courses add up:
    assessments, weekly sums and the weighted average; the worst light and the highest anomaly score count.
    `as_of` is the oldest of the parts."""
    if not parts:
        return empty_figures(datetime.now(UTC).timestamp())
    if len(parts) == 1:
        return parts[0][1]
    columns = {f.name: np.concatenate([getattr(p, f.name) for _, p in parts]) for f in fields(MemberFigures)[:-1]}
    joined = MemberFigures(**columns, as_of=min(p.as_of for _, p in parts))
    scope = np.concatenate([np.full(len(f.learner), -1 if c is None else c, dtype=np.int64) for c, f in parts])
    _, first = np.unique(np.column_stack([joined.learner, scope]), axis=0, return_index=True)
    rows = joined.take(np.sort(first))
    learner, index, group = np.unique(rows.learner, return_index=True, return_inverse=True)
    n = len(learner)
    count = np.bincount(group, weights=rows.assessments, minlength=n)
    total = np.bincount(
        group, weights=np.where(rows.assessments > 0, rows.average * rows.assessments, 0.0), minlength=n
    )
    light, anomaly, unusual = np.full(n, -1), np.full(n, -np.inf), np.zeros(n, dtype=bool)
    np.maximum.at(light, group, rows.light)
    np.maximum.at(anomaly, group, rows.anomaly)
    np.logical_or.at(unusual, group, rows.unusual)
    weekly_sum, weekly_count = np.zeros((n, WEEKS)), np.zeros((n, WEEKS))
    np.add.at(weekly_sum, group, rows.weekly_sum)
    np.add.at(weekly_count, group, rows.weekly_count)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, total / count, np.nan)
    return MemberFigures(
        learner, count.astype(np.int64), average, rows.attendance[index], light, anomaly, unusual,
        weekly_sum, weekly_count, joined.as_of,
    )  # fmt: skip


def summarize(figures: MemberFigures, pass_mark: float, scores: np.ndarray | None = None) -> dict[str, Any]:
    """The cohort report of these members (`scores` replaces their averages, e.g. one exam's marks)."""
    n = len(figures.learner)
    average = figures.average if scores is None else np.asarray(scores, dtype=float)
    members, groups = np.arange(n), np.zeros(n, dtype=np.int64)
    edges = tuple(current_app.config["GRADE_BAND_EDGES"])
    lights = figures.light
    summary = cohort_analytics.summarize_cohorts(
        members, groups, 1, average, figures.attendance, lights, pass_mark, edges
    )
    best, worst = cohort_analytics.top_and_low_performers(members, groups, 1, average, k=5)
    flagged = np.flatnonzero(figures.unusual)
    shown = {int(figures.learner[i]) for i in [*best[0], *worst[0], *flagged] if i >= 0}
    external = mapping(sa.select(User.id, User.external_id).where(User.id.in_(sorted(shown)))) if shown else {}

    def performer(i: int) -> dict[str, Any]:
        return {"learner": external[int(figures.learner[i])], "average": round(float(average[i]), 2)}

    return {
        "as_of": datetime.fromtimestamp(figures.as_of, UTC).isoformat(),
        "learners": int(summary.learners[0]),
        "scored": int(summary.scored[0]),
        "average": json_scalar(summary.average[0]),
        "pass_mark": pass_mark,
        "pass_rate": json_scalar(summary.pass_rate[0]),
        "grade_distribution": dict(zip(cohort_analytics.GRADE_BANDS, summary.band_counts[0].tolist())),
        "attendance_percent": json_scalar(summary.attendance[0]),
        "risk": {**dict(zip(LIGHTS, summary.risk_counts[0].tolist())), "grey": int((lights < 0).sum())},
        "top_performers": [performer(i) for i in best[0] if i >= 0],
        "low_performers": [performer(i) for i in worst[0] if i >= 0],
        "unusual_learners": [
            {"learner": external[int(figures.learner[i])], "score": round(float(figures.anomaly[i]), 4)}
            for i in flagged
        ],
        "weekly_average": _weekly_average(figures),
    }


def _weekly_average(figures: MemberFigures) -> list[dict[str, Any]]:
    """The group's average assessment score per week over the WEEKS weeks before as_of (null: no score)."""
    start = figures.as_of - WEEKS * WEEK
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = figures.weekly_sum.sum(axis=0) / figures.weekly_count.sum(axis=0)
    return [
        {"week_start": datetime.fromtimestamp(start + w * WEEK, UTC).date().isoformat(), "average": json_scalar(v)}
        for w, v in enumerate(trend)
    ]
