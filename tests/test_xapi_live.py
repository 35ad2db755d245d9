"""xAPI against the real processes (gunicorn + a Celery worker): a statement's alert reaches the
educator's dashboard socket, concurrent PUTs of one id, and a real xAPI client library (tincan)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    Verb,
)

from api.auth.tokens import issue_token
from models import Enrollment, Event, Section, XapiStatement, db
from services.xapi.credentials import create_credential
from tests.conftest import SECRET, create_user
from tests.ws_client import Socket
from tests.xapi_data import ADL, HOME, VERSION, scored, statement

pytestmark = pytest.mark.integration


@pytest.fixture
def classroom(app):
    """Learner amy in section S1 taught by ed; an LRS credential (key:secret)."""
    amy, ed = create_user("amy", "learner"), create_user("ed", "educator")
    section = Section(external_id="S1", name="S1", educator_id=ed.id)
    db.session.add(section)
    db.session.flush()
    db.session.add(Enrollment(section_id=section.id, learner_id=amy.id))
    db.session.commit()
    key, secret = create_credential("Moodle logstore")
    return {"ed": ed, "auth": (key, secret)}


def test_a_statement_raises_an_alert_on_the_educators_dashboard_socket(live, classroom):
    token = issue_token(SECRET, "ed", "educator", 600)[0]
    socket_ = Socket(live, "/ws/dashboard/", token=token)
    socket_.recv_type("dashboard_initial_data")
    now = datetime.now(UTC)
    low = [
        scored(
            "amy",
            3 + i,
            100,
            f"https://lms.example.org/quiz/{i}",
            timestamp=(now - timedelta(minutes=30 - i)).isoformat(),
        )
        for i in range(3)
    ]
    response = requests.post(f"{live}/xapi/statements", json=low, auth=classroom["auth"], headers=VERSION, timeout=10)
    assert response.status_code == 200, response.text
    alert = socket_.recv_type("alert", timeout=20, where=lambda m: m["data"].get("rule") == "performance_decline")
    assert alert["channel"] == "section:S1" and alert["data"]["learner"] == "amy"
    socket_.close()
    client_ids = set(db.session.scalars(sa.select(Event.client_id)))
    assert set(response.json()) <= client_ids  # the statement ids are the events' ids


@pytest.mark.parametrize("same", [True, False], ids=["same statement", "different statements"])
def test_concurrent_puts_of_one_id_store_it_once(live, classroom, same):
    """Two PUTs racing on one id, many times: the same statement is 204 twice and stored once; two
    different statements give one 204 and one 409, and the stored one is the winner's."""
    for _ in range(8):
        statement_id = str(uuid.uuid4())
        bodies = [statement("amy", "experienced"), statement("amy", "experienced" if same else "launched")]
        barrier, results = threading.Barrier(2), [0, 0]

        def put(index: int, barrier=barrier, results=results, statement_id=statement_id, bodies=bodies) -> None:
            barrier.wait()
            results[index] = requests.put(
                f"{live}/xapi/statements",
                params={"statementId": statement_id},
                json=bodies[index],
                auth=classroom["auth"],
                headers=VERSION,
                timeout=20,
            ).status_code

        threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ([204, 204] if same else [204, 409]), results
        db.session.rollback()  # see the server's commits
        rows = db.session.scalars(
            sa.select(XapiStatement.verb_id).where(XapiStatement.statement_id == statement_id)
        ).all()
        events = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.client_id == statement_id))
        assert len(rows) == 1 and events == 1
        if not same:
            winner = results.index(204)
            assert rows[0] == bodies[winner]["verb"]["id"]
        db.session.rollback()  # hold no snapshot while the server writes


def test_statements_from_the_tincan_library_are_accepted_as_they_are(live, classroom):
    key, secret = classroom["auth"]
    lrs = RemoteLRS(endpoint=f"{live}/xapi/", username=key, password=secret, version="1.0.3")
    about = lrs.about()
    assert about.success and "1.0.3" in about.content.version
    actor = Agent(name="Amy", account=AgentAccount(name="amy", home_page=HOME))
    quiz = Activity(
        id="https://lms.example.org/quiz/tincan",
        definition=ActivityDefinition(
            name=LanguageMap({"en-US": "Quiz"}), type="http://adlnet.gov/expapi/activities/assessment"
        ),
    )
    one = Statement(
        actor=actor,
        verb=Verb(id=ADL + "scored", display=LanguageMap({"en-US": "scored"})),
        object=quiz,
        result=Result(score=Score(raw=8, min=0, max=10, scaled=0.8), success=True, duration="PT4M30S"),
        timestamp=datetime.now(UTC) - timedelta(minutes=5),
    )
    saved = lrs.save_statement(one)  # POST (no id yet)
    assert saved.success, saved.data
    put = Statement(id=str(uuid.uuid4()), actor=actor, verb=Verb(id=ADL + "experienced"), object=quiz)
    assert lrs.save_statement(put).success  # PUT ?statementId=
    batch = lrs.save_statements([Statement(actor=actor, verb=Verb(id=ADL + "launched"), object=quiz) for _ in range(3)])
    assert batch.success, batch.data
    back = lrs.retrieve_statement(one.id)
    assert back.success and back.content.result.score.raw == 8 and back.content.stored is not None
    query = lrs.query_statements({"agent": actor, "verb": Verb(id=ADL + "launched"), "limit": 2})
    assert query.success and len(query.content.statements) == 2 and query.content.more
    more = lrs.more_statements(query.content)
    assert more.success and len(more.content.statements) == 1
    db.session.rollback()
    event = db.session.scalar(sa.select(Event).where(Event.client_id == str(one.id)))
    assert (event.kind, event.score, event.max_score) == ("assessment", 8, 10)
