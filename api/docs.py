"""GET /api/v1/openapi.json and the human docs page at /docs."""

from __future__ import annotations

from flask import Blueprint, render_template

from api.openapi import build_spec

bp = Blueprint("docs", __name__, template_folder="templates")


@bp.get("/api/v1/openapi.json")
def openapi_json():
    """The OpenAPI 3 document, generated from the same field specs the validators use."""
    return build_spec()


@bp.get("/docs")
def docs_page():
    """A readable page of every endpoint, rendered from the OpenAPI document (no external assets)."""
    return render_template("docs.html", spec=build_spec())
