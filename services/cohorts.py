"""Each section's cohort state as of its last refresh: the summary dashboards show and the per-learner
figures (services.cohort_members) the cohort endpoints aggregate. The worker refreshes the sections of the
learners it evaluates (at most once per COHORT_SUMMARY_INTERVAL per section, 10 minutes by default; a
cohort of 1,000 learners costs a few hundred ms of worker CPU, most of it the IsolationForest), the
velocity sweep refreshes the sections it passes over, and the daily task every section, so a dashboard's
handshake and a cohort endpoint read rows, never a cohort computation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from analytics.cohort import DEFAULT_PASS_MARK
from models import CohortSnapshot, Enrollment, Section, SectionSummary, db
from models.queries import core_execute
from models.upsert import chunks_in, upsert_rows, write_columns
from services.analytics_data import load_attendance_percent
from services.cohort_members import (
    MemberFigures,
    compute_figures,
    figures_from_json,
    figures_json,
    merge,
    summarize,
)
from services.model_training import current_risk_model
from services.process_cache import process_cache

COHORT_SHARD_SECTIONS = 25  # sections per daily cohort shard task (~5,000 learners at 200 a section)
Sections = list[tuple[int, int | None]]  # (section id, course id: the section's scope, None for all courses)


def compute_section(section_id: int, course_id: int | None, now: datetime) -> MemberFigures:
    """The section's member figures over its enrolled learners and its course (all courses without one)."""
    members = list(db.session.scalars(sa.select(Enrollment.learner_id).where(Enrollment.section_id == section_id)))
    return compute_figures(members, [course_id] if course_id else None, now.timestamp())


def compute_summary(section_id: int, course_id: int | None, pass_mark: float = DEFAULT_PASS_MARK) -> dict[str, Any]:
    """The section's cohort report over its enrolled learners, as GET /sections/<id>/analytics gives it."""
    return summarize(compute_section(section_id, course_id, datetime.now(UTC)), pass_mark)


def store_sections(figures: Mapping[int, MemberFigures], now: datetime) -> dict[int, dict[str, Any]]:
    """Upsert each section's figures and its summary at the default pass mark; returns the summaries."""
    summaries = {section: summarize(f, DEFAULT_PASS_MARK) for section, f in figures.items()}
    rows = [
        {"section_id": s, "summary": summaries[s], "members": figures_json(f), "updated_at": now}
        for s, f in figures.items()
    ]
    upsert_rows(SectionSummary, ["section_id"], rows, ["summary", "members", "updated_at"])
    return summaries


def refresh_sections(sections: Sequence[tuple[int, int | None]], now: datetime | None = None) -> dict[int, Any]:
    """Recompute and store these (section id, course id) pairs now; returns their member figures."""
    now = now or datetime.now(UTC)
    figures = {section: compute_section(section, course, now) for section, course in sections}
    store_sections(figures, now)
    return figures


def refresh_sections_of(learner_ids: Sequence[int], interval: timedelta | None = None) -> int:
    """Recompute the sections of these learners refreshed longer than `interval` ago (default: the configured
    COHORT_SUMMARY_INTERVAL); returns how many were recomputed."""
    interval = interval if interval is not None else timedelta(seconds=current_app.config["COHORT_SUMMARY_INTERVAL"])
    now = datetime.now(UTC)
    sections: set[int] = set()
    for condition in chunks_in(Enrollment.learner_id, learner_ids):
        sections |= set(db.session.scalars(sa.select(Enrollment.section_id).where(condition).distinct()))
    if not sections:
        return 0
    fresh = set(
        db.session.scalars(
            sa.select(SectionSummary.section_id).where(
                SectionSummary.section_id.in_(sections), SectionSummary.updated_at > now - interval
            )
        )
    )
    stale = db.session.execute(
        sa.select(Section.id, Section.course_id).where(Section.id.in_(sections - fresh)).order_by(Section.id)
    ).all()
    refresh_sections([(section, course) for section, course in stale], now)
    db.session.commit()
    return len(stale)


STORED_SUMMARIES = sa.select(SectionSummary.section_id, SectionSummary.summary).where(
    SectionSummary.section_id.in_(sa.bindparam("sections", expanding=True))
)  # built once per process: every educator's dashboard open reads it


def section_summaries(sections: Sequence[tuple[int, int | None]]) -> dict[int, dict[str, Any]]:
    """Stored summaries of (section id, course id) pairs; a section never summarised is computed once now."""
    ids = [section for section, _ in sections]
    stored = dict(core_execute(STORED_SUMMARIES, {"sections": ids}).tuples().all())
    missing = [(section, course) for section, course in sections if section not in stored]
    if missing:
        now = datetime.now(UTC)
        stored |= store_sections({s: compute_section(s, c, now) for s, c in missing}, now)
        db.session.commit()
    return stored


MEMBER_CACHE_SECTIONS = 256  # parsed member figures kept per web process (~40 KB a section of 200 learners)


def _parsed_members(sections: Sequence[int]) -> dict[int, MemberFigures]:
    """These sections' stored member figures (those never stored are absent). The JSON column is parsed once
    per process and version: each request reads the rows' updated_at (every write sets it), and the figures
    only of sections whose version this process has not parsed yet."""
    cache = process_cache("section_members")
    versions = dict(
        db.session.execute(
            sa.select(SectionSummary.section_id, SectionSummary.updated_at).where(
                SectionSummary.section_id.in_(sections), SectionSummary.members.is_not(None)
            )
        )
        .tuples()
        .all()
    )
    figures: dict[int, MemberFigures] = {}
    for section, version in versions.items():
        entry = cache.get(section)
        if entry is not None and entry[0] == version:
            figures[section] = entry[1]
    unparsed = [s for s in versions if s not in figures]
    if unparsed:
        rows = db.session.execute(
            sa.select(SectionSummary.section_id, SectionSummary.updated_at, SectionSummary.members).where(
                SectionSummary.section_id.in_(unparsed)
            )
        )
        for section, version, value in rows:  # a write since the first read: the version read here is the one
            if value is not None:
                figures[section] = _read_only(figures_from_json(value))
                cache.put(section, (version, figures[section]), MEMBER_CACHE_SECTIONS)
    return figures


def _read_only(figures: MemberFigures) -> MemberFigures:
    """Figures shared by the requests of a process: an in-place change would raise, not leak into others."""
    for f in fields(figures):
        if isinstance(value := getattr(figures, f.name), np.ndarray):
            value.setflags(write=False)
    return figures


def stored_members(
    members: Mapping[int, Sequence[int]], courses: Mapping[int, int | None]
) -> list[tuple[int | None, MemberFigures]]:
    """Per section (id -> the enrolled learners the caller may see), its stored figures narrowed to those
    learners, with the section's course. A section never stored, or with a learner enrolled since its last
    refresh, is recomputed now (once: the worker keeps it fresh from then on)."""
    figures = _parsed_members(list(members))
    stale = [s for s in members if s not in figures or not np.isin(members[s], figures[s].learner).all()]
    if stale:
        figures |= refresh_sections([(s, courses[s]) for s in sorted(stale)])
        db.session.commit()
    return [(courses[s], figures[s].take(np.isin(figures[s].learner, members[s]))) for s in sorted(members)]


def stored_section_report(section_id: int, course_id: int | None, pass_mark: float) -> dict[str, Any]:
    """The section's cohort report over every enrolled learner from its stored state: what GET
    /sections/<id>/analytics gives a caller who may see them all (the section's educator, an admin)."""
    enrolled = sa.select(Enrollment.learner_id).where(Enrollment.section_id == section_id).distinct()
    members = list(db.session.scalars(enrolled))
    parts = stored_members({section_id: members}, {section_id: course_id}) if members else []
    return summarize(merge(parts), pass_mark)


def section_shards(size: int) -> list[Sections]:
    """Every section with an enrolled learner, in id order, cut into shards of `size` sections (the daily
    task's cohort shards: at 200 learners a section, 25 sections are a learner shard's 5,000 learners)."""
    sections = db.session.execute(
        sa.select(Section.id, Section.course_id)
        .where(Section.id.in_(sa.select(Enrollment.section_id)))
        .order_by(Section.id)
    ).all()
    pairs = [(int(s), None if c is None else int(c)) for s, c in sections]
    return [pairs[start : start + size] for start in range(0, len(pairs), size)]


def members_of(sections: Sequence[int]) -> dict[int, list[int]]:
    """Each section's enrolled learners, in one query for all of them."""
    members: dict[int, list[int]] = {int(s): [] for s in sections}
    for condition in chunks_in(Enrollment.section_id, members):
        for section, learner in db.session.execute(
            sa.select(Enrollment.section_id, Enrollment.learner_id).where(condition)
        ):
            members[section].append(learner)
    return members


def snapshot_sections(sections: Sections, now: datetime | None = None, pass_mark: float = DEFAULT_PASS_MARK) -> int:
    """One shard of the daily cohort snapshots: each section's figures (what compute_section gives; members
    and the risk model read once for the shard), its stored state refreshed and its summary kept as a
    snapshot, each written in one statement for the shard."""
    if not sections:
        return 0
    now = now or datetime.now(UTC)
    members, model = members_of([s for s, _ in sections]), current_risk_model()
    everyone = sorted({learner for learners in members.values() for learner in learners})
    attendance = dict(zip(everyone, load_attendance_percent(everyone).tolist()))
    figures = {
        section: compute_figures(members[section], [course] if course else None, now.timestamp(), model, attendance)
        for section, course in sections
    }
    stored = store_sections(figures, now)  # summarised at the default pass mark
    summaries = [stored[s] if pass_mark == DEFAULT_PASS_MARK else summarize(figures[s], pass_mark) for s in figures]
    write_columns(CohortSnapshot, {"section_id": list(figures), "summary": summaries}, {"taken_at": now})
    db.session.commit()
    return len(sections)
