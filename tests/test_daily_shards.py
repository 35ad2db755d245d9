"""The daily task's set-based parts store what the per-row / per-section code they replaced stored: cohort
snapshots in shards of sections, the risk features from digests, rows written column-wise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from analytics.cohort import DEFAULT_PASS_MARK
from models import CohortSnapshot, Enrollment, LearnerStanding, MetricSnapshot, SectionSummary, User, db
from models.upsert import upsert_rows, write_columns
from services.cohort_members import figures_json, summarize
from services.cohorts import compute_section, section_shards, snapshot_sections
from services.daily_digests import digest_features
from services.model_training import log_features
from tests.conftest import create_user
from tests.test_cohort_state import school  # noqa: F401  (fixture: four sections, two courses, shared learners)


def test_cohort_shards_store_each_sections_own_computation(school):  # noqa: F811
    now = datetime.now(UTC)
    shards = section_shards(2)
    assert [len(shard) for shard in shards] == [2, 2]  # s1..s4, in id order
    assert sum(snapshot_sections(shard, now) for shard in shards) == 4
    stored = dict(db.session.execute(sa.select(SectionSummary.section_id, SectionSummary.members)).tuples().all())
    snapshots = dict(db.session.execute(sa.select(CohortSnapshot.section_id, CohortSnapshot.summary)).tuples().all())
    for section, course in [pair for shard in shards for pair in shard]:
        figures = compute_section(section, course, now)  # one section at a time, as before
        assert stored[section] == figures_json(figures), section
        assert snapshots[section] == summarize(figures, DEFAULT_PASS_MARK), section
    assert snapshots[shards[0][0][0]]["learners"] == 30 and snapshots[shards[0][0][0]]["unusual_learners"]
    at_50 = snapshot_sections(shards[0], now + timedelta(seconds=1), pass_mark=50.0)
    assert at_50 == 2 and db.session.scalar(sa.select(sa.func.count()).select_from(CohortSnapshot)) == 6


def test_risk_features_from_digests_are_the_logs(school):  # noqa: F811
    learners = sorted(db.session.scalars(sa.select(Enrollment.learner_id).distinct()))
    now = datetime.now(UTC).timestamp() + 3 * 86400.0
    from_log = log_features(learners, now)
    assert from_log.shape[0] == len(learners) == 33 and np.isfinite(from_log).any()
    for span in (20_000, 3):  # one packed read, and several ranges of ids
        assert np.array_equal(digest_features(learners, now, span=span), from_log, equal_nan=True), span


def test_rows_written_column_wise_are_the_rows_upserted_one_by_one(app):
    ids = [create_user(f"w{i}", "learner").id for i in range(4)]
    now = datetime.now(UTC).replace(microsecond=0)
    columns = {
        "learner_id": ids,
        "average": [71.5, None, 0.0, 100.0],
        "trend_direction": [1, None, -1, 0],
        "risk_level": [None, None, None, None],  # an all-null column
        "risk_probability": [0.1234, None, 1.0, 0.5],
    }
    write_columns(LearnerStanding, columns, {"metrics_at": now, "updated_at": now}, ["learner_id"], list(columns)[1:])
    first = _standings(ids)
    assert first[0] == (71.5, 1, None, 0.1234, now) and first[1] == (None, None, None, None, now)
    db.session.execute(sa.delete(LearnerStanding))
    rows = [dict(zip(columns, values)) | {"metrics_at": now, "updated_at": now} for values in zip(*columns.values())]
    upsert_rows(LearnerStanding, ["learner_id"], rows, list(columns)[1:])
    assert _standings(ids) == first
    later = now + timedelta(hours=1)
    changed = {**columns, "average": [1.0, 2.0, 3.0, 4.0]}
    write_columns(LearnerStanding, changed, {"metrics_at": later, "updated_at": later}, ["learner_id"], ["average"])
    assert [row[0] for row in _standings(ids)] == [1.0, 2.0, 3.0, 4.0]  # updated in place, metrics_at kept
    assert {row[4] for row in _standings(ids)} == {now}
    documents = [{"a": 1.5, "b": None, "c": [1, "x"]}, {}, {"nested": {"k": True}}, {"n": 3}]
    write_columns(MetricSnapshot, {"learner_id": ids, "metrics": documents}, {"taken_at": now})
    stored = db.session.execute(sa.select(MetricSnapshot.learner_id, MetricSnapshot.metrics, MetricSnapshot.taken_at))
    assert sorted(stored.tuples().all()) == sorted(zip(ids, documents, [now] * 4))
    write_columns(MetricSnapshot, {"learner_id": [], "metrics": []}, {"taken_at": now})  # nothing to write


def _standings(ids: list[int]) -> list[tuple]:
    s = LearnerStanding
    query = sa.select(s.average, s.trend_direction, s.risk_level, s.risk_probability, s.metrics_at)
    return [tuple(r) for r in db.session.execute(query.where(s.learner_id.in_(ids)).order_by(s.learner_id))]


def test_no_section_means_no_shard(app):
    create_user("alone", "learner")
    assert section_shards(25) == [] and snapshot_sections([]) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
