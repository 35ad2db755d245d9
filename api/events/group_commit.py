"""Group commit: concurrent single-event requests of one web process share one transaction.

A single event costs one connection checkout, BEGIN, a learner lookup, an INSERT and a COMMIT, then
a Redis round trip to queue its evaluation and look up watchers; that I/O, not the event, was most of
its CPU. Requests that arrive while a group is being stored queue up; the first of them leads the next
group: it stores every queued event in one transaction (the same code as a batch), announces them in
one Redis round trip, and hands each waiting request its own result. Nobody waits for a timer: a
request alone is stored at once, and groups only form under load.

Each request still gets exactly what it would alone: its event is validated in its own request first
(a 422 never joins a group), and if the group's transaction fails for any reason (an unknown reference,
an id reused with another body, a database error), every request of the group is stored again on its
own, in arrival order, with its own outcome. An id sent twice within a group is stored once; the later
request is told it is a duplicate, as it would be had it arrived second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from api.events import one_trip
from api.events.ingest import IngestResult, store_events
from models import db
from services.presence import reaches

log = logging.getLogger(__name__)
Announce = Callable[[IngestResult], None]


@dataclass
class _Request:
    """One waiting request: its validated event and, once stored, its outcome."""

    event: dict[str, Any]
    collection: str | None  # how its field paths are named if it is stored alone
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    result: IngestResult | None = None
    error: BaseException | None = None

    def outcome(self) -> IngestResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None, "a request left its group without an outcome"
        return self.result


class IngestGroups:
    """This process's queue of single events waiting to be stored together (at most `limit` per group)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: list[_Request] = []
        self._busy = False  # a leader is storing a group; new requests queue behind it
        self._lock = threading.Lock()  # under gevent a cooperative lock, held only around list changes
        self.groups = 0  # how many groups and events were stored: a live view of how well grouping works
        self.grouped_events = 0

    def store(
        self, event: dict[str, Any], collection: str | None, auto_create: bool, announce: Announce
    ) -> IngestResult:
        """Store one validated event, with whatever other requests are waiting; returns its own result."""
        request = _Request(event, collection)
        _release_connection()
        with self._lock:
            self._queue.append(request)
            request.leads = not self._busy
            self._busy = True
        try:
            if not request.leads:
                request.done.wait()  # until stored by a leader, or made the leader of the next group
        except BaseException:  # e.g. its greenlet killed at shutdown: it must not keep the lead from others
            self._abandon(request)
            raise
        if request.leads:
            self._lead(auto_create, announce)
        return request.outcome()

    def _lead(self, auto_create: bool, announce: Announce) -> None:
        """Store the queued requests (this one first) as a group, then pass the lead on."""
        with self._lock:
            group, self._queue = self._queue[: self.limit], self._queue[self.limit :]
        try:
            _store_group(group, auto_create, announce)
        except BaseException as exc:  # e.g. the leader's greenlet is killed: nobody may wait forever
            for request in group:
                if request.result is None and request.error is None:
                    request.error = exc
            raise
        finally:
            with self._lock:
                self.groups, self.grouped_events = self.groups + 1, self.grouped_events + len(group)
                for request in group:
                    request.leads = False
                successor = self._pass_lead()
            for request in group:
                request.done.set()
            if successor is not None:
                successor.done.set()

    def _pass_lead(self) -> _Request | None:
        """Under the lock: make the first queued request the next leader (woken by the caller), if any."""
        successor = self._queue[0] if self._queue else None
        self._busy = successor is not None
        if successor is not None:
            successor.leads = True
        return successor

    def _abandon(self, request: _Request) -> None:
        """A request stopped waiting: drop it from the queue, and pass the lead on if it had been given it."""
        with self._lock:
            if request in self._queue:
                self._queue.remove(request)
            successor = self._pass_lead() if request.leads else None
            request.leads = False
        if successor is not None:
            successor.done.set()


def _release_connection() -> None:
    """A queued request must not hold a pooled connection while it waits (e.g. from verifying its token):
    enough of them would leave the leader none. Its transaction only read; ending it is what storing the
    event alone would have done anyway (store_events commits the request's session). A request that made no
    session (the usual single event: its token check is cached) has nothing to end, and makes none here."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def _store_group(group: list[_Request], auto_create: bool, announce: Announce) -> None:
    """One round trip for the events that need only their own row (api/events/one_trip.py); one transaction
    for the rest of the group; if that fails, each of those requests again on its own."""
    group = _store_in_one_trip(group, announce)
    if len(group) > 1:
        try:
            result = store_events([r.event for r in group], collection=None, auto_create=auto_create)
        except Exception:  # noqa: BLE001  (every request learns its own outcome below)
            log.debug("a group of %d events failed together; storing them one by one", len(group))
        else:
            _split(group, result)
            announce(result)
            return
    for request in group:
        try:
            request.result = store_events([request.event], collection=request.collection, auto_create=auto_create)
        except Exception as exc:  # noqa: BLE001  (handed to the request it belongs to: its 409, 422 or 500)
            request.error = exc
            continue
        announce(request.result)


def _store_in_one_trip(group: list[_Request], announce: Announce) -> list[_Request]:
    """Store what the one-trip lane can and announce it; returns the requests it left to the general path."""
    lane = [request for request in group if one_trip.eligible(request.event)]
    if not lane or not one_trip.available():
        return group
    try:
        outcomes = one_trip.store_in_one_trip([request.event for request in lane])
    except Exception:  # noqa: BLE001  (the general path stores them, or gives each its own error)
        log.warning("the one-trip insert of %d events failed; storing them the general way", len(lane), exc_info=True)
        return group
    ids, stored = [], []
    for request, outcome in zip(lane, outcomes):
        if outcome is not None:
            pk, learner = outcome
            request.result = _stored_alone(pk, learner, request.event)
            ids.append(pk)
            stored.append((learner, request.event, pk))
    if stored:
        reach = reaches((learner, event) for learner, event, _ in stored)
        announce(IngestResult(ids, [], {learner for learner, _, _ in stored}, stored, list(ids), reach))
    return [request for request in group if request.result is None]


def _stored_alone(pk: int, learner: int, event: dict[str, Any]) -> IngestResult:
    """The result of one request whose event was stored (new id `pk`), as if it had been stored alone."""
    return IngestResult([pk], [], {learner}, [(learner, event, pk)], [pk])


def _split(group: list[_Request], result: IngestResult) -> None:
    """Each request's share of the group's result, as if it had been stored alone."""
    by_id = {pk: (learner, event) for learner, event, pk in result.stored}
    for request, pk in zip(group, result.outcomes):
        if pk is None:
            request.result = IngestResult([], [request.event["id"]], set(), [], [None])
        else:
            learner, event = by_id[pk]
            request.result = _stored_alone(pk, learner, event)


def init_ingest_groups(app: Flask) -> None:
    """This process's group commit of single events (INGEST_GROUP_LIMIT events per group; 1 turns it off)."""
    app.extensions["ingest_groups"] = IngestGroups(int(app.config.get("INGEST_GROUP_LIMIT", 1)))
