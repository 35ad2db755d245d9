"""SQLAlchemy 2 typed models; import from here."""

from models.achievements import Achievement
from models.alerts import (
    ALERT_STATUSES,
    FEEDBACK_VERDICTS,
    SCOPE_TYPES,
    SEVERITIES,
    Alert,
    AlertFeedback,
    AlertHistory,
    NotificationPreference,
    ThresholdOverride,
)
from models.audit import AUDIT_ACTIONS, AuditEntry
from models.base import db, utcnow
from models.catalog import ENROLLMENT_STATUSES, Course, Enrollment, Module, Section, Subject
from models.digests import LearnerDigest
from models.events import (
    ATTENDANCE_STATUSES,
    EVENT_KINDS,
    EVENT_REFERENCE_FIELDS,
    EVENT_VALUE_FIELDS,
    HEARTBEAT_KIND,
    SESSION_KINDS,
    Event,
)
from models.learning import RiskModelVersion, SkillMastery, SkillModel
from models.metrics import CohortSnapshot, ExamSummary, LearnerCounters, LearnerStanding, MetricSnapshot, SectionSummary
from models.notifications import (
    DELIVERY_STATUSES,
    EMAIL_DELIVERIES,
    GUARDIAN_DIGESTS,
    WEBHOOK_EVENTS,
    GuardianContact,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.school import Attendance, Exam, Grade
from models.users import ROLES, User
from models.xapi import XapiCredential, XapiStatement

__all__ = [
    "Achievement",
    "AUDIT_ACTIONS",
    "AuditEntry",
    "ALERT_STATUSES",
    "FEEDBACK_VERDICTS",
    "AlertFeedback",
    "ATTENDANCE_STATUSES",
    "CohortSnapshot",
    "ENROLLMENT_STATUSES",
    "EVENT_KINDS",
    "EVENT_REFERENCE_FIELDS",
    "EVENT_VALUE_FIELDS",
    "HEARTBEAT_KIND",
    "SESSION_KINDS",
    "SCOPE_TYPES",
    "SEVERITIES",
    "NotificationPreference",
    "ROLES",
    "Alert",
    "AlertHistory",
    "Attendance",
    "Course",
    "Enrollment",
    "Event",
    "Exam",
    "Grade",
    "LearnerCounters",
    "LearnerDigest",
    "LearnerStanding",
    "MetricSnapshot",
    "Module",
    "RiskModelVersion",
    "Section",
    "SectionSummary",
    "ExamSummary",
    "SkillMastery",
    "SkillModel",
    "Subject",
    "ThresholdOverride",
    "User",
    "XapiCredential",
    "XapiStatement",
    "db",
    "DELIVERY_STATUSES",
    "EMAIL_DELIVERIES",
    "GUARDIAN_DIGESTS",
    "WEBHOOK_EVENTS",
    "GuardianContact",
    "WebhookDelivery",
    "WebhookEndpoint",
    "utcnow",
]
