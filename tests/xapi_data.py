"""Statements for the xAPI tests: a valid base statement and helpers to vary it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

ADL = "http://adlnet.gov/expapi/verbs/"
HOME = "https://lms.example.org"
VERSION = {"X-Experience-API-Version": "1.0.3"}


def statement(
    learner: str = "amy", verb: str = "experienced", activity: str = "https://lms.example.org/page/1", **extra: Any
) -> dict[str, Any]:
    """A valid statement: an LMS account actor, an ADL verb, an activity; `extra` adds or replaces properties."""
    body: dict[str, Any] = {
        "actor": {"objectType": "Agent", "name": learner.title(), "account": {"homePage": HOME, "name": learner}},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": "2026-01-05T10:00:00.000Z",
    }
    body.update(copy.deepcopy(extra))
    return body


def with_id(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), **body}


def scored(
    learner: str, raw: float, maximum: float = 100, activity: str = "https://lms.example.org/quiz-1", **extra: Any
):
    """An `scored` statement with result.score raw/min/max."""
    return statement(
        learner,
        "scored",
        activity,
        result={"score": {"raw": raw, "min": 0, "max": maximum, "scaled": raw / maximum}},
        **extra,
    )
