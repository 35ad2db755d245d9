"""GET /learners/<id>/report.pdf and /sections/<id>/report.pdf: printable reports for meetings."""

from __future__ import annotations

from datetime import UTC, datetime

import gevent
from flask import Response

from api.access import readable_learner, readable_section
from api.audit import record_export
from api.auth.guard import current_user, require_auth
from api.exports import bp
from api.green import gevent_patched
from api.query_args import int_arg, reject_unknown_args
from api.roster_args import roster_query
from services.csv_export import attachment_name
from services.pdf.layout import Document
from services.pdf.learner import learner_document
from services.pdf.section import section_document


def render_off_loop(document: Document, threadpool: bool | None = None) -> bytes:
    """Lay the PDF out in a native thread when serving under gevent: the CPU-bound layout (about a second
    for a 1,000-learner roster) then shares the GIL instead of stalling every socket of the process."""
    if threadpool is None:
        threadpool = gevent_patched("socket")
    if not threadpool:
        return document.render()
    return gevent.get_hub().threadpool.apply(document.render)


def pdf_response(document: Document, *name_parts: str) -> Response:
    """A PDF download named after what it reports on and when; the download is audited."""
    record_export()
    content = render_off_loop(document)
    filename = attachment_name(*name_parts, datetime.now(UTC).strftime("%Y%m%d-%H%M")) + ".pdf"
    return Response(
        content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/learners/<external_id>/report.pdf")
@require_auth()
def learner_report_pdf(external_id: str) -> Response:
    """The learner's figures, trend, forecast, completion, risk, recent scores and alerts, for a parent meeting."""
    learner = readable_learner(current_user(), external_id)
    reject_unknown_args(())  # takes no parameters: any is a 400 naming it
    return pdf_response(learner_document(learner), "learner-report", learner.external_id)


@bp.get("/sections/<section_id>/report.pdf")
@require_auth("educator", "admin", "service")
def section_report_pdf(section_id: str) -> Response:
    """The section's cohort figures, grade bands, risk counts, roster (roster filters apply) and open alerts."""
    section = readable_section(current_user(), section_id)
    query = roster_query(paged=False, extra_args=("pass_mark",))
    pass_mark = float(int_arg("pass_mark", 60, 0, 100))
    return pdf_response(section_document(section, query, pass_mark), "section-report", section.external_id)
