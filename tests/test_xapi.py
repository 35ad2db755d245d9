"""The xAPI 1.0.3 statements resource's MUST rules, as tables of cases: statements the LRS must refuse
(each error naming its field path) and accept, headers, ids, PUT/POST semantics, GET filters and
paging, voiding, and Basic credentials."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import XapiStatement, db
from tests.conftest import bearer, create_user
from tests.xapi_data import ADL, HOME, VERSION, statement, with_id


@pytest.fixture
def xapi(service) -> dict[str, str]:
    """Headers of a service integration speaking xAPI 1.0.3."""
    return {**service, **VERSION}


def stored_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(XapiStatement))


def agent(**ifis: Any) -> dict[str, Any]:
    return {"objectType": "Agent", **ifis}


# --- statements the LRS MUST refuse: (case, statement, path the error names) ---------------------
BASE = statement()
INVALID = [
    ("no actor", {k: v for k, v in BASE.items() if k != "actor"}, "statement.actor"),
    ("no verb", {k: v for k, v in BASE.items() if k != "verb"}, "statement.verb"),
    ("no object", {k: v for k, v in BASE.items() if k != "object"}, "statement.object"),
    ("null value", {**BASE, "result": None}, "statement.result"),
    ("unknown property", {**BASE, "mood": "happy"}, "statement.mood"),
    ("property in the wrong case", {**BASE, "Verb": BASE["verb"]}, "statement.Verb"),
    ("id not a UUID", {**BASE, "id": "not-a-uuid"}, "statement.id"),
    (
        "actor with two IFIs",
        {**BASE, "actor": agent(mbox="mailto:a@b.org", openid="https://id.example/a")},
        "statement.actor",
    ),
    ("actor without IFI", {**BASE, "actor": agent(name="Nobody")}, "statement.actor"),
    ("mbox without mailto", {**BASE, "actor": agent(mbox="a@b.org")}, "statement.actor.mbox"),
    ("mbox_sha1sum not SHA-1", {**BASE, "actor": agent(mbox_sha1sum="xyz")}, "statement.actor.mbox_sha1sum"),
    ("openid not an IRI", {**BASE, "actor": agent(openid="not an iri")}, "statement.actor.openid"),
    ("account without homePage", {**BASE, "actor": agent(account={"name": "amy"})}, "statement.actor.account.homePage"),
    (
        "account homePage no IRL",
        {**BASE, "actor": agent(account={"homePage": "lms", "name": "a"})},
        "statement.actor.account.homePage",
    ),
    (
        "actor objectType unknown",
        {**BASE, "actor": {"objectType": "Person", "mbox": "mailto:a@b.org"}},
        "statement.actor.objectType",
    ),
    (
        "group member is a group",
        {**BASE, "actor": {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@b.org"}]}},
        "statement.actor.member[0].objectType",
    ),
    ("anonymous group without member", {**BASE, "actor": {"objectType": "Group", "name": "G"}}, "statement.actor"),
    ("verb id not an IRI", {**BASE, "verb": {"id": "passed"}}, "statement.verb.id"),
    (
        "verb display bad language tag",
        {**BASE, "verb": {"id": ADL + "passed", "display": {"en_US!": "x"}}},
        "statement.verb.display.en_US!",
    ),
    ("activity id not an IRI", {**BASE, "object": {"id": "quiz 1"}}, "statement.object.id"),
    (
        "object type unknown",
        {**BASE, "object": {"objectType": "Thing", "id": "https://x.org"}},
        "statement.object.objectType",
    ),
    (
        "interactionType unknown",
        {**BASE, "object": {"id": "https://x.org/q", "definition": {"interactionType": "essay"}}},
        "statement.object.definition.interactionType",
    ),
    ("extension key not an IRI", {**BASE, "result": {"extensions": {"mood": 1}}}, "statement.result.extensions.mood"),
    (
        "StatementRef id not a UUID",
        {**BASE, "object": {"objectType": "StatementRef", "id": "abc"}},
        "statement.object.id",
    ),
    (
        "SubStatement nested",
        {
            **BASE,
            "object": {
                "objectType": "SubStatement",
                **{k: BASE[k] for k in ("actor", "verb")},
                "object": {"objectType": "SubStatement"},
            },
        },
        "statement.object.object.objectType",
    ),
    (
        "SubStatement with an id",
        {
            **BASE,
            "object": {
                "objectType": "SubStatement",
                "id": str(uuid.uuid4()),
                **{k: BASE[k] for k in ("actor", "verb", "object")},
            },
        },
        "statement.object.id",
    ),
    ("scaled above 1", {**BASE, "result": {"score": {"scaled": 1.5}}}, "statement.result.score.scaled"),
    ("scaled below -1", {**BASE, "result": {"score": {"scaled": -1.01}}}, "statement.result.score.scaled"),
    ("raw above max", {**BASE, "result": {"score": {"raw": 11, "min": 0, "max": 10}}}, "statement.result.score.raw"),
    ("raw below min", {**BASE, "result": {"score": {"raw": -1, "min": 0}}}, "statement.result.score.raw"),
    ("min not below max", {**BASE, "result": {"score": {"min": 10, "max": 10}}}, "statement.result.score.min"),
    ("score as a string", {**BASE, "result": {"score": {"raw": "7"}}}, "statement.result.score.raw"),
    ("success as a string", {**BASE, "result": {"success": "true"}}, "statement.result.success"),
    ("duration not ISO 8601", {**BASE, "result": {"duration": "1 hour"}}, "statement.result.duration"),
    ("duration alternative format", {**BASE, "result": {"duration": "PT01:30:00"}}, "statement.result.duration"),
    ("timestamp not ISO 8601", {**BASE, "timestamp": "05/01/2026 10:00"}, "statement.timestamp"),
    ("timestamp impossible date", {**BASE, "timestamp": "2026-02-30T10:00:00Z"}, "statement.timestamp"),
    ("timestamp out of range", {**BASE, "timestamp": "0001-01-01T00:00:00+05:00"}, "statement.timestamp"),
    ("timestamp -00:00 offset", {**BASE, "timestamp": "2026-01-05T10:00:00-00:00"}, "statement.timestamp"),
    ("version not 1.0.x", {**BASE, "version": "2.0.0"}, "statement.version"),
    ("registration not a UUID", {**BASE, "context": {"registration": "r-1"}}, "statement.context.registration"),
    (
        "contextActivities bad key",
        {**BASE, "context": {"contextActivities": {"parents": []}}},
        "statement.context.contextActivities.parents",
    ),
    (
        "revision with an Agent object",
        {**BASE, "object": agent(mbox="mailto:b@b.org"), "context": {"revision": "2"}},
        "statement.context.revision",
    ),
    (
        "team not a Group",
        {**BASE, "context": {"team": agent(mbox="mailto:b@b.org")}},
        "statement.context.team.objectType",
    ),
    ("language not a tag", {**BASE, "context": {"language": "english!"}}, "statement.context.language"),
    (
        "voiding statement without StatementRef",
        {**BASE, "verb": {"id": ADL + "voided"}, "object": {"id": "https://x.org/a"}},
        "statement.object.objectType",
    ),
    ("attachments", {**BASE, "attachments": []}, "statement.attachments"),
    ("not an object", ["nested"], "statement"),
]


@pytest.mark.parametrize(("case", "body", "path"), INVALID, ids=[case for case, _, _ in INVALID])
def test_invalid_statements_are_refused_naming_the_field(client, xapi, case, body, path):
    response = client.post("/xapi/statements", json=body if case != "not an object" else [body], headers=xapi)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    expected = path if case != "not an object" else "statements[0]"
    assert expected in [d["path"] for d in error["details"]], error
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert stored_count() == 0


def test_one_bad_statement_refuses_the_whole_batch(client, xapi):
    response = client.post(
        "/xapi/statements", json=[statement(), {**statement(), "verb": {"id": "nope"}}], headers=xapi
    )
    assert response.status_code == 400
    assert [d["path"] for d in response.get_json()["error"]["details"]] == ["statements[1].verb.id"]
    assert stored_count() == 0


# --- statements the LRS MUST accept ---------------------------------------------------------------
VALID = [
    ("minimal", {k: BASE[k] for k in ("actor", "verb", "object")}),
    ("mbox actor", {**BASE, "actor": {"mbox": "mailto:amy@example.org"}}),
    ("mbox_sha1sum actor", {**BASE, "actor": agent(mbox_sha1sum="a" * 40)}),
    ("openid actor", {**BASE, "actor": agent(openid="https://id.example.org/amy")}),
    ("anonymous group", {**BASE, "actor": {"objectType": "Group", "member": [agent(mbox="mailto:a@b.org")]}}),
    ("identified group", {**BASE, "actor": {"objectType": "Group", "account": {"homePage": HOME, "name": "g1"}}}),
    ("agent object", {**BASE, "object": agent(mbox="mailto:b@b.org")}),
    ("StatementRef object", {**BASE, "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())}}),
    (
        "SubStatement",
        {**BASE, "object": {"objectType": "SubStatement", **{k: BASE[k] for k in ("actor", "verb", "object")}}},
    ),
    ("offset timestamp", {**BASE, "timestamp": "2026-01-05T12:00:00.123+02:00"}),
    ("timestamp without zone (UTC)", {**BASE, "timestamp": "2026-01-05T10:00:00"}),
    ("score bounds inclusive", {**BASE, "result": {"score": {"scaled": -1, "raw": 0, "min": 0, "max": 10}}}),
    ("durations", {**BASE, "result": {"duration": "P1DT2H30M4.5S", "success": True, "completion": False}}),
    ("week duration", {**BASE, "result": {"duration": "P2W"}}),
    ("null inside extensions", {**BASE, "result": {"extensions": {"https://x.org/ext": None}}}),
    ("version 1.0.0", {**BASE, "version": "1.0.0"}),
    (
        "full context",
        {
            **BASE,
            "context": {
                "registration": str(uuid.uuid4()),
                "instructor": agent(mbox="mailto:ted@example.org"),
                "team": {"objectType": "Group", "member": [agent(mbox="mailto:a@b.org")]},
                "contextActivities": {"parent": {"id": "https://lms.example.org/c1"}, "grouping": [{"id": HOME}]},
                "revision": "3",
                "platform": "Moodle",
                "language": "en-GB",
                "statement": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
                "extensions": {"https://lms.example.org/ext/lms-id": "42"},
            },
        },
    ),
    (
        "interaction definition",
        {
            **BASE,
            "object": {
                "id": "https://lms.example.org/q1",
                "definition": {
                    "name": {"en-US": "Q1"},
                    "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                    "interactionType": "choice",
                    "correctResponsesPattern": ["a"],
                    "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}],
                },
            },
        },
    ),
]


@pytest.mark.parametrize(("case", "body"), VALID, ids=[case for case, _ in VALID])
def test_valid_statements_are_accepted(client, xapi, case, body):
    response = client.post("/xapi/statements", json=body, headers=xapi)
    assert response.status_code == 200, response.get_data(as_text=True)
    (statement_id,) = response.get_json()
    assert uuid.UUID(statement_id)
    stored = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi).get_json()
    assert stored["actor"] == body["actor"] and stored["verb"] == body["verb"]
    assert stored["id"] == statement_id and stored["version"] == body.get("version", "1.0.0")
    assert stored["stored"].endswith("Z") and stored["authority"]["account"]["name"] == "lms"
    assert "timestamp" in stored


def test_context_activities_are_returned_as_arrays(client, xapi):
    body = {**BASE, "context": {"contextActivities": {"parent": {"id": "https://lms.example.org/c1"}}}}
    (statement_id,) = client.post("/xapi/statements", json=body, headers=xapi).get_json()
    stored = client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi).get_json()
    assert stored["context"]["contextActivities"]["parent"] == [{"id": "https://lms.example.org/c1"}]


# --- headers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "version", "status"),
    [
        ("post", "/xapi/statements", None, 400),
        ("post", "/xapi/statements", "0.95", 400),
        ("post", "/xapi/statements", "1.1.0", 400),
        ("get", "/xapi/statements", None, 400),
        ("put", f"/xapi/statements?statementId={uuid.uuid4()}", None, 400),
        ("post", "/xapi/statements", "1.0.0", 200),
        ("post", "/xapi/statements", "1.0", 200),
        ("get", "/xapi/about", None, 200),
    ],
)
def test_version_header_is_required_and_always_sent(client, service, method, path, version, status):
    headers = {**service, **({"X-Experience-API-Version": version} if version else {})}
    response = getattr(client, method)(path, json=statement(), headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    if status == 400:
        assert "X-Experience-API-Version" in response.get_json()["error"]["message"]


def test_about_lists_the_version_and_statements_responses_say_how_fresh_they_are(client, xapi):
    assert client.get("/xapi/about").get_json() == {"version": ["1.0.3"], "extensions": {}}
    response = client.get("/xapi/statements", headers=xapi)
    assert response.status_code == 200 and response.get_json() == {"statements": [], "more": ""}
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")


@pytest.mark.parametrize("who", ["nobody", "learner", "educator", "bad basic"])
def test_only_services_admins_and_credentials_may_use_it(client, app, who):
    headers = dict(VERSION)
    if who in ("learner", "educator"):
        headers.update(bearer(create_user(who, who)))
    elif who == "bad basic":
        headers["Authorization"] = "Basic " + base64.b64encode(b"nokey:nosecret").decode()
    response = client.post("/xapi/statements", json=statement(), headers=headers)
    assert response.status_code == (403 if who in ("learner", "educator") else 401)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    if response.status_code == 401:
        assert 'Basic realm="learnpulse-xapi"' in response.headers.getlist("WWW-Authenticate")


def test_attachments_in_multipart_are_refused_clearly(client, xapi):
    response = client.post(
        "/xapi/statements", data=b"--b\r\n\r\n--b--", headers={**xapi, "Content-Type": "multipart/mixed; boundary=b"}
    )
    assert response.status_code == 400 and "attachments are not supported" in response.get_json()["error"]["message"]


# --- ids, PUT and POST ------------------------------------------------------------------------------
def test_ids_are_assigned_and_returned_in_order(client, xapi):
    given = str(uuid.uuid4())
    ids = client.post("/xapi/statements", json=[statement(), {"id": given, **statement()}], headers=xapi).get_json()
    assert ids[1] == given and uuid.UUID(ids[0]) and ids[0] != given


def test_same_id_same_statement_is_accepted_once_and_a_different_one_is_a_conflict(client, xapi):
    body = with_id(statement())
    assert client.post("/xapi/statements", json=body, headers=xapi).status_code == 200
    again = {**body, "id": body["id"].upper(), "timestamp": "2026-01-05T11:00:00+01:00"}  # the same statement
    response = client.post("/xapi/statements", json=[again], headers=xapi)
    assert response.status_code == 200 and response.get_json() == [body["id"]]
    assert client.put(f"/xapi/statements?statementId={body['id']}", json=body, headers=xapi).status_code == 204
    assert stored_count() == 1
    changed = {**body, "verb": {"id": ADL + "completed"}}
    for response in (
        client.post("/xapi/statements", json=changed, headers=xapi),
        client.put(f"/xapi/statements?statementId={body['id']}", json=changed, headers=xapi),
    ):
        assert response.status_code == 409
        assert response.get_json()["error"]["details"][0]["path"] == "statement.id"
    assert stored_count() == 1


def test_a_batch_repeating_an_id_is_refused(client, xapi):
    body = with_id(statement())
    response = client.post("/xapi/statements", json=[body, body], headers=xapi)
    assert response.status_code == 400 and response.get_json()["error"]["details"][0]["path"] == "statements[1].id"
    assert stored_count() == 0


@pytest.mark.parametrize(
    ("query", "body", "path"),
    [
        ("", statement(), "statementId"),
        ("?statementId=xyz", statement(), "statementId"),
        (f"?statementId={uuid.uuid4()}", with_id(statement()), "statement.id"),
        (f"?statementId={uuid.uuid4()}", [statement()], "statement"),
    ],
)
def test_put_needs_a_matching_statement_id(client, xapi, query, body, path):
    response = client.put(f"/xapi/statements{query}", json=body, headers=xapi)
    assert response.status_code == 400 and response.get_json()["error"]["details"][0]["path"] == path


def test_put_stores_under_the_given_id(client, xapi):
    statement_id = str(uuid.uuid4())
    response = client.put(f"/xapi/statements?statementId={statement_id}", json=statement(), headers=xapi)
    assert response.status_code == 204 and response.get_data() == b""
    assert client.get(f"/xapi/statements?statementId={statement_id}", headers=xapi).get_json()["id"] == statement_id


def test_a_trailing_slash_is_accepted_as_forwarders_send_it(client, xapi):
    response = client.post("/xapi/statements/", json=statement(), headers=xapi)
    assert response.status_code == 200 and response.headers["X-Experience-API-Consistent-Through"]
    assert client.get(f"/xapi/statements/?statementId={response.get_json()[0]}", headers=xapi).status_code == 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
PARTS = ["id", "actor", "verb", "object", "result", "context", "timestamp", "version", "authority"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(part=st.sampled_from(PARTS), value=JSON, inner=st.sampled_from(["", "account", "score", "definition", "id"]))
def test_any_value_anywhere_is_a_400_or_accepted_never_a_500(app, part, value, inner):
    """Random JSON in any property (or one level down): the LRS answers 200 or 400, nothing else."""
    body = statement(result={"score": {"raw": 1, "max": 2}}, context={"registration": str(uuid.uuid4())})
    body["object"]["definition"] = {"type": "http://adlnet.gov/expapi/activities/assessment"}
    if inner and isinstance(body.get(part), dict):
        body[part] = {**body[part], inner: value}
    else:
        body[part] = value
    headers = {**bearer(_service()), **VERSION}
    response = app.test_client().post("/xapi/statements", json=body, headers=headers)
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.get_json()["error"]["details"], "a refusal names the field"


def _service():
    from models import User

    found = db.session.scalar(sa.select(User).where(User.external_id == "lms"))
    return found or create_user("lms", "service")
