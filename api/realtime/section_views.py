"""An educator's sections as their dashboard shows them: each section's stored summary, its JSON kept per process.

The summaries of an educator's sections are the bulk of their initial data (~20 KB each in the bench's school):
decoding them from the database and encoding them again for the frame was ~1.2 ms of every open. A section's
shown part is a function of its external id and its stored summary's text, so it is kept, with its JSON text,
keyed by both (a summary the worker rewrites is a new key, shaped afresh). Authorization is not shared: each
caller reads their own sections' summaries on every open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from models import SectionSummary
from models.queries import core_execute
from services.cohorts import section_summaries
from services.json_text import EncodedDict, SplicedList
from services.process_cache import process_cache

SHOWN = ("learners", "average", "pass_rate", "attendance_percent", "risk", "low_performers", "as_of")
KEPT_SECTIONS = 256  # shaped sections kept per process (the least recently shown go first)

SUMMARY_TEXTS = sa.select(SectionSummary.section_id, sa.cast(SectionSummary.summary, sa.Text)).where(
    SectionSummary.section_id.in_(sa.bindparam("sections", expanding=True))
)  # as stored: the same text the JSON column decodes, and the key


def _view(external_id: str, summary: dict) -> EncodedDict:
    return EncodedDict.of({"section": external_id, **{key: summary.get(key) for key in SHOWN}})


def section_views(sections: Sequence[sa.Row]) -> SplicedList:
    """The shown summary of each (id, external id, course id) section, in order; a section never summarised is
    computed and stored now (services.cohorts.section_summaries)."""
    texts = dict(core_execute(SUMMARY_TEXTS, {"sections": [row[0] for row in sections]}).tuples().all())
    missing = [(section_id, course_id) for section_id, _, course_id in sections if section_id not in texts]
    computed = section_summaries(missing) if missing else {}
    kept = process_cache("section_view_json")
    views = SplicedList()
    for section_id, external_id, _ in sections:
        if section_id in computed:
            views.append(_view(external_id, computed[section_id]))
            continue
        key = (external_id, texts[section_id])
        found = kept.get(key)
        if found is None:
            found = _view(external_id, json.loads(texts[section_id]))
            kept.put(key, found, KEPT_SECTIONS)
        views.append(found)
    return views
