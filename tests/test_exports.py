"""CSV exports and PDF reports: same rows and access as the REST twins, spreadsheet-safe, readable PDFs."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest

from services.csv_export import BOM, safe_cell
from tests.roster_data import FORMULA_NAME, plant_section


def require_poppler() -> None:
    """The PDF checks read reports back with poppler: a missing tool fails the test, it never skips it."""
    missing = [tool for tool in ("pdftotext", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Debian's poppler-utils (.ci/run does)")


needs_poppler = pytest.mark.usefixtures("poppler")


@pytest.fixture
def poppler() -> None:
    require_poppler()


@pytest.fixture
def planted(client, service):
    return plant_section(client, service, 24)


def parse(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv" and "attachment; filename=" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :], newline="")))


def as_csv(value) -> str:
    """How a JSON value appears in the CSV."""
    cell = safe_cell(value)
    return str(cell) if not isinstance(cell, str) else cell


def test_roster_csv_matches_the_roster_json(client, planted):
    query = "sort=risk_probability&order=desc&risk=red"
    rows = parse(client.get(f"/api/v1/sections/s1/export.csv?{query}", headers=planted["ted"]))
    api = client.get(f"/api/v1/sections/s1/learners?{query}&limit=1000", headers=planted["ted"]).json["learners"]
    assert len(rows) == len(api) > 0
    for row, item in zip(rows, api):
        for column, value in row.items():
            assert value == as_csv(item[column]), (column, item["external_id"])
    everyone = parse(client.get("/api/v1/sections/s1/export.csv", headers=planted["ted"]))
    assert len(everyone) == 24


def test_formula_names_are_neutralised(client, planted):
    rows = parse(client.get("/api/v1/sections/s1/export.csv?q=l07", headers=planted["ted"]))
    assert rows[0]["name"] == "'" + FORMULA_NAME
    raw = client.get("/api/v1/sections/s1/export.csv?q=l07", headers=planted["ted"]).data.decode()
    assert '"\'=HYPERLINK(""http://evil.example/"",""click"")"' in raw  # RFC 4180: quotes doubled
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell(-3.5) == -3.5 and safe_cell("plain") == "plain"


def test_alerts_csv_matches_the_alert_list(client, planted):
    rows = parse(client.get("/api/v1/alerts/export.csv?severity=high", headers=planted["ted"]))
    api = client.get("/api/v1/progress/performance-alerts/?severity=high&limit=1000", headers=planted["ted"]).json
    assert [int(r["id"]) for r in rows] == [a["id"] for a in api["alerts"]] and rows
    assert rows[0]["learner"] == api["alerts"][0]["learner"] and rows[0]["message"] == api["alerts"][0]["message"]
    theirs = parse(client.get("/api/v1/alerts/export.csv", headers=planted["una"]))
    una_api = client.get("/api/v1/progress/performance-alerts/?limit=1000", headers=planted["una"]).json["alerts"]
    assert [int(r["id"]) for r in theirs] == [a["id"] for a in una_api]  # another educator: only their learners
    assert {r["learner"] for r in theirs} <= {"zed"}
    assert client.get("/api/v1/alerts/export.csv?sevrity=high", headers=planted["ted"]).status_code == 400


def test_events_csv_matches_the_events_json(client, planted):
    rows = parse(client.get("/api/v1/learners/l00/events.csv?kind=assessment", headers=planted["l00"]))
    api = client.get("/api/v1/learners/l00/events?kind=assessment", headers=planted["l00"]).json["events"]
    assert len(rows) == len(api) == 5
    for row, event in zip(rows, api):
        assert row["server_id"] == str(event["server_id"]) and row["occurred_at"] == event["occurred_at"]
        assert float(row["score"]) == event["score"] and row["kind"] == "assessment"


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/api/v1/learners/l00/events.csv", {"l00": 200, "ted": 200, "una": 404, "zed": 404, "service": 200}),
        ("/api/v1/learners/l00/report.pdf", {"l00": 200, "ted": 200, "una": 404, "zed": 404, "service": 200}),
        ("/api/v1/sections/s1/export.csv", {"l00": 403, "ted": 200, "una": 404, "zed": 403, "service": 200}),
        ("/api/v1/sections/s1/report.pdf", {"l00": 403, "ted": 200, "una": 404, "zed": 403, "service": 200}),
    ],
)
def test_access_is_the_same_as_the_rest_twins(client, planted, path, expected):
    for actor, status in expected.items():
        assert client.get(path, headers=planted[actor]).status_code == status, actor


def test_large_section_is_streamed_in_batches(client, service, app):
    from models import Enrollment, Section, User, db

    section = Section(external_id="big", name="Big")
    users = [User(external_id=f"b{i:05d}", role="learner", name=f"Big {i}") for i in range(2500)]
    db.session.add_all([section, *users])
    db.session.flush()
    db.session.add_all([Enrollment(learner_id=u.id, section_id=section.id) for u in users])
    db.session.commit()
    response = client.get("/api/v1/sections/big/export.csv?sort=name", headers=service)
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) == 2501  # the header, then one chunk per row as it is produced
    rows = list(
        csv.DictReader(io.StringIO(b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode()[1:]))
    )
    assert len({r["external_id"] for r in rows}) == 2500 and rows[0]["risk_light"] == "grey"


def pdf_text(data: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / name)], check=True)
    assert list(tmp_path.glob(f"{name}*.png")), "the first page renders"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@needs_poppler
def test_learner_pdf_holds_the_learners_figures(client, planted, tmp_path):
    response = client.get("/api/v1/learners/l00/report.pdf", headers=planted["l00"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and "learner-report-l00" in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path, "learner")
    report = client.get("/api/v1/learners/l00/analytics", headers=planted["l00"]).json
    assert "Learner report: Learner 00" in text and "Page 1 of 1" in text and "Generated " in text
    assert f"{report['metrics']['average_score']:.1f}%" in text and "improving" in text
    assert f"{report['risk']['light'].upper()}" in text and f"{report['risk']['probability']:.0%}" in text
    completion = report["completion"][0]
    assert completion["predicted_completion"] in text and f"{completion['modules_completed']} of 4" in text
    open_alerts = client.get("/api/v1/progress/performance-alerts/?status=open", headers=planted["l00"]).json
    assert "Recent assessment scores" in text
    assert ("No open alerts." in text) == (not open_alerts["alerts"])
    assert all(alert["title"] in text for alert in open_alerts["alerts"])


@needs_poppler
def test_section_pdf_holds_the_cohort_and_roster(client, planted, tmp_path):
    response = client.get("/api/v1/sections/s1/report.pdf?sort=risk_probability&order=desc", headers=planted["ted"])
    text = pdf_text(response.data, tmp_path, "section")
    cohort = client.get("/api/v1/sections/s1/analytics", headers=planted["ted"]).json
    assert "Section report: S1" in text and "taught by Ted" in text
    assert f"{cohort['average']:.1f}%" in text and f"{100 * cohort['pass_rate']:.1f}%" in text
    assert "Learners per grade band" in text and "Roster (24 learners)" in text and "Open alerts (" in text
    assert "Filters: pass_mark=60, sort=risk_probability, order=desc" in text
    pages = text.count("Page ")
    assert pages >= 2 and f"Page {pages} of {pages}" in text
    filtered = client.get("/api/v1/sections/s1/report.pdf?risk=green&pass_mark=50", headers=planted["ted"])
    assert "risk=green" in pdf_text(filtered.data, tmp_path, "filtered")
    bad = client.get("/api/v1/sections/s1/report.pdf?colour=red", headers=planted["ted"])
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "colour"


def test_layout_can_run_in_gevents_native_threadpool(client, planted):
    from api.exports.pdf_routes import render_off_loop
    from models import Section, db
    from services.pdf.section import section_document
    from services.roster import RosterQuery

    section = db.session.scalar(db.select(Section).where(Section.external_id == "s1"))
    document = section_document(section, RosterQuery(), 60.0)
    in_thread, inline = render_off_loop(document, threadpool=True), render_off_loop(document, threadpool=False)
    assert in_thread.startswith(b"%PDF") and len(in_thread) > 10_000
    assert abs(len(in_thread) - len(inline)) < 200  # the same document (ids and timestamps aside)


@needs_poppler
def test_learner_pdf_of_a_learner_the_risk_model_cannot_judge_yet(client, planted, tmp_path):
    """Too little data: the risk is grey with no probability (found by the API fuzzer as a 500)."""
    report = client.get("/api/v1/learners/l07/analytics", headers=planted["ted"]).json
    assert report["risk"]["light"] == "grey" and report["risk"]["probability"] is None
    response = client.get("/api/v1/learners/l07/report.pdf", headers=planted["ted"])
    assert response.status_code == 200
    text = pdf_text(response.data, tmp_path, "grey")
    assert "GREY" in text and "not enough data yet" in text
    dashboard = client.get("/api/v1/progress/real-time-dashboard/?learner=l07", headers=planted["ted"])
    assert dashboard.status_code == 200
