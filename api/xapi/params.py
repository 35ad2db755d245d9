"""GET /xapi/statements parameters, validated to the same standards as statement values."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from api.errors import ApiError, field_error
from services.xapi.formats import IRI, UUID, parse_timestamp
from services.xapi.queries import StatementFilter
from services.xapi.statements import agent_ifi
from services.xapi.validation import Checker, check_agent

SINGLE = ("statementId", "voidedStatementId")
SINGLE_COMPANIONS = {"attachments", "format"}
FILTERS = {"agent", "verb", "activity", "registration", "since", "until", "limit", "ascending"}
ACCEPTED_ONLY_FALSE = {"related_activities", "related_agents", "attachments"}
KNOWN = set(SINGLE) | SINGLE_COMPANIONS | FILTERS | ACCEPTED_ONLY_FALSE | {"cursor"}
FORMATS = ("exact", "ids", "canonical")


def _bad(name: str, reason: str) -> ApiError:
    return ApiError(400, f"query parameter {name} {reason}", "invalid_parameter", [field_error(name, reason)])


def _boolean(args: MultiDict, name: str) -> bool:
    value = args.get(name, "false")
    if value not in ("true", "false"):
        raise _bad(name, "must be true or false")
    return value == "true"


def check_common(args: MultiDict) -> None:
    """Unknown parameters, the format, and the options this LRS does not offer (refused, not ignored)."""
    unknown = sorted(set(args) - KNOWN)
    if unknown:
        raise _bad(unknown[0], "is not a parameter of GET /statements")
    if args.get("format", "exact") not in FORMATS:
        raise _bad("format", f"must be one of {', '.join(FORMATS)}")
    for name in sorted(ACCEPTED_ONLY_FALSE):
        if _boolean(args, name):
            raise _bad(name, "=true is not supported by this LRS")


def single_id(args: MultiDict) -> tuple[str, bool] | None:
    """(id, voided) when one statement is asked for; None for a filtered list."""
    asked = [name for name in SINGLE if name in args]
    if not asked:
        return None
    if len(asked) == 2:
        raise _bad("voidedStatementId", "cannot be combined with statementId")
    extra = sorted(set(args) - {asked[0]} - SINGLE_COMPANIONS)
    if extra:
        raise _bad(extra[0], f"cannot be combined with {asked[0]}")
    value = args[asked[0]]
    if not UUID.match(value):
        raise _bad(asked[0], "must be a UUID")
    return value, asked[0] == "voidedStatementId"


def _agent(raw: str) -> str:
    try:
        agent: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad("agent", "must be an Agent or identified Group as JSON") from exc
    checker = Checker()
    check_agent(checker, agent, "agent")
    ifi = agent_ifi(agent) if not checker.problems else None
    if ifi is None:
        problems = checker.problems or [field_error("agent", "must have an inverse functional identifier")]
        raise ApiError(400, "query parameter agent is not a valid Agent", "invalid_parameter", problems)
    return ifi


def _int(args: MultiDict, name: str) -> int | None:
    if name not in args:
        return None
    value = args[name]
    if not value.isdigit() or len(value) > 15:
        raise _bad(name, "must be a non-negative whole number")
    return int(value)


def statement_filter(args: MultiDict) -> StatementFilter:
    """The filters of a list request."""
    for name in ("verb", "activity"):
        if name in args and not IRI.match(args[name]):
            raise _bad(name, "must be an absolute IRI")
    if "registration" in args and not UUID.match(args["registration"]):
        raise _bad("registration", "must be a UUID")
    moments = {}
    for name in ("since", "until"):
        if name in args:
            try:
                moments[name] = parse_timestamp(args[name])
            except ValueError as exc:
                raise _bad(name, str(exc)) from exc
    return StatementFilter(
        agent_ifi=_agent(args["agent"]) if "agent" in args else None,
        verb=args.get("verb"),
        activity=args.get("activity"),
        registration=args["registration"].lower() if "registration" in args else None,
        since=moments.get("since"),
        until=moments.get("until"),
        limit=_int(args, "limit") or 0,
        ascending=_boolean(args, "ascending"),
        after=_int(args, "cursor"),
    )
