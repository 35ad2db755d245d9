"""The table that turns xAPI statements into LearnPulse events (the default; XAPI_MAPPING_FILE overrides it).

`rules` are tried in order; the first whose verb (and, when given, activity type, and need for a
score) matches decides the kind of event:

- `completion`: `module_completed` when the activity is a LearnPulse module (a course alone: `activity`);
- `assessment`: an assessment scored from `result.score` (raw/min/max when max is given, else scaled);
- `attendance`: an attendance mark (`status`) in the section the activity names, on the statement's day;
- `activity`: engagement, with `result.duration` as the time spent.

Activities become courses, modules and sections by their IRI (the IRI is the external id), by one of
`lms_id_extensions` in the activity's definition (its value is the external id), or by an
`activity_patterns` regex whose `id` group is the external id. Actors become learners by
`account.name` (the LMS id, optionally only for `account_home_pages`) or by `mbox` (the user's email).
A JSON file with any of these keys replaces those keys of the default.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from models import ATTENDANCE_STATUSES

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_ACTIVITIES = "http://adlnet.gov/expapi/activities/"
TINCAN = "http://id.tincanapi.com/verb/"
KINDS = ("completion", "assessment", "attendance", "activity")
ENTITIES = ("course", "module", "section")
ASSESSMENT_TYPES = [
    f"{ADL_ACTIVITIES}assessment",
    f"{ADL_ACTIVITIES}question",
    f"{ADL_ACTIVITIES}cmi.interaction",
    "http://id.tincanapi.com/activitytype/school-assignment",
]

DEFAULT_MAPPING: dict[str, Any] = {
    "rules": [
        # passing or completing a quiz with a score is a scored assessment, not a module completion
        {
            "verbs": [f"{ADL}passed", f"{ADL}completed"],
            "activity_types": ASSESSMENT_TYPES,
            "needs_score": True,
            "kind": "assessment",
        },
        {
            "verbs": [f"{ADL}completed", f"{ADL}passed", "https://w3id.org/xapi/adl/verbs/satisfied"],
            "kind": "completion",
        },
        {
            "verbs": [f"{ADL}scored", f"{ADL}answered", f"{ADL}failed", f"{ADL}mastered"],
            "needs_score": True,
            "kind": "assessment",
        },
        {"verbs": [f"{ADL}attended"], "kind": "attendance", "status": "present"},
        {
            "verbs": [
                f"{ADL}experienced",
                f"{ADL}launched",
                f"{ADL}progressed",
                f"{ADL}attempted",
                f"{ADL}initialized",
                f"{ADL}interacted",
                f"{ADL}answered",
                f"{ADL}resumed",
                f"{TINCAN}viewed",
                "https://w3id.org/xapi/video/verbs/played",
                "http://activitystrea.ms/schema/1.0/access",
                "https://w3id.org/xapi/dod-isd/verbs/accessed",
            ],
            "kind": "activity",
        },
    ],
    "lms_id_extensions": ["https://learnpulse.io/xapi/extensions/lms-id"],
    "activity_patterns": [],  # e.g. {"pattern": "/course/view\\.php\\?id=(?P<id>\\d+)$", "entity": "course"}
    "account_home_pages": [],  # empty: any account's name is the LMS id
}


class MappingError(ValueError):
    """The mapping file is malformed; the process must not start with it."""


def _check(table: dict[str, Any]) -> dict[str, Any]:
    """Refuse a table the mapper would misread, naming the entry."""
    for index, rule in enumerate(table["rules"]):
        if rule.get("kind") not in KINDS or not isinstance(rule.get("verbs"), list):
            raise MappingError(f"rules[{index}] needs `verbs` (a list) and `kind` (one of {', '.join(KINDS)})")
        if rule["kind"] == "attendance" and rule.get("status", "present") not in ATTENDANCE_STATUSES:
            raise MappingError(f"rules[{index}].status must be one of {', '.join(ATTENDANCE_STATUSES)}")
    for index, entry in enumerate(table["activity_patterns"]):
        if entry.get("entity") not in ENTITIES:
            raise MappingError(f"activity_patterns[{index}].entity must be one of {', '.join(ENTITIES)}")
        try:
            if "id" not in re.compile(entry["pattern"]).groupindex:
                raise MappingError(f"activity_patterns[{index}].pattern needs a named group (?P<id>...)")
        except (KeyError, re.error) as exc:
            raise MappingError(f"activity_patterns[{index}].pattern is not a regular expression: {exc}") from exc
    return table


@lru_cache(maxsize=4)
def load_mapping(path: str | None) -> dict[str, Any]:
    """The default table, with the keys of the JSON file at `path` (when given) replacing its own (read once
    per process: restart after editing the file)."""
    if not path:
        return DEFAULT_MAPPING
    try:
        override = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MappingError(f"XAPI_MAPPING_FILE {path}: {exc}") from exc
    unknown = set(override) - set(DEFAULT_MAPPING) if isinstance(override, dict) else {"(not an object)"}
    if unknown:
        raise MappingError(f"XAPI_MAPPING_FILE {path}: unknown keys {', '.join(sorted(unknown))}")
    return _check({**DEFAULT_MAPPING, **override})
