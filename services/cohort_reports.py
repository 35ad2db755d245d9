"""Cohort reports kept per web process, keyed by everything they are computed from: for each section, its
course, the version of its stored member figures (section_summaries.updated_at, set by every write of the
worker or of a request) and the learners the caller may see in it, as read by the request itself; and
the pass mark. A repeat read with the same inputs is the same report, so it is served without merging and
summarising the figures again; a refresh the worker stores, a new or ended enrollment, or another caller's
narrower view is a different key, computed afresh. Grade band edges are per app (the cache lives in it)
and learners' external ids never change. Section and course analytics also keep their answer's JSON bytes
under the same key and the entity's name (`cohort_body`): a repeat read sends them as kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from services.cohort_members import merge, summarize
from services.cohorts import stored_members
from services.process_cache import process_cache

REPORT_CACHE_ENTRIES = 512  # a course of 5 x 200 learners' key and report: ~10 KB

Report = tuple[dict[str, Any], int]


def cohort_report(
    members: Mapping[int, Sequence[int]],
    courses: Mapping[int, int | None],
    versions: Mapping[int, datetime | None],
    pass_mark: float,
) -> Report:
    """The cohort report over these sections' learners (section id -> the enrolled learners the caller may
    see) from their stored figures (`versions`: each section's updated_at as read with `members`, None if
    never stored), and how many learners it covers. The report is shared: callers must not change it."""
    return _report(report_key(members, courses, versions, pass_mark), members, courses, pass_mark)


def cohort_body(
    head: Mapping[str, str],
    members: Mapping[int, Sequence[int]],
    courses: Mapping[int, int | None],
    versions: Mapping[int, datetime | None],
    pass_mark: float,
    encode: Callable[[dict[str, Any]], bytes],
) -> tuple[bytes, int]:
    """The encoded answer `{**head, **report}` (`encode`: the app's JSON response body) of the cohort report
    above, and how many learners it covers. Kept per process with the report's key and the head, so a repeat
    read sends the kept bytes without building, encoding or copying the report."""
    key = report_key(members, courses, versions, pass_mark)
    cache = process_cache("cohort_bodies")
    kept_as = None if key is None else (tuple(head.items()), key)
    hit = cache.get(kept_as) if kept_as is not None else None
    if hit is not None:
        return hit
    report, learners = _report(key, members, courses, pass_mark)
    answer = (encode({**head, **report}), learners)
    if kept_as is not None:
        cache.put(kept_as, answer, REPORT_CACHE_ENTRIES)
    return answer


def _report(
    key: tuple | None, members: Mapping[int, Sequence[int]], courses: Mapping[int, int | None], pass_mark: float
) -> Report:
    """The report kept for `key`, or computed now (and kept unless the key is None)."""
    cache = process_cache("cohort_reports")
    hit = cache.get(key) if key is not None else None
    if hit is not None:
        return hit
    figures = merge(stored_members(members, courses))
    report = (summarize(figures, pass_mark), len(figures.learner))
    if key is not None:
        cache.put(key, report, REPORT_CACHE_ENTRIES)
    return report


def report_key(
    members: Mapping[int, Sequence[int]],
    courses: Mapping[int, int | None],
    versions: Mapping[int, datetime | None],
    pass_mark: float,
) -> tuple | None:
    """The report's inputs as a hashable value (learner ids exactly, as bytes), or None when a section has
    no stored figures yet (computed and stored by this request: the next one has a version)."""
    if not members or any(versions.get(section) is None for section in members):
        return None
    parts = tuple(
        (section, courses[section], versions[section], _distinct_sorted(members[section]).tobytes())
        for section in sorted(members)
    )
    return (float(pass_mark), parts)


def _distinct_sorted(ids: Sequence[int]) -> np.ndarray:
    """np.unique(ids) (as int64), by a sort: a third of np.unique's CPU for a section's few hundred ids."""
    ordered = np.sort(np.asarray(ids, dtype=np.int64))
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered
