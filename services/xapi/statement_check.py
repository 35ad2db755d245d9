"""Whole-statement validation: object, result, context, timestamp, version, voiding and attachments."""

from __future__ import annotations

from typing import Any

from services.xapi.formats import DURATION, LANGUAGE_TAG, UUID, parse_timestamp
from services.xapi.validation import (
    CONTEXT_KEYS,
    STATEMENT_KEYS,
    SUBSTATEMENT_KEYS,
    VOIDED,
    Checker,
    Problems,
    check_activity,
    check_agent,
    check_statement_ref,
)

CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
ATTACHMENTS_REFUSED = "attachments are not supported by this LRS: send the statement without them"


def check_object(c: Checker, value: Any, path: str, nested: bool = False) -> None:
    """An Activity (the default), Agent, Group, StatementRef or (not nested) SubStatement."""
    if not isinstance(value, dict):
        c.fail(path, "must be a JSON object")
        return
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        check_activity(c, value, path)
    elif kind in ("Agent", "Group"):
        check_agent(c, value, path)
    elif kind == "StatementRef":
        check_statement_ref(c, value, path)
    elif kind == "SubStatement" and nested:
        c.fail(f"{path}.objectType", "a SubStatement may not contain another SubStatement")
    elif kind == "SubStatement":
        if c.obj(value, path, SUBSTATEMENT_KEYS, ("actor", "verb", "object")):
            _check_core(c, value, path, nested=True)
    else:
        c.fail(f"{path}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement")


def check_result(c: Checker, value: Any, path: str) -> None:
    keys = {"score", "success", "completion", "response", "duration", "extensions"}
    if not c.obj(value, path, keys):
        return
    if "score" in value:
        _check_score(c, value["score"], f"{path}.score")
    for key in ("success", "completion"):
        if key in value:
            c.boolean(value[key], f"{path}.{key}")
    if "response" in value:
        c.string(value["response"], f"{path}.response")
    if "duration" in value:
        c.string(value["duration"], f"{path}.duration", DURATION, "an ISO 8601 duration such as PT1H30M or PT45.5S")
    if "extensions" in value:
        c.extensions(value["extensions"], f"{path}.extensions")


def _check_score(c: Checker, score: Any, path: str) -> None:
    """scaled within [-1, 1]; min < max; raw within [min, max]."""
    if not c.obj(score, path, {"scaled", "raw", "min", "max"}):
        return
    numbers = {key: score[key] for key in ("scaled", "raw", "min", "max") if key in score}
    if not all(c.number(v, f"{path}.{k}") for k, v in numbers.items()):
        return
    if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
        c.fail(f"{path}.scaled", "must be between -1 and 1")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and low >= high:
        c.fail(f"{path}.min", "must be less than max")
    elif raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        c.fail(f"{path}.raw", "must be between min and max")


def check_context(c: Checker, value: Any, path: str, object_is_activity: bool) -> None:
    if not c.obj(value, path, CONTEXT_KEYS):
        return
    if "registration" in value:
        c.string(value["registration"], f"{path}.registration", UUID, "a UUID")
    if "instructor" in value:
        check_agent(c, value["instructor"], f"{path}.instructor")
    if "team" in value:
        if isinstance(value["team"], dict) and value["team"].get("objectType") != "Group":
            c.fail(f"{path}.team.objectType", "must be Group")
        check_agent(c, value["team"], f"{path}.team")
    if "contextActivities" in value:
        _check_context_activities(c, value["contextActivities"], f"{path}.contextActivities")
    for key in ("revision", "platform"):
        if key in value and c.string(value[key], f"{path}.{key}") and not object_is_activity:
            c.fail(f"{path}.{key}", "may only be used when the statement's object is an Activity")
    if "language" in value:
        c.string(value["language"], f"{path}.language", LANGUAGE_TAG, "an RFC 5646 language tag")
    if "statement" in value:
        check_statement_ref(c, value["statement"], f"{path}.statement")
        if isinstance(value["statement"], dict) and value["statement"].get("objectType") != "StatementRef":
            c.fail(f"{path}.statement.objectType", "must be StatementRef")
    if "extensions" in value:
        c.extensions(value["extensions"], f"{path}.extensions")


def _check_context_activities(c: Checker, value: Any, path: str) -> None:
    if not c.obj(value, path, set(CONTEXT_ACTIVITY_KEYS)):
        return
    for key, activities in value.items():
        if isinstance(activities, list):
            for index, activity in enumerate(activities):
                check_activity(c, activity, f"{path}.{key}[{index}]")
        else:
            check_activity(c, activities, f"{path}.{key}")


def _check_core(c: Checker, value: dict[str, Any], path: str, nested: bool) -> None:
    """What statements and SubStatements share: actor, verb, object, result, context, timestamp."""
    if "actor" in value:
        check_agent(c, value["actor"], f"{path}.actor")
    verb = value.get("verb")
    if verb is not None and c.obj(verb, f"{path}.verb", {"id", "display"}, ("id",)):
        if "id" in verb:
            c.iri(verb["id"], f"{path}.verb.id")
        if "display" in verb:
            c.language_map(verb["display"], f"{path}.verb.display")
    if "object" in value:
        check_object(c, value["object"], f"{path}.object", nested)
    if "result" in value:
        check_result(c, value["result"], f"{path}.result")
    if "context" in value:
        is_activity = (
            isinstance(value.get("object"), dict) and value["object"].get("objectType", "Activity") == "Activity"
        )
        check_context(c, value["context"], f"{path}.context", is_activity)
    if "timestamp" in value and c.string(value["timestamp"], f"{path}.timestamp"):
        try:
            parse_timestamp(value["timestamp"])
        except ValueError as exc:
            c.fail(f"{path}.timestamp", str(exc))


def check_statement(value: Any, path: str) -> Problems:
    """Every problem of one statement; an empty list means the LRS accepts it."""
    c = Checker()
    if isinstance(value, dict) and "attachments" in value:
        c.fail(f"{path}.attachments", ATTACHMENTS_REFUSED)
        value = {k: v for k, v in value.items() if k != "attachments"}
    if not c.obj(value, path, STATEMENT_KEYS, ("actor", "verb", "object")):
        return c.problems
    if "id" in value:
        c.string(value["id"], f"{path}.id", UUID, "a UUID such as 0f9d2c5e-6a1b-4c3d-9e8f-0a1b2c3d4e5f")
    _check_core(c, value, path, nested=False)
    if "version" in value and c.string(value["version"], f"{path}.version"):
        if not (value["version"] == "1.0" or value["version"].startswith("1.0.")):
            c.fail(f"{path}.version", "must start with 1.0. (this LRS speaks xAPI 1.0.x)")
    for key in ("stored",):
        if key in value and c.string(value[key], f"{path}.{key}"):
            try:
                parse_timestamp(value[key])
            except ValueError as exc:
                c.fail(f"{path}.{key}", str(exc))
    if "authority" in value:
        check_agent(c, value["authority"], f"{path}.authority")
    verb = value.get("verb")
    if isinstance(verb, dict) and verb.get("id") == VOIDED:
        target = value.get("object")
        if not isinstance(target, dict) or target.get("objectType") != "StatementRef":
            c.fail(f"{path}.object.objectType", "a voiding statement's object must be a StatementRef")
    return c.problems
