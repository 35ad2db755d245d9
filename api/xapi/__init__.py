"""xAPI 1.0.3 statements resource (/xapi/statements, /xapi/about): LearnPulse as a Learning Record Store."""

from flask import Blueprint

from services.xapi.mapping_table import load_mapping

bp = Blueprint("xapi", __name__)
# A malformed XAPI_MAPPING_FILE stops the process at start, not at the first statement.
bp.record_once(lambda state: load_mapping(state.app.config.get("XAPI_MAPPING_FILE") or None))

from api.xapi import headers, routes  # noqa: E402,F401
