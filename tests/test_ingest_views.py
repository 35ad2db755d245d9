"""A stored batch's live views (api.events.ingest.public_views) are built only once announce_events may publish them:
whatever is watched, the messages are those of the views built up front, as before; with nothing followed, no view
is built at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from api.events.ingest import public_event, public_views, store_events, validate_events
from api.realtime import announce
from services.presence import reaches
from tests.test_event_rows import catalog, events

SKEW = timedelta(seconds=300)


@pytest.fixture
def stored(app) -> list[tuple[int, dict[str, Any], int]]:
    """Every kind with every field it takes, stored (grades and attendance as well as activity)."""
    catalog()
    result = store_events(validate_events(events("views"), "events", SKEW), collection="events", auto_create=True)
    assert len(result.stored) == len(result.stored_ids) > 60
    return result.stored


def published(monkeypatch, watched: tuple[bool | None, dict[str, bool] | None], call: Any) -> list:
    """The messages announce_events hands to publish when Redis answers `watched` to its one round trip."""
    out: list = []
    monkeypatch.setattr(announce, "_one_trip", lambda client, evaluate, own, presence: watched)
    monkeypatch.setattr(announce, "publish", lambda client, messages, known=None: out.append(list(messages)) or 0)
    call()
    return out


def test_views_are_what_public_event_gives(stored):
    assert public_views(stored) == [(learner, public_event(event, pk)) for learner, event, pk in stored]
    assert public_views([]) == []


@pytest.mark.parametrize("sections", [False, True, None])
@pytest.mark.parametrize("own", ["none", "some", "unknown"])
def test_announcing_lazily_publishes_what_the_eager_views_publish(monkeypatch, stored, sections, own):
    views = public_views(stored)
    names = {f"learner:{event['learner']}" for _, event, _ in stored}
    known = None if own == "unknown" else {name: own == "some" and name.endswith("L1") for name in names}
    reach = reaches((learner, event) for learner, event, _ in stored)
    evaluate = {learner for learner, _, _ in stored}
    built: list[int] = []

    def lazily() -> list:
        built.append(1)
        return public_views(stored)

    eager = published(monkeypatch, (sections, known), lambda: announce.announce_events(views, evaluate, reach))
    lazy = published(
        monkeypatch,
        (sections, known),
        lambda: announce.announce_events(
            [(learner, event) for learner, event, _ in stored], evaluate, reach, views=lazily
        ),
    )
    assert lazy == eager and eager and built == [1]


def test_nothing_followed_builds_no_view(monkeypatch, stored):
    activity = [item for item in stored if item[1]["kind"] not in ("grade", "attendance")]
    known = {f"learner:{event['learner']}": False for _, event, _ in activity}
    built: list[int] = []
    out = published(
        monkeypatch,
        (False, known),
        lambda: announce.announce_events(
            [(learner, event) for learner, event, _ in activity], views=lambda: built.append(1) or []
        ),
    )
    assert out == [] and built == []
