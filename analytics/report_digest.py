"""What a learner's report needs from the whole history beyond a digest's kept events (analytics.event_digest).

The kept events answer the metrics, scores, trend, forecast and the last 28 days. The report also shows
when the learner works (activity by hour and weekday over all time) and per course a completion
forecast (modules completed, the first event in the course, the completion times). Kept per learner
beside the digest, they are small and fixed: two histograms, one row per module touched and one per
completion, so a report never reads the whole event log of a long history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.grouping import segments
from analytics.learner_metrics import ENGAGEMENT_KINDS, KIND_CODES, EventArrays
from analytics.patterns import histograms

HEAD = np.dtype(
    [
        ("by_hour", "<i8", (24,)),
        ("by_weekday", "<i8", (7,)),
        ("modules", "<i8"),
        ("completions", "<i8"),
        ("attempted_skills", "<i8"),  # skills attempted when built
        ("unstored_skills", "<i8"),  # of which without a stored mastery row
    ]
)
MODULE = np.dtype([("module", "<i8"), ("first", "<f8")])  # a module touched and the time of its first event
COMPLETION = np.dtype([("module", "<i8"), ("time", "<f8")])  # a module completion, in event order


@dataclass(frozen=True)
class ReportDigest:
    """One learner's whole-history figures for the report."""

    by_hour: np.ndarray  # (24,) engagement events per UTC hour of day
    by_weekday: np.ndarray  # (7,) engagement events per weekday, Monday first
    module: np.ndarray  # int64: module ids the learner has events in, ascending
    first: np.ndarray  # float64: the time of the first event in each of those modules
    done_module: np.ndarray  # int64: each module completion's module (completions with a module only)
    done_time: np.ndarray  # float64: its time
    attempted_skills: int  # skills the learner attempted
    unstored_skills: int  # of which without a stored mastery row (history loaded around the ingest path)


def _module_rows(events: EventArrays, module: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (learner, module) pair with events: the learner index, the module and its earliest event time."""
    has = module >= 0
    learner, mod, time = events.learner[has], module[has], events.time[has]
    order = np.lexsort((time, mod, learner))
    learner, mod, time = learner[order], mod[order], time[order]
    start = np.ones(len(learner), dtype=bool)
    start[1:] = (learner[1:] != learner[:-1]) | (mod[1:] != mod[:-1])
    return learner[start], mod[start], time[start]


def build_report_digests(
    events: EventArrays, module: np.ndarray, attempted_skills: np.ndarray, unstored_skills: np.ndarray
) -> list[bytes]:
    """One packed report digest per learner of `events` (module: each event's module id, -1 without; per
    learner, the skills attempted and how many of them have no stored mastery)."""
    n = events.n_learners
    active = events.kind <= max(ENGAGEMENT_KINDS)
    by_hour, by_weekday = histograms(segments(events.learner[active], n), events.time[active])
    pair_learner, pair_module, pair_first = _module_rows(events, module)
    done = (events.kind == KIND_CODES["module_completed"]) & (module >= 0)
    head = np.zeros(n, HEAD)
    head["by_hour"], head["by_weekday"] = by_hour, by_weekday
    head["modules"] = np.bincount(pair_learner, minlength=n)
    head["completions"] = np.bincount(events.learner[done], minlength=n)
    head["attempted_skills"], head["unstored_skills"] = attempted_skills, unstored_skills
    modules = np.empty(len(pair_module), MODULE)
    modules["module"], modules["first"] = pair_module, pair_first
    completions = np.empty(int(done.sum()), COMPLETION)
    completions["module"], completions["time"] = module[done], events.time[done]
    module_edges = np.r_[0, np.cumsum(head["modules"])]
    done_edges = np.r_[0, np.cumsum(head["completions"])]
    return [
        head[i].tobytes()
        + modules[module_edges[i] : module_edges[i + 1]].tobytes()
        + completions[done_edges[i] : done_edges[i + 1]].tobytes()
        for i in range(n)
    ]


def read_report_digest(blob: bytes) -> ReportDigest | None:
    """A packed report digest (build_report_digests) as arrays; None for a blob of another layout."""
    if len(blob) < HEAD.itemsize:
        return None
    head = np.frombuffer(blob, HEAD, count=1)[0]
    n_modules, n_done = int(head["modules"]), int(head["completions"])
    if len(blob) != HEAD.itemsize + n_modules * MODULE.itemsize + n_done * COMPLETION.itemsize:
        return None
    modules = np.frombuffer(blob, MODULE, count=n_modules, offset=HEAD.itemsize)
    completions = np.frombuffer(blob, COMPLETION, count=n_done, offset=HEAD.itemsize + n_modules * MODULE.itemsize)
    return ReportDigest(
        head["by_hour"].astype(np.int64),
        head["by_weekday"].astype(np.int64),
        modules["module"].astype(np.int64),
        modules["first"].astype(np.float64),
        completions["module"].astype(np.int64),
        completions["time"].astype(np.float64),
        int(head["attempted_skills"]),
        int(head["unstored_skills"]),
    )
