"""Learner digests (what the sweeps read instead of the event log) give the metrics, rule inputs and
alerts the whole log gives: as kept up to date by evaluations, with out-of-order and duplicate events."""

from __future__ import annotations

import time
import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analytics.event_digest import RECORD, build_digests, kept_events, unpack, with_streaks
from analytics.learner_metrics import KIND_CODES, EventArrays, compute_learner_metrics
from analytics.rule_inputs import build_rule_inputs
from analytics.synthetic import generate_cohort
from models import Event, LearnerDigest, User, db
from services.clients import redis_client
from services.digests import HEAD, UPTO_KEY, digest_inputs, in_learner_order, rebuild_digests
from services.monitoring import build_inputs, evaluate_rules, shard_ranges
from services.sweeps import run_shard, shard_size
from tests.planted_cohort import EXPECTED, open_alerts
from worker.sweeps import start_sweep
from worker.tasks import evaluate_learners, monitoring_shard

DAY = 86400.0
INPUT_ARRAYS = ("risk_probability", "whole_days", "history_days", "scores", "days_since_module", "has_history")


def differences(a, b) -> list[str]:
    """Names of the metrics and rule-input arrays that differ (NaN equal to NaN)."""
    names = [
        f.name
        for f in fields(a.metrics)
        if not np.array_equal(getattr(a.metrics, f.name), getattr(b.metrics, f.name), equal_nan=True)
    ]
    names += [n for n in INPUT_ARRAYS if not np.array_equal(getattr(a, n), getattr(b, n), equal_nan=True)]
    if not np.array_equal(a.scores_segments.counts, b.scores_segments.counts):
        names.append("scores_segments")
    return names


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_digest_metrics_equal_the_whole_log_at_later_instants(zone):
    cohort = generate_cohort(3000, 80, days=90, seed=5)
    digests = build_digests(cohort.events, cohort.now)
    kept = unpack(digests.blobs)
    assert len(kept.learner) < 0.6 * len(cohort.events.learner)  # 90 days of history, ~32 kept (plus scores)
    for later in (0.0, 3 * 3600, 1.5 * DAY, 9 * DAY, 40 * DAY):
        now = cohort.now + later
        full = compute_learner_metrics(cohort.events, now)
        cut = with_streaks(compute_learner_metrics(kept, now), kept, digests.longest_streak, digests.last_run, now)
        risk = np.zeros(cohort.events.n_learners)
        a = build_rule_inputs(cohort.events, full, risk, now, zone)
        b = build_rule_inputs(kept, cut, risk, now, zone)
        assert differences(a, b) == [], later


def test_a_digest_keeps_scores_the_window_and_the_ends():
    now = 1_780_000_000.0
    days = np.array([100, 95, 90, 80, 50, 10, -0.01])  # days ago; the last one is slightly in the future
    kinds = ["activity", "activity", "module_completed", "assessment", "activity", "activity", "activity"]
    events = EventArrays(
        1,
        np.zeros(len(days), dtype=np.int64),
        now - days * DAY,
        np.array([KIND_CODES[k] for k in kinds], dtype=np.int8),
        np.where(np.array(kinds) == "assessment", 70.0, np.nan),
    )
    keep = kept_events(events, now)
    # first active, last module, every score, the window (and the future): not the 95- and 50-day activities
    assert keep.tolist() == [True, False, True, True, False, True, True]
    digests = build_digests(events, now)
    assert len(digests.blobs[0]) == 5 * RECORD.itemsize and digests.longest_streak[0] == 1


def _ids(names) -> list[int]:
    return sorted(db.session.scalars(sa.select(User.id).where(User.external_id.in_(names))))


def _events(name: str, days_ago: list[float], kind: str, tag: str, score=None) -> list[dict]:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    for d in days_ago:
        row = {
            "id": f"{name}-{tag}-{kind}-{d}",
            "learner": name,
            "kind": kind,
            "occurred_at": (now - timedelta(days=d)).isoformat(),
        }
        if kind == "assessment":
            row |= {"score": score(d), "max_score": 100}
        if kind == "module_completed":
            row["module"] = f"m{int(d) % 10}"
        rows.append(row)
    return rows


def _history(name: str, older_than: float, newer_than: float, tag: str) -> list[dict]:
    """Activity every day, a score every third day (falling lately), in (newer_than, older_than] days ago."""
    span = [d for d in np.arange(older_than, newer_than, -1.0).tolist() if d > newer_than]
    return (
        _events(name, span, "activity", tag)
        + _events(name, span[::3], "assessment", tag, score=lambda d: 85 - max(0, 20 - d))
        + _events(name, span[::10], "module_completed", tag)
    )


def _post(client, service, events):
    response = client.post("/api/v1/events", json={"events": events}, headers=service)
    assert response.status_code in (200, 201), response.get_json()


def _digest_rows(ids):
    return {
        row.learner_id: (row.last_event_id, row.built_at, row.longest_streak, row.last_run, bytes(row.events))
        for row in db.session.execute(sa.select(LearnerDigest).where(LearnerDigest.learner_id.in_(ids))).scalars()
    }


def test_digests_kept_by_evaluations_equal_digests_rebuilt_from_the_log(app, client, service):
    client.put("/api/v1/courses/c1", json={"title": "C1"}, headers=service)
    for m in range(10):
        client.put(f"/api/v1/modules/m{m}", json={"course": "c1", "title": f"M{m}"}, headers=service)
    names = ["long", "late", "quiet"]
    first = [e for n in names for e in _history(n, 80.5, 20, "a")]
    _post(client, service, first)
    ids = _ids(names)
    evaluate_learners.run(ids)
    _post(client, service, [e for n in names[:2] for e in _history(n, 19.5, 0.2, "b")])
    evaluate_learners.run(ids)
    out_of_order = _history("late", 95.5, 81, "c") + _events("long", [40.25, 3.25], "assessment", "c", lambda d: 30)
    _post(client, service, out_of_order + first[:40])  # the first batch's first events again: duplicates
    evaluate_learners.run(ids)
    kept = _digest_rows(ids)
    assert set(kept) == set(ids) and all(row[4] for row in kept.values())
    for learner, row in kept.items():
        rebuild_digests([learner], now=row[1].timestamp())  # the same cut instant, from the whole log
    assert _digest_rows(ids) == kept
    built = max(row[1] for row in kept.values()).timestamp()
    for later in (3600.0, 2.5 * DAY):
        assert differences(build_inputs(ids, built + later), digest_inputs(ids, built + later, since=0)) == []


def _sweep(sweep: str) -> None:
    """A whole sweep as beat starts it (fan-out left on the unconsumed test queue), its shards run here."""
    client = redis_client()
    for key in [*client.keys(f"learnpulse:lock:sweep:{sweep}:*"), *client.keys(f"learnpulse:done:shard:{sweep}:*")]:
        client.delete(key)  # a second sweep in one window, on purpose
    window = start_sweep(sweep, monitoring_shard, owner=uuid.uuid4().hex)["window"]
    for low, high in shard_ranges(shard_size()):
        run_shard(sweep, low, high, window)


def test_sweep_shards_read_digests_and_raise_what_the_log_raises(planted):
    ids = sorted(planted.values())
    now = time.time()
    for sweep in ("performance", "engagement"):
        full = evaluate_rules(ids, sweep, dry_run=True).would_raise
        cut = evaluate_rules(ids, sweep, dry_run=True, prepared=digest_inputs(ids, now)).would_raise
        assert sorted(map(str, cut)) == sorted(map(str, full)) and full
    _sweep("performance")
    _sweep("engagement")
    expected = {
        name: EXPECTED["performance"].get(name, set()) | rules for name, rules in EXPECTED["engagement"].items()
    }
    assert open_alerts() == expected
    assert set(_digest_rows(ids)) == set(ids)  # built by the first sweep (nothing had evaluated these learners)


def test_a_sweep_rebuilds_a_digest_an_unevaluated_event_made_stale(planted, client, service):
    _sweep("performance")
    assert "performance_decline" in open_alerts()["decliner"]
    before = _digest_rows([planted["decliner"]])[planted["decliner"]]
    now = datetime.now(UTC)
    recovery = [
        {
            "learner": "decliner",
            "kind": "assessment",
            "occurred_at": (now - timedelta(hours=h)).isoformat(),
            "score": 90,
            "max_score": 100,
        }
        for h in (3, 2, 1)
    ]
    _post(client, service, recovery)  # stored, but no evaluation ran (as when the worker was down)
    _sweep("performance")
    after = _digest_rows([planted["decliner"]])[planted["decliner"]]
    assert after[0] > before[0] and "performance_decline" not in open_alerts().get("decliner", set())


def test_packed_digests_are_put_back_in_learner_order():
    heads = np.zeros(3, HEAD)
    heads["learner"], heads["n"] = [30, 10, 20], np.array([2, 1, 3]) * RECORD.itemsize
    records = np.zeros(6, RECORD)
    records["time"] = [30.0, 30.5, 10.0, 20.0, 20.5, 20.75]  # each learner's records, in the stream's order
    sorted_heads, sorted_records = in_learner_order(heads, records)
    assert sorted_heads["learner"].tolist() == [10, 20, 30]
    assert sorted_records["time"].tolist() == [10.0, 20.0, 20.5, 20.75, 30.0, 30.5]


def test_all_rows_at_once_equal_each_row():
    cohort = generate_cohort(300, 30, seed=2)
    metrics = compute_learner_metrics(cohort.events, cohort.now)
    assert metrics.rows() == [metrics.row(i) for i in range(300)]
    assert any(value is None for row in metrics.rows() for value in row.values())  # NaN became None


def test_the_digests_command_builds_every_digest_and_sets_the_watermark(planted, app):
    result = app.test_cli_runner().invoke(args=["monitoring", "digests"])
    assert result.exit_code == 0, result.output
    assert set(_digest_rows(planted.values())) == set(planted.values())
    newest = db.session.scalar(sa.select(sa.func.max(Event.id)))
    assert int(redis_client().get(UPTO_KEY)) == newest and f"up to id {newest}" in result.output
