"""A realistic synthetic school for `flask demo seed`: steady learners and some who visibly slip."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from api.events.ingest import ingest_events
from models import Course, Enrollment, Exam, Module, Section, Subject, User, db
from services.evaluation import update_learner_counters

SUBJECTS = (("math", "Mathematics"), ("science", "Science"))
GROUPS = "ABCD"
MODULES_PER_COURSE = 10
SLIP_SHARE = 0.12
BATCH = 5000


def _get_or_create(model: Any, external_id: str, **values: Any) -> Any:
    row = db.session.scalar(sa.select(model).where(model.external_id == external_id))
    if row is None:
        row = model(external_id=external_id, **values)
        db.session.add(row)
        db.session.flush()
    return row


def _build_catalog() -> dict[str, Any]:
    """Two courses with modules, their subjects, four educators and eight sections."""
    educators = [_get_or_create(User, f"demo-educator-{n}", role="educator", name=f"Teacher {n}") for n in range(1, 5)]
    catalog: dict[str, Any] = {"educators": educators, "sections": {}, "modules": {}, "exams": {}}
    for key, name in SUBJECTS:
        course = _get_or_create(Course, f"demo-{key}-101", title=f"{name} 101")
        subject = _get_or_create(Subject, f"demo-{key}", name=name)
        catalog["modules"][key] = [
            _get_or_create(Module, f"demo-{key}-m{m:02d}", course_id=course.id, title=f"{name} unit {m}", position=m)
            for m in range(1, MODULES_PER_COURSE + 1)
        ]
        catalog["sections"][key] = [
            _get_or_create(
                Section,
                f"demo-{key}-{g}",
                name=f"{name} {g}",
                course_id=course.id,
                subject_id=subject.id,
                educator_id=educators[i].id,
            )
            for i, g in enumerate(GROUPS)
        ]
        catalog["exams"][key] = _get_or_create(
            Exam,
            f"demo-{key}-midterm",
            title=f"{name} midterm",
            max_marks=100,
            course_id=course.id,
            subject_id=subject.id,
        )
    db.session.commit()
    return catalog


def _enroll(learners: dict[int, int], catalog: dict[str, Any]) -> None:
    """Enroll demo learner n (by number) in group n % 4 of each subject, where their attendance is kept."""
    existing = set(db.session.execute(sa.select(Enrollment.learner_id, Enrollment.section_id)).all())
    for n, learner_id in learners.items():
        for key, _ in SUBJECTS:
            section = catalog["sections"][key][n % len(GROUPS)]
            if (learner_id, section.id) not in existing:
                db.session.add(Enrollment(learner_id=learner_id, section_id=section.id, status="active"))
    db.session.commit()


def _learner_events(
    n: int, slipping: bool, days: int, start: datetime, rng: random.Random, catalog: dict[str, Any]
) -> list[dict[str, Any]]:
    """Sixty days of one learner: activity, module completions, assessments, attendance, a midterm."""
    learner, ability = f"demo-learner-{n:03d}", min(97.0, max(45.0, rng.gauss(76, 10)))
    rate, events, progress = rng.uniform(1.5, 4.0), [], {key: 0 for key, _ in SUBJECTS}
    slip_day = int(days * 0.65)
    for day in range(days):
        date = (start + timedelta(days=day)).date()
        fading = slipping and day >= slip_day
        for key, _ in SUBJECTS:
            section = catalog["sections"][key][n % len(GROUPS)]
            if date.weekday() < 5:
                present = rng.random() < (0.55 if fading else 0.94)
                events.append(
                    {
                        "id": f"{learner}-att-{key}-{date}",
                        "learner": learner,
                        "kind": "attendance",
                        "section": section.external_id,
                        "date": date.isoformat(),
                        "status": "present" if present else rng.choice(("absent", "late", "excused")),
                    }
                )
            module = catalog["modules"][key][min(progress[key], MODULES_PER_COURSE - 1)]
            for a in range(_poisson(rng, 0.2 if fading else rate / 2)):
                at = datetime.combine(date, time(rng.randint(7, 21), rng.randint(0, 59)), UTC)
                events.append(
                    {
                        "id": f"{learner}-act-{key}-{day}-{a}",
                        "learner": learner,
                        "kind": "activity",
                        "module": module.external_id,
                        "occurred_at": at.isoformat(),
                        "duration_seconds": rng.randint(120, 2400),
                    }
                )
            if not fading and progress[key] < MODULES_PER_COURSE and rng.random() < rate / 14:
                events.append(
                    {
                        "id": f"{learner}-mod-{key}-{progress[key]}",
                        "learner": learner,
                        "kind": "module_completed",
                        "module": module.external_id,
                        "occurred_at": datetime.combine(date, time(20), UTC).isoformat(),
                    }
                )
                progress[key] += 1
            if day % 4 == (n + len(key)) % 4 and (not fading or rng.random() < 0.5):
                score = min(100.0, max(0.0, rng.gauss(ability - (28 if fading else 0), 6)))
                events.append(
                    {
                        "id": f"{learner}-quiz-{key}-{day}",
                        "learner": learner,
                        "kind": "assessment",
                        "module": module.external_id,
                        "skill": f"{key}-unit-{progress[key] + 1}",
                        "score": round(score, 1),
                        "max_score": 100,
                        "occurred_at": datetime.combine(date, time(15), UTC).isoformat(),
                    }
                )
            if day == days // 2:
                events.append(
                    {
                        "id": f"{learner}-midterm-{key}",
                        "learner": learner,
                        "kind": "grade",
                        "exam": catalog["exams"][key].external_id,
                        "marks": round(min(100.0, max(0.0, rng.gauss(ability, 8))), 1),
                        "occurred_at": datetime.combine(date, time(12), UTC).isoformat(),
                    }
                )
    return events


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, pow(2.718281828, -mean), rng.random()
    while product > threshold:
        count, product = count + 1, product * rng.random()
    return count


def seed_school(learner_count: int, days: int, random_seed: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Create the school and ingest its history through the same path as the API; idempotent."""
    rng = random.Random(random_seed)
    catalog = _build_catalog()
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    slipping = set(rng.sample(range(1, learner_count + 1), max(1, int(learner_count * SLIP_SHARE))))
    stored = 0
    pending: list[dict[str, Any]] = []
    for n in range(1, learner_count + 1):
        pending.extend(_learner_events(n, n in slipping, days, start, rng, catalog))
        if len(pending) >= BATCH or n == learner_count:
            for offset in range(0, len(pending), BATCH):
                stored += len(
                    ingest_events(
                        pending[offset : offset + BATCH],
                        collection="events",
                        auto_create=True,
                        skew=timedelta(minutes=5),
                    ).stored_ids
                )
            pending = []
            progress(f"  learners {n}/{learner_count}, events stored {stored}")
    learners = {
        int(ext.rsplit("-", 1)[1]): pk
        for ext, pk in db.session.execute(
            sa.select(User.external_id, User.id).where(User.external_id.like("demo-learner-%"))
        )
    }
    _enroll(learners, catalog)
    learner_ids = list(learners.values())
    for offset in range(0, len(learner_ids), 500):
        update_learner_counters(learner_ids[offset : offset + 500])
    steady = min(n for n in range(4, learner_count + 1, len(GROUPS)) if n not in slipping)  # taught by demo-educator-1
    return {
        "learners": len(learners),
        "sections": len(GROUPS) * len(SUBJECTS),
        "events": stored,
        "slipping": len(slipping),
        "educator": "demo-educator-1",
        "learner": f"demo-learner-{steady:03d}",
    }
