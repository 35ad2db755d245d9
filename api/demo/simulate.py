"""`flask demo simulate`: a school day played against a running server through its public HTTP API
(events, class registers, a new exam and its mark sheet), so the dashboards visibly move.

The class shown first (the first section with learners: Algebra I, Period 1 of the demo, taught by the
demo educator) gets most of the activity; a few of its learners slip, a few shine."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.auth.tokens import issue_token
from api.demo.http import JsonClient
from models import Course, Enrollment, LearnerCounters, Module, Section, Subject, User, db

SIMULATOR_ID = "demo-simulator"
FIRST_EXAM_AFTER, EXAM_EVERY, REGISTER_EVERY, REPORT_EVERY = 2.0, 120.0, 20.0, 5.0
MAX_BATCH = 500


@dataclass(frozen=True)
class ClassGroup:
    """A section, its course and subject, its enrolled learners and its course's modules (with skills)."""

    external_id: str
    name: str
    course: str | None
    subject: str | None
    learners: list[str]
    modules: list[tuple[str, str]]  # (module external id, skill slug)


@dataclass
class Stats:
    events: Counter = field(default_factory=Counter)  # records sent, by kind
    requests: int = 0
    errors: int = 0
    exams: int = 0
    seconds: float = 0.0
    last_error: str = ""


def load_classes() -> list[ClassGroup]:
    """Every section with learners, in id order (the demo's Algebra I, Period 1 first), best learners first."""
    classes = []
    for section in db.session.scalars(sa.select(Section).order_by(Section.id)):
        learners = _best_first(section.id)
        if learners:
            course = db.session.get(Course, section.course_id) if section.course_id else None
            subject = db.session.get(Subject, section.subject_id) if section.subject_id else None
            classes.append(
                ClassGroup(
                    section.external_id,
                    section.name,
                    course.external_id if course else None,
                    subject.external_id if subject else None,
                    learners,
                    _modules(course),
                )
            )
    return classes


def _best_first(section_id: int) -> list[str]:
    """A section's active learners, best average score first (so the simulator's achievers can shine)."""
    rows = db.session.execute(
        sa.select(User.external_id, LearnerCounters.score_ratio_sum, LearnerCounters.assessment_count)
        .join(Enrollment, Enrollment.learner_id == User.id)
        .outerjoin(LearnerCounters, LearnerCounters.learner_id == User.id)
        .where(Enrollment.section_id == section_id, Enrollment.status == "active")
        .order_by(User.id)
    ).all()
    return [ext for ext, total, count in sorted(rows, key=lambda r: -(r[1] or 0.0) / (r[2] or 1))]


def _modules(course: Course | None) -> list[tuple[str, str]]:
    """A course's modules in order, each with a skill slug ("algebra-i-linear-equations")."""
    if course is None:
        return []
    rows = db.session.execute(
        sa.select(Module.external_id, Module.title).where(Module.course_id == course.id).order_by(Module.position)
    )
    return [(ext, f"{course.title}-{title}".lower().replace(" ", "-")) for ext, title in rows]


def simulator_token(secret: str, ttl_seconds: int) -> str:
    """A service token for the simulator's own service user (created on first use)."""
    user = db.session.scalar(sa.select(User).where(User.external_id == SIMULATOR_ID))
    if user is None:
        db.session.add(User(external_id=SIMULATOR_ID, role="service", name="Demo simulator"))
        db.session.commit()
    return issue_token(secret, SIMULATOR_ID, "service", ttl_seconds)[0]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Simulator:
    """Plays events for `classes` through `client`; every choice comes from one seeded RNG."""

    def __init__(self, client: JsonClient, classes: list[ClassGroup], seed: int) -> None:
        self.client, self.classes, self.rng = client, classes, random.Random(seed)
        self.focus = classes[0]
        best, rest = self.focus.learners[:2], self.focus.learners[2:]
        self.achievers, self.slipping = set(best), set(self.rng.sample(rest, min(3, len(rest))))
        self.run_id = f"sim-{seed}-{int(time.time())}"
        self.stats, self.serial, self.registers, self.sent = Stats(), 0, 0, 0
        self.next: dict[str, float] = {}

    def _id(self) -> str:
        self.serial += 1
        return f"{self.run_id}-{self.serial}"

    def _send(self, method: str, path: str, body: Any, kinds: Counter | None = None) -> bool:
        """One request; counts its records as sent by kind, or the request as an error with its message."""
        status, answer = self.client.request(method, path, body)
        self.stats.requests += 1
        if status == 0 or status >= 400:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            self.stats.errors, self.stats.last_error = self.stats.errors + 1, f"{method} {path}: {status} {message}"
            return False
        self.stats.events.update(kinds or Counter())
        return True

    def learning_events(self, count: int) -> None:
        """`count` events (activity, quizzes, module completions) posted as one batch."""
        events = [self._event() for _ in range(count)]
        self._send("POST", "/api/v1/events", {"events": events}, Counter(e["kind"] for e in events))

    def _event(self) -> dict[str, Any]:
        group = self.focus if self.rng.random() < 0.6 else self.rng.choice(self.classes)
        learner = self.rng.choice(group.learners)
        kind = self.rng.choices(("activity", "assessment", "module_completed"), (0.62, 0.28, 0.10))[0]
        if kind == "assessment" and group is self.focus and self.rng.random() < 0.5:
            learner = self.rng.choice(sorted(self.slipping | self.achievers))
        event: dict[str, Any] = {"id": self._id(), "learner": learner, "kind": kind, "occurred_at": _now()}
        module, skill = self.rng.choice(group.modules) if group.modules else (None, None)
        if module:
            event["module"] = module
        elif kind == "module_completed":
            event["kind"] = kind = "activity"
        if kind == "activity":
            event["duration_seconds"] = self.rng.randint(120, 1800)
        elif kind == "assessment":
            event.update(score=round(self._score(learner), 1), max_score=100, **({"skill": skill} if skill else {}))
        return event

    def _score(self, learner: str) -> float:
        if learner in self.slipping:
            return self.rng.uniform(15, 45)
        if learner in self.achievers:
            return self.rng.uniform(93, 100)
        return min(100.0, max(0.0, self.rng.gauss(74, 10)))

    def take_register(self, group: ClassGroup) -> None:
        """Today's attendance for a class: most present, the slipping learners often absent."""
        records = []
        for learner in group.learners:
            absent = self.rng.random() < (0.6 if learner in self.slipping else 0.07)
            status = self.rng.choice(("absent", "late", "excused")) if absent else "present"
            records.append({"id": self._id(), "learner": learner, "status": status})
        body = {"section": group.external_id, "date": datetime.now(UTC).date().isoformat(), "records": records}
        self._send("POST", "/api/v1/attendance", body, Counter(attendance=len(records)))

    def hold_exam(self, group: ClassGroup) -> None:
        """Create a pop quiz for a class (PUT /exams/<id>) and post its mark sheet."""
        now = datetime.now(UTC)
        exam_id = f"{self.run_id}-quiz-{self.stats.exams + 1}"
        exam = {
            "title": f"{group.name} — Pop Quiz {now:%d %b %H:%M}",
            "max_marks": 100,
            "held_on": now.date().isoformat(),
            "section": group.external_id,
            **{name: value for name, value in (("course", group.course), ("subject", group.subject)) if value},
        }
        if not self._send("PUT", f"/api/v1/exams/{exam_id}", exam):
            return
        self.stats.exams += 1
        grades = [
            {"id": self._id(), "learner": learner, "marks": round(self._score(learner), 1)}
            for learner in group.learners
        ]
        self._send("POST", f"/api/v1/exams/{exam_id}/grades", {"grades": grades}, Counter(grade=len(grades)))

    def run(self, rate: float, duration: float | None, report: Callable[[str], None]) -> Stats:
        """Play until `duration` seconds have passed (or forever); report progress every few seconds."""
        started = time.monotonic()
        self.sent, self.next = 0, {"exam": FIRST_EXAM_AFTER, "register": REGISTER_EVERY, "report": REPORT_EVERY}
        try:
            self.take_register(self.focus)
            while duration is None or time.monotonic() - started < duration:
                elapsed = time.monotonic() - started
                self._tick(elapsed, rate, report)
                time.sleep(max(0.0, min(1.0 / rate, 0.5) - (time.monotonic() - started - elapsed)))
        finally:
            self.stats.seconds = time.monotonic() - started
        return self.stats

    def _tick(self, elapsed: float, rate: float, report: Callable[[str], None]) -> None:
        """Send what is due by now: learning events at the rate, then any exam, register or report."""
        due = min(MAX_BATCH, int(rate * elapsed) - self.sent)
        if due > 0:
            self.learning_events(due)
            self.sent += due
        if elapsed >= self.next["exam"]:
            self.hold_exam(self.focus if self.stats.exams == 0 else self.rng.choice(self.classes))
            self.next["exam"] += EXAM_EVERY
        if elapsed >= self.next["register"]:
            self.registers += 1
            self.take_register(self.classes[self.registers % len(self.classes)])
            self.next["register"] += REGISTER_EVERY
        if elapsed >= self.next["report"]:
            report(self.progress_line(elapsed))
            self.next["report"] += REPORT_EVERY

    def progress_line(self, elapsed: float) -> str:
        """One short line: time, records sent, exams, errors."""
        return (
            f"  {elapsed:5.0f} s: {sum(self.stats.events.values())} events sent in {self.stats.requests} requests, "
            f"{self.stats.exams} exam(s), {self.stats.errors} error(s)"
        )
