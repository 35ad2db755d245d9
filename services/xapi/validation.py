"""Statement validation by the rules of xAPI 1.0.3 (Data, part two): each problem names its field path.

Pure Python, no database: the LRS rejects a statement with null values, unknown properties, wrong
types, malformed IRIs, UUIDs, timestamps or durations, an actor without exactly one inverse
functional identifier, or a score outside its bounds.
"""

from __future__ import annotations

from typing import Any

from services.xapi.formats import IRI, LANGUAGE_TAG, MAILTO, SHA1_HEX, UUID

Problems = list[dict[str, str]]
MAX_IRI = 512  # the longest IRI stored in an indexed column
MAX_TEXT = 255  # account names
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version"}
SUBSTATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp"}
AGENT_KEYS = {"objectType", "name", *IFIS}
GROUP_KEYS = AGENT_KEYS | {"member"}
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
}
CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}


class Checker:
    """Collects problems while walking one statement; `path` prefixes every field name."""

    def __init__(self) -> None:
        self.problems: Problems = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append({"path": path, "reason": reason})

    def obj(self, value: Any, path: str, allowed: set[str], required: tuple[str, ...] = ()) -> bool:
        """An object with only `allowed` keys, every `required` one, and no null values."""
        if not isinstance(value, dict):
            self.fail(path, "must be a JSON object")
            return False
        for key, item in value.items():
            if key not in allowed:
                self.fail(f"{path}.{key}", "is not a property xAPI allows here")
            elif item is None:
                self.fail(f"{path}.{key}", "must not be null")
        for key in required:
            if key not in value:
                self.fail(f"{path}.{key}", "is required")
        return True

    def string(self, value: Any, path: str, pattern: Any = None, what: str = "", max_length: int = 0) -> bool:
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return False
        if max_length and len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters (this LRS's limit)")
            return False
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"must be {what}")
            return False
        return True

    def iri(self, value: Any, path: str) -> None:
        self.string(value, path, IRI, "an absolute IRI (a scheme such as https: and no spaces)", MAX_IRI)

    def number(self, value: Any, path: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, "must be a number")
            return False
        return True

    def boolean(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")

    def language_map(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be a language map (an object keyed by RFC 5646 language tags)")
            return
        for tag, text in value.items():
            if not LANGUAGE_TAG.match(tag):
                self.fail(f"{path}.{tag}", "is not an RFC 5646 language tag")
            elif not isinstance(text, str):
                self.fail(f"{path}.{tag}", "must be a string")

    def extensions(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be an object keyed by IRIs")
            return
        for key in value:
            if not IRI.match(key):
                self.fail(f"{path}.{key}", "extension keys must be absolute IRIs")


def check_agent(c: Checker, value: Any, path: str, group_allowed: bool = True) -> None:
    """An Agent, or (where allowed) an identified or anonymous Group; exactly one inverse functional identifier."""
    kind = value.get("objectType", "Agent") if isinstance(value, dict) else "Agent"
    if kind == "Group" and not group_allowed:
        c.fail(f"{path}.objectType", "a Group may not be a member of a Group")
        return
    if kind not in ("Agent", "Group"):
        c.fail(f"{path}.objectType", "must be Agent or Group")
        return
    if not c.obj(value, path, GROUP_KEYS if kind == "Group" else AGENT_KEYS):
        return
    ifis = [key for key in IFIS if key in value]
    if len(ifis) > 1:
        c.fail(path, f"must have exactly one inverse functional identifier, not {len(ifis)} ({', '.join(ifis)})")
    elif not ifis and not (kind == "Group" and "member" in value):
        c.fail(path, "must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account)")
    if "name" in value:
        c.string(value["name"], f"{path}.name")
    if "mbox" in value:
        c.string(value["mbox"], f"{path}.mbox", MAILTO, "a mailto: IRI such as mailto:ada@example.org", MAX_IRI)
    if "mbox_sha1sum" in value:
        c.string(value["mbox_sha1sum"], f"{path}.mbox_sha1sum", SHA1_HEX, "40 hexadecimal digits (SHA-1)")
    if "openid" in value:
        c.iri(value["openid"], f"{path}.openid")
    if "account" in value and c.obj(value["account"], f"{path}.account", {"homePage", "name"}, ("homePage", "name")):
        account = value["account"]
        if "homePage" in account:
            c.iri(account["homePage"], f"{path}.account.homePage")
        if "name" in account:
            c.string(account["name"], f"{path}.account.name", max_length=MAX_TEXT)
    if kind == "Group" and "member" in value:
        members = value["member"]
        if not isinstance(members, list):
            c.fail(f"{path}.member", "must be a list of Agents")
        else:
            for index, member in enumerate(members):
                check_agent(c, member, f"{path}.member[{index}]", group_allowed=False)


def check_definition(c: Checker, value: Any, path: str) -> None:
    allowed = DEFINITION_KEYS | set(COMPONENT_LISTS)
    if not c.obj(value, path, allowed):
        return
    for key in ("name", "description"):
        if key in value:
            c.language_map(value[key], f"{path}.{key}")
    for key in ("type", "moreInfo"):
        if key in value:
            c.iri(value[key], f"{path}.{key}")
    if "extensions" in value:
        c.extensions(value["extensions"], f"{path}.extensions")
    if "interactionType" in value and value["interactionType"] not in INTERACTION_TYPES:
        c.fail(f"{path}.interactionType", f"must be one of {', '.join(INTERACTION_TYPES)}")
    if "correctResponsesPattern" in value:
        pattern = value["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            c.fail(f"{path}.correctResponsesPattern", "must be a list of strings")
    for key in COMPONENT_LISTS:
        if key in value:
            _check_components(c, value[key], f"{path}.{key}")


def _check_components(c: Checker, value: Any, path: str) -> None:
    if not isinstance(value, list):
        c.fail(path, "must be a list of interaction components")
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if c.obj(item, where, {"id", "description"}, ("id",)) and c.string(item.get("id"), f"{where}.id"):
            if item["id"] in seen:
                c.fail(f"{where}.id", "must be distinct within the list")
            seen.add(item["id"])
            if "description" in item:
                c.language_map(item["description"], f"{where}.description")


def check_activity(c: Checker, value: Any, path: str) -> None:
    if c.obj(value, path, {"objectType", "id", "definition"}, ("id",)):
        if value.get("objectType", "Activity") != "Activity":
            c.fail(f"{path}.objectType", "must be Activity")
        if "id" in value:
            c.iri(value["id"], f"{path}.id")
        if "definition" in value:
            check_definition(c, value["definition"], f"{path}.definition")


def check_statement_ref(c: Checker, value: Any, path: str) -> None:
    if c.obj(value, path, {"objectType", "id"}, ("objectType", "id")) and "id" in value:
        c.string(value["id"], f"{path}.id", UUID, "a UUID")
