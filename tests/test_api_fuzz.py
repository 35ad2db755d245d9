"""schemathesis against a real gunicorn, from the OpenAPI document the app builds: requests generated
from every operation's schema, and mutated beyond it, never get a 5xx, answer only documented status codes
with bodies that match their documented schemas and media types, and every error is our JSON shape.
(schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation is driven through its
hypothesis strategy.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import build_spec
from models import db
from tests.conftest import bearer, create_user
from tests.input_fixtures import small_catalog

pytestmark = pytest.mark.integration
SCHEMA = schemathesis.openapi.from_dict(build_spec()).exclude(path_regex=r"^/ws")  # WebSockets answer 101
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = settings(
    max_examples=12, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _not_json(token: str) -> None:
    raise AssertionError(f"the response holds {token}, which is not JSON")


@schemathesis.check
def json_error_shape(ctx: Any, response: Any, case: Any) -> None:
    """Every JSON body is strict JSON (no NaN), and every 4xx/5xx is our one error shape."""
    if "json" not in (response.headers.get("content-type") or [""])[0]:
        assert response.status_code < 400, f"a {response.status_code} that is not JSON"
        return
    body = json.loads(response.content or b"null", parse_constant=_not_json)
    if response.status_code >= 400:
        assert set(body["error"]) == {"status", "code", "message", "details"}, body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    json_error_shape,
]


@pytest.fixture(scope="module")
def admin_headers(migrated: str, redis_url: str) -> dict[str, str]:
    """An admin token, and a small catalog so some generated ids hit real rows."""
    from api import create_app  # noqa: PLC0415
    from tests.conftest import base_config, wipe  # noqa: PLC0415

    app = create_app(base_config(migrated, redis_url))
    with app.app_context():
        wipe(redis_url)
        small_catalog()
        create_user("amy", "learner")
        headers = bearer(create_user("root", "admin"), ttl=3600)
        db.session.remove()
        db.engine.dispose()
    return headers


def _has_input(operation: Any) -> bool:
    """Negative generation mutates parameters or a body; an operation with neither has nothing to mutate."""
    return bool(list(operation.iter_parameters())) or bool(operation.body and list(operation.body))


CASES = [(operation, GenerationMode.POSITIVE) for operation in OPERATIONS] + [
    (operation, GenerationMode.NEGATIVE) for operation in OPERATIONS if _has_input(operation)
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{op.label}-{mode.value}" for op, mode in CASES])
def test_no_operation_answers_a_server_error(operation: Any, mode: GenerationMode, web: str, admin_headers: dict):
    @EXAMPLES
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=web, headers=admin_headers, checks=CHECKS, timeout=20)

    run()
