"""/xapi/statements (POST, PUT, GET) and /xapi/about."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, request

from api.errors import ApiError, field_error
from api.events.schemas import MAX_BATCH
from api.validation import json_body
from api.xapi import bp
from api.xapi.auth import require_xapi_auth
from api.xapi.ingest import store_statements
from api.xapi.params import check_common, single_id, statement_filter
from services.xapi.formats import UUID
from services.xapi.queries import find_statement, list_statements
from services.xapi.statement_check import ATTACHMENTS_REFUSED
from services.xapi.statements import VERSION


def _body() -> Any:
    """The JSON body; multipart/mixed (statements with attachments) is refused with the reason."""
    if request.mimetype == "multipart/mixed":
        raise ApiError(400, ATTACHMENTS_REFUSED, "attachments_unsupported", [field_error("attachments", "unsupported")])
    if "method" in request.args:
        raise ApiError(400, "the alternate request syntax (?method=) is not supported by this LRS", "invalid_parameter")
    return json_body()


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


@bp.get("/about", strict_slashes=False)
def about():
    """The xAPI versions this LRS speaks (no authentication, no version header needed)."""
    return {"version": [VERSION], "extensions": {}}


@bp.post("/statements", strict_slashes=False)  # forwarders (Ralph) add a slash
@require_xapi_auth
def post_statements():
    """Store one statement or an array; 200 with their ids in order."""
    body = _body()
    if isinstance(body, list):
        if len(body) > MAX_BATCH:
            raise ApiError(413, f"a batch holds at most {MAX_BATCH} statements, this one has {len(body)}")
        paths = [f"statements[{index}]" for index in range(len(body))]
        return _json(json.dumps(store_statements(body, paths, g.xapi_authority)))
    return _json(json.dumps(store_statements([body], ["statement"], g.xapi_authority)))


@bp.put("/statements", strict_slashes=False)  # forwarders (Ralph) add a slash
@require_xapi_auth
def put_statement():
    """Store one statement under ?statementId=; 204 (also when that very statement is already stored)."""
    statement_id = request.args.get("statementId")
    if statement_id is None or not UUID.match(statement_id):
        reason = "is required" if statement_id is None else "must be a UUID"
        raise ApiError(
            400, f"query parameter statementId {reason}", "invalid_parameter", [field_error("statementId", reason)]
        )
    body = _body()
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "PUT stores one statement: send a JSON object",
            details=[field_error("statement", "must be a JSON object")],
        )
    if "id" in body and (not isinstance(body["id"], str) or body["id"].lower() != statement_id.lower()):
        raise ApiError(
            400,
            "the statement's id differs from ?statementId=",
            details=[field_error("statement.id", "must equal statementId")],
        )
    store_statements([{**body, "id": statement_id}], ["statement"], g.xapi_authority)
    return Response(status=204)


@bp.get("/statements", strict_slashes=False)  # forwarders (Ralph) add a slash
@require_xapi_auth
def get_statements():
    """One statement by statementId / voidedStatementId, or a filtered page with a `more` link."""
    check_common(request.args)
    single = single_id(request.args)
    if single is not None:
        body = find_statement(*single)
        if body is None:
            kind = "voided statement" if single[1] else "statement (or it was voided)"
            raise ApiError(404, f"no {kind} with id {single[0]}")
        return _json(body)
    bodies, cursor = list_statements(statement_filter(request.args))
    more = ""
    if cursor is not None:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"] + [("cursor", str(cursor))]
        more = f"{request.path}?{urlencode(args)}"
    return _json('{"statements":[' + ",".join(bodies) + '],"more":' + json.dumps(more) + "}")
