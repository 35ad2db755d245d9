"""The WebSocket endpoints in the document: OpenAPI 3 has no WebSocket object, so each is a GET answered by 101."""

from __future__ import annotations

from typing import Any

from api.openapi.kit import ERROR_CONTENT, WEBSOCKET_NOTE, _op
from api.realtime.routes import PERSONAL_ENDPOINTS

ENVELOPE_NOTE = (
    "Envelope: `id` is a global message id (`<ms>-<seq>`): a message published to several channels has the "
    "same id on each, ids of all messages are in one order, and the id is also the message's stream id on "
    "each of its channels (a resume point there). `channel` is the channel this copy came through; "
    "`channels` lists every channel the message went to (a copy on a learner's channel names no other "
    "learner's). A socket receives each message once, however "
    "many of its channels carry it. Events reach a section's channel only when they are that section's "
    "business (a grade: the exam's sections; attendance: its section). Resume: on the named endpoints "
    "one last_id (the last id received) resumes every channel; on /ws send {channel: id}. The brief's "
    'fields ride beside ours: grade_update has event "grade_updated", grade_data {student_name, '
    "subject_name, score, total_marks} and performance_data {subject_average, grades_counted, standing "
    '{rank, of, percentile}}; attendance_update has event "attendance_marked" and attendance_data '
    '{student_name, date, status, attendance_percentage}; exam_created has event "exam_created" and '
    "exam_data {exam_name, subject_name, exam_date, total_marks, section_name}."
)


def websocket_paths() -> dict[str, Any]:
    """The WebSocket endpoints: OpenAPI 3 has no WebSocket object, so each is a GET answered by 101."""

    def ws(summary: str) -> dict[str, Any]:
        op = _op(
            summary,
            "any authenticated user (via the token)",
            public=True,
            query=("token", "last_id"),
            responses={
                "101": {"description": "switching to the WebSocket protocol"},
                "403": {"description": "Origin not allowed", "content": ERROR_CONTENT},
            },
        )
        op["description"] = f"{op['description']} {WEBSOCKET_NOTE} {ENVELOPE_NOTE}"
        return {"get": op}

    return {
        "/ws": ws('Follow channels chosen by message: {"type": "subscribe", "channel": "learner:<id>"}'),
        **{f"/ws/{name}/": ws(doc.rstrip(".")) for name, (_, doc) in PERSONAL_ENDPOINTS.items()},
        "/ws/performance/{educator_id}": ws("Everything about one educator's classes (the educator, admins)"),
    }
