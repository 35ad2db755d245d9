"""Reusable schemas: events, errors, ingest results and every request body, from the validators' field specs."""

from __future__ import annotations

from typing import Any

from analytics.achievements import ACHIEVEMENT_KINDS
from analytics.alert_rules import RULES
from analytics.rule_catalog import ALERT_TYPES
from api.alerts.feedback import FEEDBACK_FIELDS
from api.alerts.routes import PREFERENCE_FIELDS, TYPE_WORDS
from api.alerts.thresholds import OVERRIDE_FIELDS
from api.entities.specs import SPECS
from api.events.schemas import KIND_FIELDS, MAX_BATCH
from api.openapi.kit import field_schema, object_schema
from api.validation import Field
from models import ENROLLMENT_STATUSES


def _event_schemas() -> dict[str, Any]:
    schemas = {f"Event_{kind}": object_schema(fields) for kind, fields in KIND_FIELDS.items()}
    for kind in KIND_FIELDS:
        schemas[f"Event_{kind}"]["properties"]["kind"] = {"type": "string", "enum": [kind]}
    schemas["Event"] = {
        "oneOf": [{"$ref": f"#/components/schemas/Event_{kind}"} for kind in KIND_FIELDS],
        "discriminator": {"propertyName": "kind"},
    }
    schemas["EventBatch"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "items": {"$ref": "#/components/schemas/Event"},
            }
        },
    }
    schemas["IngestResult"] = {
        "type": "object",
        "properties": {
            "stored": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "ids": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "server ids of the stored events, in batch order",
            },
            "duplicate_ids": {"type": "array", "items": {"type": "string"}},
        },
    }
    return schemas


STRING, NULLABLE_TIME = {"type": "string"}, {"type": "string", "format": "date-time", "nullable": True}


def _result_schemas() -> dict[str, Any]:
    """What alert lists, `alert` messages and the achievement list carry."""
    alert = {
        "id": {"type": "integer"},
        "learner": STRING,
        "rule": {"type": "string", "enum": list(RULES)},
        "type": {
            "type": "string",
            "enum": list(ALERT_TYPES),
            "description": "the rule's alert type: " + ", ".join(f"{name} {rule.type}" for name, rule in RULES.items()),
        },
        "action_required": {"type": "boolean", "description": "false for achievements, true for every other alert"},
        "scope": STRING,
        "severity": {"type": "string", "enum": ["low", "medium", "high"]},
        "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
        "title": STRING,
        "message": STRING,
        "factors": {"type": "object"},
        "recommendations": {"type": "array", "items": STRING},
        "created_at": {"type": "string", "format": "date-time"},
        "acknowledged_at": NULLABLE_TIME,
        "resolved_at": NULLABLE_TIME,
    }
    achievement = {
        "id": {"type": "integer"},
        "learner": STRING,
        "kind": {"type": "string", "enum": list(ACHIEVEMENT_KINDS)},
        "key": {"type": "string", "description": "which one of its kind: days of a streak, a module or course id, ..."},
        "type": {"type": "string", "enum": ["achievement"]},
        "action_required": {"type": "boolean", "enum": [False]},
        "title": STRING,
        "value": {"type": "number", "nullable": True},
        "details": {"type": "object"},
        "achieved_at": {"type": "string", "format": "date-time", "description": "when the learner reached it"},
        "created_at": {"type": "string", "format": "date-time", "description": "when LearnPulse awarded it"},
    }
    return {
        "Alert": {"type": "object", "properties": alert},
        "Achievement": {"type": "object", "properties": achievement},
        "AchievementList": {
            "type": "object",
            "properties": {
                "achievements": {"type": "array", "items": {"$ref": "#/components/schemas/Achievement"}},
                "next_before": {"type": "integer", "nullable": True},
            },
        },
    }


def components() -> dict[str, Any]:
    schemas = _event_schemas() | _result_schemas()
    for name, spec in SPECS.items():
        schemas[f"{name.title()}Put"] = put_schema = object_schema(spec.fields)
        for field in spec.clearable:
            cleared = put_schema["properties"][field]
            cleared["nullable"] = True
            cleared["description"] = f"{cleared.get('description', field)}; null resets it to the default"
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer"},
                                "path": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    }
    return {
        "schemas": schemas,
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "basic": {"type": "http", "scheme": "basic", "description": "xAPI credentials (key:secret)"},
        },
        "responses": {
            "Error": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }


# Every request body, from the validators' field specs (a table, built once at import).
REQUEST_SCHEMAS: dict[str, Any] = {
    "TokenRequest": object_schema(
        {"user": Field("str", required=True, max_length=128), "ttl": Field("int", minimum=1)}
    ),
    "EnrollmentPut": object_schema({"status": Field("str", choices=ENROLLMENT_STATUSES)}),
    "AcknowledgeRequest": object_schema({"note": Field("str", max_length=2000)}),
    "FeedbackRequest": object_schema(FEEDBACK_FIELDS, required=("verdict",)),
    "PreferencesPut": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "types": {
                "type": "array",
                "nullable": True,
                "description": "rule names or the alert types performance, engagement, achievement, system; "
                "null or all: every type",
                "items": {"type": "string", "enum": list(TYPE_WORDS)},
            },
            "thresholds": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
            },
            **object_schema(PREFERENCE_FIELDS)["properties"],
        },
    },
    "OverridePut": object_schema(OVERRIDE_FIELDS),
    "AttendanceRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["section", "date", "records"],
        "properties": {
            "section": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "records": {
                "type": "array",
                "maxItems": MAX_BATCH,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["learner", "status"],
                    "properties": {
                        "id": {"type": "string"},
                        "learner": {"type": "string"},
                        "status": field_schema(KIND_FIELDS["attendance"]["status"]),
                    },
                },
            },
        },
    },
    "GradesRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["grades"],
        "properties": {
            "occurred_at": {"type": "string", "format": "date-time"},
            "grades": {
                "type": "array",
                "maxItems": MAX_BATCH,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["learner", "marks"],
                    "properties": {
                        "id": {"type": "string"},
                        "learner": {"type": "string"},
                        "marks": {"type": "number", "minimum": 0},
                    },
                },
            },
        },
    },
}
