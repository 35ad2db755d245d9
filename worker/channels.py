"""Channel names and the one message envelope every published message uses.

Envelope: {"id": "<stream id>", "type": "...", "channel": "...", "timestamp": "ISO-8601 UTC", "data": {...}}
"""
from __future__ import annotations

MESSAGE_TYPES = ("metrics_update", "alert", "alert_resolved", "activity", "grade_update", "attendance_update",
                 "exam_created", "dashboard_initial_data", "error", "pong")
STREAM_KEY = "learnpulse:stream:{}"
STREAM_MAXLEN = 1000  # messages kept per channel for clients that reconnect with their last id
PUBSUB_PREFIX = "learnpulse:channel:"


def learner_channel(external_id: str) -> str:
    return f"learner:{external_id}"


def section_channel(external_id: str) -> str:
    return f"section:{external_id}"


ADMIN_CHANNEL = "admin"
