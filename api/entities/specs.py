"""What each entity accepts on PUT: its fields, and which fields are references to other entities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.local_days import TIME_ZONE_MAX_LENGTH
from api import serializers
from api.validation import Field
from models import ROLES, Course, Exam, Module, Section, Subject, User

TITLE = Field("str", max_length=200)
TIME_ZONE = Field("time_zone", max_length=TIME_ZONE_MAX_LENGTH)  # whose whole days the day-based alert rules count


@dataclass(frozen=True)
class EntitySpec:
    """One upsertable collection."""

    model: Any
    fields: dict[str, Field]
    required_on_create: tuple[str, ...]
    references: dict[str, Any]
    to_json: Callable[[Any], dict[str, Any]]
    clearable: tuple[str, ...] = ()  # fields that null resets to their default (other nulls: unchanged)


SPECS: dict[str, EntitySpec] = {
    "users": EntitySpec(
        User,
        {
            "role": Field("str", choices=ROLES),
            "name": TITLE,
            "email": Field("str", max_length=254),
            "active": Field("bool"),
        },
        ("role",),
        {},
        serializers.user_json,
    ),
    "courses": EntitySpec(
        Course,
        {"title": TITLE, "description": Field("str", max_length=5000), "time_zone": TIME_ZONE},
        ("title",),
        {},
        serializers.course_json,
        clearable=("time_zone",),
    ),
    "modules": EntitySpec(
        Module,
        {"course": TITLE, "title": TITLE, "position": Field("int", minimum=0, maximum=100000)},
        ("course", "title"),
        {"course": Course},
        serializers.module_json,
    ),
    "subjects": EntitySpec(Subject, {"name": TITLE}, ("name",), {}, serializers.subject_json),
    "sections": EntitySpec(
        Section,
        {"name": TITLE, "course": TITLE, "subject": TITLE, "educator": TITLE, "time_zone": TIME_ZONE},
        ("name",),
        {"course": Course, "subject": Subject, "educator": User},
        serializers.section_json,
        clearable=("time_zone",),
    ),
    "exams": EntitySpec(
        Exam,
        {
            "title": TITLE,
            "max_marks": Field("number", minimum=0.001, maximum=1e6),
            "held_on": Field("date"),
            "course": TITLE,
            "subject": TITLE,
            "section": TITLE,
        },
        ("title",),
        {"course": Course, "subject": Subject, "section": Section},
        serializers.exam_json,
    ),
}
