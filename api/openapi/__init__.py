"""The OpenAPI 3 document, built from the same field specs the validators enforce."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from api.openapi.components import REQUEST_SCHEMAS
from api.openapi.components import components as _components
from api.openapi.paths import all_paths as _paths
from api.openapi.responses import describe_responses
from api.webhooks.openapi_paths import REQUEST_SCHEMAS as WEBHOOK_SCHEMAS


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    """The whole document; built once per process."""
    components = _components()
    components["schemas"].update(copy.deepcopy(REQUEST_SCHEMAS))
    components["schemas"].update(copy.deepcopy(WEBHOOK_SCHEMAS))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "LearnPulse API",
            "version": "1.0.0",
            "description": "Real-time learner performance tracking. Errors always have the shape "
            '{"error": {"status", "code", "message", "details": [{"path", "reason"}]}}.',
        },
        "paths": describe_responses(_paths()),
        "components": components,
    }
