"""GET /xapi/statements: single statements, filters, `more` paging, voiding; and the Basic credentials
an admin makes with `flask xapi credentials`."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from models import XapiCredential, db
from tests.xapi_data import ADL, HOME, VERSION, statement, with_id


@pytest.fixture
def xapi(service) -> dict[str, str]:
    return {**service, **VERSION}


def post(client, headers, *bodies) -> list[str]:
    response = client.post("/xapi/statements", json=list(bodies), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids_of(client, headers, query: str) -> list[str]:
    response = client.get(f"/xapi/statements?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [s["id"] for s in response.get_json()["statements"]]


def void(statement_id: str) -> dict:
    return statement("admin-bot", "voided", object={"objectType": "StatementRef", "id": statement_id})


@pytest.fixture
def history(client, xapi) -> dict[str, str]:
    """Four statements stored in order a, b, c, d (a registration on c, an agent object on d)."""
    registration = str(uuid.uuid4())
    a = post(client, xapi, statement("amy", "experienced", "https://x.org/1"))[0]
    time.sleep(0.01)
    b = post(client, xapi, statement("bob", "completed", "https://x.org/1"))[0]
    time.sleep(0.01)
    c = post(client, xapi, statement("amy", "completed", "https://x.org/2", context={"registration": registration}))[0]
    d = post(client, xapi, statement("bob", "experienced", object={"objectType": "Agent", "mbox": "mailto:amy@x.org"}))[
        0
    ]
    return {"a": a, "b": b, "c": c, "d": d, "registration": registration}


def test_filters_select_and_order_statements(client, xapi, history):
    h = history
    amy = quote(json.dumps({"account": {"homePage": HOME, "name": "amy"}}))
    amy_mbox = quote(json.dumps({"mbox": "mailto:amy@x.org"}))
    cases = [
        ("", [h["d"], h["c"], h["b"], h["a"]]),  # newest stored first
        ("ascending=true", [h["a"], h["b"], h["c"], h["d"]]),
        (f"agent={amy}", [h["c"], h["a"]]),
        (f"agent={amy_mbox}", [h["d"]]),  # the agent as the object
        (f"verb={quote(ADL + 'completed')}", [h["c"], h["b"]]),
        (f"activity={quote('https://x.org/1')}", [h["b"], h["a"]]),
        (f"registration={h['registration']}", [h["c"]]),
        (f"agent={amy}&verb={quote(ADL + 'completed')}", [h["c"]]),
    ]
    for query, expected in cases:
        assert ids_of(client, xapi, query) == expected, query
    stored = {k: client.get(f"/xapi/statements?statementId={h[k]}", headers=xapi).get_json()["stored"] for k in "abcd"}
    assert ids_of(client, xapi, f"since={quote(stored['a'])}&ascending=true") == [h["b"], h["c"], h["d"]]
    assert ids_of(client, xapi, f"until={quote(stored['b'])}") == [h["b"], h["a"]]


def test_more_pages_through_everything_once(client, xapi):
    posted = post(client, xapi, *[statement(f"l{i}") for i in range(7)])
    seen, url = [], "/xapi/statements?limit=3&ascending=true"
    while url:
        page = client.get(url, headers=xapi).get_json()
        assert len(page["statements"]) <= 3
        seen += [s["id"] for s in page["statements"]]
        url = page["more"]
        assert url == "" or url.startswith("/xapi/statements?")
    assert seen == posted


@pytest.mark.parametrize(
    ("query", "path"),
    [
        (f"statementId={uuid.uuid4()}&voidedStatementId={uuid.uuid4()}", "voidedStatementId"),
        (f"statementId={uuid.uuid4()}&verb={quote(ADL + 'completed')}", "verb"),
        ("statementId=nope", "statementId"),
        ("agent=%7Bnot-json", "agent"),
        (f"agent={quote(json.dumps({'mbox': 'a@b.org'}))}", "agent.mbox"),
        ("verb=completed", "verb"),
        ("activity=not%20an%20iri", "activity"),
        ("registration=r1", "registration"),
        ("since=yesterday", "since"),
        ("limit=-1", "limit"),
        ("ascending=yes", "ascending"),
        ("format=full", "format"),
        ("related_activities=true", "related_activities"),
        ("attachments=true", "attachments"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_parameters_are_refused_naming_them(client, xapi, query, path):
    response = client.get(f"/xapi/statements?{query}", headers=xapi)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["details"][0]["path"] == path


def test_unknown_statement_is_404(client, xapi):
    for name in ("statementId", "voidedStatementId"):
        response = client.get(f"/xapi/statements?{name}={uuid.uuid4()}", headers=xapi)
        assert response.status_code == 404 and response.headers["X-Experience-API-Version"] == "1.0.3"


def test_voided_statements_are_found_only_by_voided_statement_id(client, xapi):
    target, kept = post(client, xapi, statement("amy"), statement("bob"))
    assert client.get(f"/xapi/statements?voidedStatementId={target}", headers=xapi).status_code == 404
    (voiding,) = post(client, xapi, void(target))
    assert client.get(f"/xapi/statements?statementId={target}", headers=xapi).status_code == 404
    found = client.get(f"/xapi/statements?voidedStatementId={target}&format=exact", headers=xapi)
    assert found.status_code == 200 and found.get_json()["id"] == target
    assert ids_of(client, xapi, "") == [voiding, kept]  # the voiding statement itself is an ordinary statement
    assert client.get(f"/xapi/statements?statementId={voiding}", headers=xapi).status_code == 200


def test_a_voiding_statement_cannot_be_voided(client, xapi):
    (target,) = post(client, xapi, statement())
    (voiding,) = post(client, xapi, void(target))
    response = client.post("/xapi/statements", json=void(voiding), headers=xapi)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["path"] == "statement.object.id"
    first = with_id(void(str(uuid.uuid4())))
    batch = client.post("/xapi/statements", json=[first, void(first["id"])], headers=xapi)
    assert batch.status_code == 400 and batch.get_json()["error"]["details"][0]["path"] == "statements[1].object.id"
    assert client.get(f"/xapi/statements?statementId={voiding}", headers=xapi).status_code == 200


def test_voiding_a_statement_not_yet_stored_is_accepted(client, xapi):
    later = str(uuid.uuid4())
    post(client, xapi, void(later))
    assert client.put(f"/xapi/statements?statementId={later}", json=statement(), headers=xapi).status_code == 204
    assert client.get(f"/xapi/statements?statementId={later}", headers=xapi).status_code == 404
    assert client.get(f"/xapi/statements?voidedStatementId={later}", headers=xapi).status_code == 200


# --- credentials ------------------------------------------------------------------------------------
def basic(pair: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode(), **VERSION}


def test_credentials_are_created_listed_used_and_revoked(client, runner):
    created = runner.invoke(args=["xapi", "credentials", "create", "--name", "Moodle logstore"])
    assert created.exit_code == 0, created.output
    pair = created.output.strip()
    key, _, secret = pair.partition(":")
    assert created.output == f"{pair}\n" and len(key) == 32 and len(secret) >= 32
    row = db.session.scalar(sa.select(XapiCredential))
    assert secret not in (row.secret_hash, row.key) and len(row.secret_hash) == 64  # a digest, not the secret
    listed = runner.invoke(args=["xapi", "credentials", "list"])
    assert key in listed.output and "Moodle logstore" in listed.output and secret not in listed.output
    response = client.post("/xapi/statements", json=statement(), headers=basic(pair))
    assert response.status_code == 200
    stored = client.get(f"/xapi/statements?statementId={response.get_json()[0]}", headers=basic(pair)).get_json()
    assert stored["authority"]["account"]["name"] == key and stored["authority"]["name"] == "Moodle logstore"
    assert client.get("/xapi/statements", headers=basic(f"{key}:wrong")).status_code == 401
    assert runner.invoke(args=["xapi", "credentials", "revoke", key]).exit_code == 0
    assert client.get("/xapi/statements", headers=basic(pair)).status_code == 401
    assert "revoked" in runner.invoke(args=["xapi", "credentials", "list"]).output
    again = runner.invoke(args=["xapi", "credentials", "revoke", key])
    assert again.exit_code != 0 and "no active credential" in again.output
