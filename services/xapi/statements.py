"""A valid statement made ready to store: id, stored, timestamp, authority and version filled in, the
comparable fingerprint (xAPI statement comparison), and the columns the GET filters use."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.json_text import compact_encoder
from services.xapi.formats import iso_utc, parse_timestamp
from services.xapi.validation import VOIDED

VERSION = "1.0.3"
IMMUTABILITY_EXCEPTIONS = ("stored", "authority", "version")
# Built once: json.dumps with options builds an encoder per call, a fifth of the cost of a statement's body.
canonical_text = compact_encoder(sort_keys=True, ensure_ascii=False)
compact_text = compact_encoder(ensure_ascii=False)


@dataclass
class Prepared:
    """One statement to store: the JSON body returned by GET and the indexed columns."""

    statement_id: str
    statement: dict[str, Any]
    body_hash: str
    stored: datetime
    occurred_at: datetime
    actor_ifi: str | None
    object_ifi: str | None
    verb_id: str
    activity_id: str | None
    registration: str | None
    voids: str | None

    def row(self, event_kind: str | None, unmapped_reason: str | None) -> tuple[Any, ...]:
        """The xapi_statements row, in services/xapi/store.py's COLUMNS order (a tuple: COPY writes tuples)."""
        return (
            self.statement_id,
            compact_text(self.statement),
            self.body_hash,
            self.stored,
            self.actor_ifi,
            self.object_ifi,
            self.verb_id,
            self.activity_id,
            self.registration,
            self.voids,
            event_kind,
            unmapped_reason,
        )


def agent_ifi(agent: Any) -> str | None:
    """The Agent's or identified Group's inverse functional identifier as one comparable string."""
    if not isinstance(agent, dict):
        return None
    if "mbox" in agent:
        return f"mbox:{agent['mbox'].lower()}"
    if "mbox_sha1sum" in agent:
        return f"mbox_sha1sum:{agent['mbox_sha1sum'].lower()}"
    if "openid" in agent:
        return f"openid:{agent['openid']}"
    if "account" in agent:
        return f"account:{agent['account']['homePage']}|{agent['account']['name']}"
    return None


def _as_arrays(context: dict[str, Any]) -> dict[str, Any]:
    """contextActivities are returned as arrays, even when one activity arrived bare."""
    activities = context.get("contextActivities")
    if not activities:
        return context
    return {
        **context,
        "contextActivities": {k: (v if isinstance(v, list) else [v]) for k, v in activities.items()},
    }


def comparable(statement: dict[str, Any], timestamp: datetime | None = None) -> dict[str, Any]:
    """The statement with the differences the specification says to ignore removed (ids' case,
    timestamp offsets, bare context activities, the LRS-set properties); `timestamp`: its parsed timestamp."""
    out = {k: v for k, v in statement.items() if k not in IMMUTABILITY_EXCEPTIONS}
    if "id" in out:
        out["id"] = out["id"].lower()
    if "timestamp" in out:
        out["timestamp"] = iso_utc(timestamp or parse_timestamp(out["timestamp"]))
    if "context" in out:
        out["context"] = _as_arrays(out["context"])
    out["actor"] = {"objectType": "Agent", **out["actor"]}
    out["object"] = {"objectType": "Activity", **out["object"]}
    return out


def fingerprint(statement: dict[str, Any], timestamp: datetime | None = None) -> str:
    """SHA-256 of the comparable form: equal for statements the specification calls the same."""
    return hashlib.sha256(canonical_text(comparable(statement, timestamp)).encode()).hexdigest()


def prepare(raw: dict[str, Any], stored: datetime, authority: dict[str, Any], stored_text: str = "") -> Prepared:
    """Fill what the LRS sets and compute the stored columns; `raw` must already be valid. `stored_text`:
    iso_utc(stored), when the caller formats it once for a whole batch."""
    statement = dict(raw)
    statement["id"] = str(statement.get("id") or uuid.uuid4()).lower()
    occurred_at = parse_timestamp(statement["timestamp"]) if "timestamp" in statement else stored
    digest = fingerprint(statement, occurred_at)  # before the LRS's own properties: a re-send must compare equal
    stored_text = stored_text or iso_utc(stored)
    statement.setdefault("timestamp", stored_text)
    statement["stored"] = stored_text
    statement["authority"] = authority
    statement.setdefault("version", "1.0.0")
    if "context" in statement:
        statement["context"] = _as_arrays(statement["context"])
    target = statement["object"]
    kind = target.get("objectType", "Activity")
    return Prepared(
        statement_id=statement["id"],
        statement=statement,
        body_hash=digest,
        stored=stored,
        occurred_at=occurred_at,
        actor_ifi=agent_ifi(statement["actor"]),
        object_ifi=agent_ifi(target) if kind in ("Agent", "Group") else None,
        verb_id=statement["verb"]["id"],
        activity_id=target["id"] if kind == "Activity" else None,
        registration=(statement.get("context") or {}).get("registration", "").lower() or None,
        voids=target["id"].lower() if statement["verb"]["id"] == VOIDED else None,
    )
