"""Statements to LearnPulse events, by the mapping table: who (learner), what (kind), where (course,
module, section). A statement that cannot be mapped gets a reason instead of an event."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from models import Course, Module, Section, User, db
from models.upsert import USER_COLUMNS, Users, ids_by_external_id, users_by_external_id
from services.xapi.formats import duration_seconds
from services.xapi.statements import Prepared

# The event format's own bounds (api/events/schemas.py; tests/test_xapi_mapping.py checks they agree).
MAX_DURATION_SECONDS = 7 * 24 * 3600
MAX_SCORE = 1e9
MAX_LEARNER_ID = 128
ENTITY_MODELS: dict[str, Any] = {"module": Module, "course": Course, "section": Section}


@dataclass
class Outcome:
    """The event a statement produced (the body POST /events would take), or why it produced none."""

    event: dict[str, Any] | None = None
    reason: str | None = None


def _rule_for(statement: dict[str, Any], table: dict[str, Any], memo: dict[tuple, Any]) -> dict[str, Any] | None:
    """The first rule whose verb, activity type and score need the statement meets (`memo`: per batch, as a
    batch repeats a handful of verb, type and score combinations)."""
    verb = statement["verb"]["id"]
    activity_type = ((statement["object"].get("definition") or {}).get("type")) if _is_activity(statement) else None
    key = (verb, activity_type, _score(statement) is not None)
    if key not in memo:
        memo[key] = next((rule for rule in table["rules"] if _matches(rule, *key)), None)
    return memo[key]


def _matches(rule: dict[str, Any], verb: str, activity_type: str | None, has_score: bool) -> bool:
    if verb not in rule["verbs"]:
        return False
    if rule.get("activity_types") and activity_type not in rule["activity_types"]:
        return False
    return has_score or not rule.get("needs_score")


def _is_activity(statement: dict[str, Any]) -> bool:
    return statement["object"].get("objectType", "Activity") == "Activity"


def _score(statement: dict[str, Any]) -> tuple[float, float] | None:
    """(score, max_score) from result.score: raw within [min, max] when max is given, else scaled as a percent."""
    score = (statement.get("result") or {}).get("score") or {}
    if "raw" in score and "max" in score:
        low = score.get("min", 0)
        if score["max"] > low and score["raw"] >= low:
            return score["raw"] - low, score["max"] - low
    if "scaled" in score:
        return max(score["scaled"], 0) * 100, 100.0
    return None


def _activities(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """The object (when an Activity), then its context parents and groupings: where to look for a place."""
    found = [statement["object"]] if _is_activity(statement) else []
    context = (statement.get("context") or {}).get("contextActivities") or {}
    return found + list(context.get("parent", [])) + list(context.get("grouping", []))


def _candidates(activity: dict[str, Any], table: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(entity or None for any, external id) an activity may stand for, most specific first."""
    extensions = (activity.get("definition") or {}).get("extensions") or {}
    out: list[tuple[str | None, str]] = [
        (None, str(extensions[key])) for key in table["lms_id_extensions"] if isinstance(extensions.get(key), str | int)
    ]
    out.append((None, activity["id"]))
    for entry in table["activity_patterns"]:
        match = re.search(entry["pattern"], activity["id"])
        if match:
            out.append((entry["entity"], match.group("id")))
    return out


def _places(statements: list[dict[str, Any]], table: dict[str, Any]) -> list[dict[str, str]]:
    """For each statement, the external ids of the module, course and section its activities name."""
    memo: dict[tuple, list[tuple[str | None, str]]] = {}  # per activity: a batch names few activities many times
    per_statement = [[c for a in _activities(s) for c in _cached_candidates(a, table, memo)] for s in statements]
    wanted = {ext for candidates in memo.values() for _, ext in candidates}
    known = {name: set(ids_by_external_id(model, wanted)) for name, model in ENTITY_MODELS.items()}
    found_memo: dict[tuple, dict[str, str]] = {}
    places = []
    for candidates in per_statement:
        key = tuple(candidates)
        if key not in found_memo:
            found: dict[str, str] = {}
            for entity, ext in candidates:
                for name in ENTITY_MODELS if entity is None else (entity,):
                    if name not in found and ext in known[name]:
                        found[name] = ext
            found_memo[key] = found
        places.append(found_memo[key])
    return places


def _cached_candidates(activity: dict[str, Any], table: dict[str, Any], memo: dict) -> list[tuple[str | None, str]]:
    """_candidates, once per activity id and LMS id extension values."""
    extensions = (activity.get("definition") or {}).get("extensions") or {}
    values = tuple(
        (type(v), v) if isinstance(v, str | int) else None for v in map(extensions.get, table["lms_id_extensions"])
    )
    key = (activity["id"], values)
    if key not in memo:
        memo[key] = _candidates(activity, table)
    return memo[key]


def _learners(statements: list[dict[str, Any]]) -> tuple[Users, dict[str, str]]:
    """Id and role of the users named by account or mbox, and external ids of users named by mbox (lower-cased
    email). The event store is handed the same users, so it need not look them up again."""
    names = {a["account"]["name"] for a in (s["actor"] for s in statements) if "account" in a}
    emails = {a["mbox"][7:].lower() for a in (s["actor"] for s in statements) if "mbox" in a}
    users = users_by_external_id(names)
    by_email: dict[str, str] = {}
    for condition_values in (sorted(emails)[i : i + 1000] for i in range(0, len(emails), 1000)):
        query = sa.select(sa.func.lower(User.email), *USER_COLUMNS).where(
            sa.func.lower(User.email).in_(condition_values)
        )
        for email, external_id, pk, role in db.session.execute(query):
            by_email[email] = external_id
            users[external_id] = (pk, role)
    return users, by_email


def _learner(actor: dict[str, Any], table: dict[str, Any], users: Users, by_email: dict, auto_create: bool) -> str:
    """The learner's external id; raises ValueError with the reason when the actor is not one."""
    if actor.get("objectType") == "Group":
        raise ValueError("the actor is a Group; only an Agent maps to a learner")
    if "account" in actor:
        homes = table["account_home_pages"]
        if homes and actor["account"]["homePage"] not in homes:
            raise ValueError(f"the actor's account homePage {actor['account']['homePage']!r} is not a mapped LMS")
        external_id = actor["account"]["name"]
    elif "mbox" in actor and actor["mbox"][7:].lower() in by_email:
        external_id = by_email[actor["mbox"][7:].lower()]
    else:
        raise ValueError("the actor names no LearnPulse learner (use account.name = the LMS id, or a known mbox)")
    if not external_id.strip() or len(external_id) > MAX_LEARNER_ID:
        raise ValueError(f"account.name must be a learner id of 1 to {MAX_LEARNER_ID} characters, not blank")
    role = users[external_id][1] if external_id in users else None
    if role is None and not auto_create:
        raise ValueError(f"unknown learner {external_id!r} (auto-creation is off)")
    if role not in (None, "learner"):
        raise ValueError(f"{external_id!r} is a {role}, not a learner")
    return external_id


def _event(statement: dict[str, Any], rule: dict[str, Any], place: dict[str, str]) -> dict[str, Any]:
    """The event's fields for a matched rule, as the event validator would return them (numbers as floats);
    raises ValueError when the statement lacks what the kind needs or a value is outside the event format."""
    kind = rule["kind"]
    where = (
        {"module": place["module"]} if "module" in place else ({"course": place["course"]} if "course" in place else {})
    )
    if kind == "completion":
        if "module" in place:
            return {"kind": "module_completed", **where}
        if "course" not in place:
            raise ValueError("completed an activity that is no LearnPulse module or course")
        return {"kind": "activity", **where}
    if kind == "assessment":
        score = _score(statement)
        if score is None:
            raise ValueError("result.score needs scaled, or raw with max")
        if score[1] > MAX_SCORE:
            raise ValueError(f"result.score spans more than {MAX_SCORE:g} points (max - min), the event format's limit")
        return {"kind": "assessment", **where, "score": float(score[0]), "max_score": float(score[1])}
    if kind == "attendance":
        if "section" not in place:
            raise ValueError("attended an activity that is no LearnPulse section")
        return {"kind": "attendance", "section": place["section"], "status": rule.get("status", "present")}
    seconds = _duration(statement)
    return {"kind": "activity", **where, **({"duration_seconds": float(seconds)} if seconds is not None else {})}


def _duration(statement: dict[str, Any]) -> float | None:
    text = (statement.get("result") or {}).get("duration")
    seconds = duration_seconds(text) if text else None
    return seconds if seconds is not None and seconds <= MAX_DURATION_SECONDS else None


def map_statements(
    batch: list[Prepared], table: dict[str, Any], auto_create: bool, not_after: datetime
) -> tuple[list[Outcome], Users]:
    """One outcome per prepared statement (voiding statements: neither event nor reason), and the users the
    actors name (for the event store: they are the events' learners, or not yet users). Each event holds
    the fields the event validator would return (`occurred_at` a datetime, numbers floats, `date` a date),
    within the event format's rules, so it goes to the event store without a second validation. Events dated
    after `not_after` (now plus the allowed clock skew) are refused by the event format: those stay unmapped."""
    statements = [p.statement for p in batch]
    users, by_email = _learners(statements)
    places = _places(statements, table)
    rules: dict[tuple, Any] = {}
    outcomes = []
    for prepared, statement, place in zip(batch, statements, places):
        if prepared.voids is not None:
            outcomes.append(Outcome())
            continue
        rule = _rule_for(statement, table, rules)
        if prepared.occurred_at > not_after:
            outcomes.append(Outcome(reason=f"the timestamp is in the future (after {not_after.isoformat()})"))
            continue
        if rule is None:
            outcomes.append(Outcome(reason=f"no mapping rule for verb {statement['verb']['id']}"))
            continue
        try:
            learner = _learner(statement["actor"], table, users, by_email, auto_create)
            body = _event(statement, rule, place)
        except ValueError as exc:
            outcomes.append(Outcome(reason=str(exc)))
            continue
        event = {"id": prepared.statement_id, "learner": learner, "occurred_at": prepared.occurred_at, **body}
        if body["kind"] == "attendance":
            event["date"] = prepared.occurred_at.date()
        outcomes.append(Outcome(event=event))
    return outcomes, users
