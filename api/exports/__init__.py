"""Downloads: CSV exports and PDF reports, with the same access rules as their REST twins."""

from flask import Blueprint

bp = Blueprint("exports", __name__)

from api.exports import csv_routes, pdf_routes  # noqa: E402,F401
