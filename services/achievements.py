"""Award achievements at evaluation time: detect them (analytics.achievements), store each once, announce the new.

Relation to the achievement alert rules (high_performance, streak_milestone in analytics.rule_catalog):
those describe a state that holds now ("on a 7-day streak", "scoring 90%+ lately") and resolve when it
stops; achievements are milestones reached once and kept. Both stay: the alerts keep their public
fields, and every alert of theirs says `type: "achievement"`, `action_required: false`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from analytics.achievements import ACHIEVEMENT_KINDS, Found, find_achievements
from analytics.learner_metrics import EventArrays
from models import Achievement, Course, Module, db
from models.upsert import chunks_in, dialect_insert
from services.analytics_data import load_event_arrays
from services.clients import redis_client
from services.json_values import json_scalar
from services.publisher import audience, publish

LIVE_WINDOW = timedelta(days=7)  # older achievements (a history imported at once) are stored, not announced live


@dataclass(frozen=True)
class ModuleCatalog:
    """Modules in id order with their course's index; courses in id order."""

    module_ids: np.ndarray
    module_names: list[str]
    module_course: np.ndarray
    course_ids: list[int]
    course_names: list[str]
    course_modules: np.ndarray

    @classmethod
    def load(cls) -> ModuleCatalog:
        rows = db.session.execute(
            sa.select(Module.id, Module.external_id, Course.id, Course.external_id)
            .join(Course, Course.id == Module.course_id)
            .order_by(Module.id)
        ).all()
        courses = dict(sorted({(row[2], row[3]) for row in rows}))
        course_ids = list(courses)
        module_course = np.searchsorted(course_ids, [row[2] for row in rows]).astype(np.int64)
        return cls(
            np.array([row[0] for row in rows], dtype=np.int64),
            [row[1] for row in rows],
            module_course,
            course_ids,
            list(courses.values()),
            np.bincount(module_course, minlength=len(course_ids)),
        )

    def module_index(self, module_ids: np.ndarray) -> np.ndarray:
        """Each event's module index, -1 where it has none or an unknown one."""
        position = np.clip(np.searchsorted(self.module_ids, module_ids), 0, max(len(self.module_ids) - 1, 0))
        known = (module_ids >= 0) & (len(self.module_ids) > 0)
        if len(self.module_ids):
            known &= self.module_ids[position] == module_ids
        return np.where(known, position, -1)


def _describe(kind: str, key: int, value: float, previous: float, catalog: ModuleCatalog) -> tuple[str, str, dict]:
    """(key, title, details) of one achievement as stored and shown."""
    if kind == "streak_milestone":
        return str(key), f"{key}-day study streak", {"days": key}
    if kind == "module_completed":
        course = catalog.course_names[catalog.module_course[key]]
        return (
            str(catalog.module_ids[key]),
            f"Module completed: {catalog.module_names[key]}",
            {
                "module": catalog.module_names[key],
                "course": course,
            },
        )
    if kind == "course_completed":
        name = catalog.course_names[key]
        return str(catalog.course_ids[key]), f"Course completed: {name}", {"course": name, "modules": int(value)}
    if kind == "first_perfect_score":
        return "first", "First perfect score", {"score": json_scalar(value, 1)}
    return (
        str(key),
        f"Personal best: {value:.0f}%",
        {"score": json_scalar(value, 1), "previous_best": json_scalar(previous, 1)},
    )


def achievement_rows(found: Found, learner_ids: list[int], catalog: ModuleCatalog) -> list[dict[str, Any]]:
    """Database rows for what was found (learner indices map to the sorted learner ids)."""
    rows = []
    for i in range(len(found)):
        kind = ACHIEVEMENT_KINDS[int(found.kind[i])]
        key, title, details = _describe(
            kind, int(found.key[i]), float(found.value[i]), float(found.previous[i]), catalog
        )
        rows.append(
            {
                "learner_id": learner_ids[int(found.learner[i])],
                "kind": kind,
                "key": key,
                "title": title,
                "value": json_scalar(float(found.value[i]), 3),
                "details": details,
                "achieved_at": datetime.fromtimestamp(float(found.time[i]), UTC),
            }
        )
    return rows


def _store_new(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Insert the rows not stored yet; returns those this call inserted (a concurrent evaluation's are skipped)."""
    have = {
        (learner, kind, key)
        for condition in chunks_in(Achievement.learner_id, {row["learner_id"] for row in rows})
        for learner, kind, key in db.session.execute(
            sa.select(Achievement.learner_id, Achievement.kind, Achievement.key).where(condition)
        )
    }
    fresh = [dict(row, created_at=now) for row in rows if (row["learner_id"], row["kind"], row["key"]) not in have]
    fresh.sort(key=lambda row: row["achieved_at"])  # ids follow the order they were reached: lists are by id
    if not fresh:
        return []
    table = Achievement.__table__
    insert = dialect_insert(Achievement).on_conflict_do_nothing(index_elements=["learner_id", "kind", "key"])
    returned = db.session.execute(insert.returning(table.c.id, table.c.learner_id, table.c.kind, table.c.key), fresh)
    inserted = {(learner, kind, key): pk for pk, learner, kind, key in returned}
    return [
        dict(row, id=inserted[k]) for row in fresh if (k := (row["learner_id"], row["kind"], row["key"])) in inserted
    ]


def achievement_json(row: dict[str, Any] | Achievement, learner: str | None) -> dict[str, Any]:
    """An achievement as the API and the live `achievement` message show it."""
    names = ("id", "kind", "key", "title", "value", "details", "achieved_at", "created_at")
    get: dict[str, Any] = dict(row) if isinstance(row, dict) else {name: getattr(row, name) for name in names}
    return {
        "id": get["id"],
        "learner": learner,
        "kind": get["kind"],
        "key": get["key"],
        "type": "achievement",
        "action_required": False,
        "title": get["title"],
        "value": get["value"],
        "details": get["details"],
        "achieved_at": get["achieved_at"].isoformat(),
        "created_at": get["created_at"].isoformat(),
    }


def award_achievements(
    learner_ids: list[int],
    events: EventArrays,
    module_ids: np.ndarray,
    now: datetime | None = None,
    announce: bool = True,
) -> list[dict[str, Any]]:
    """Detect every achievement in these learners' events (sorted ids, as load_event_arrays gives them),
    store the new ones and (with `announce`) publish `achievement` on the learners' channels; returns the new rows."""
    now = now or datetime.now(UTC)
    catalog = ModuleCatalog.load()
    found = find_achievements(events, catalog.module_index(module_ids), catalog.module_course, catalog.course_modules)
    created = _store_new(achievement_rows(found, learner_ids, catalog), now) if len(found) else []
    db.session.commit()
    live = [row for row in created if row["achieved_at"] >= now - LIVE_WINDOW] if announce else []
    if live:
        channels, names = audience(redis_client(), [row["learner_id"] for row in live], admin=False)
        shown = [(row["learner_id"], achievement_json(row, names.get(row["learner_id"]))) for row in live]
        publish(
            redis_client(),
            [("achievement", channels.get(learner, []), data) for learner, data in shown],  # one id per message
        )
    return created


def backfill_achievements(learner_ids: Sequence[int]) -> Counter[str]:
    """Award what these learners' stored history holds and they lack (after upgrading: evaluations award only
    learners who send events). Announces nothing: a backfill is history, not news, and a school-wide run
    must not flood live clients. Idempotent (one row per learner, kind and key). Returns the new ones by kind."""
    ids = sorted(set(int(i) for i in learner_ids))
    if not ids:
        return Counter()
    events, module_ids = load_event_arrays(ids)
    return Counter(row["kind"] for row in award_achievements(ids, events, module_ids, announce=False))
