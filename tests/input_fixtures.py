"""Fixtures of the malformed-input tests: a small school with headers per role, and one real gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from models import Course, Exam, Module, Section, db
from tests.conftest import SECRET, bearer, create_user
from tests.processes import service_env, start_web, wait_until


def small_catalog() -> Section:
    """Course c1 with module m1, section s1 and exam e1, added to the session (not committed)."""
    course = Course(external_id="c1", title="Course")
    db.session.add(course)
    db.session.flush()
    section = Section(external_id="s1", name="S1", course_id=course.id)
    db.session.add_all([Module(external_id="m1", course_id=course.id, title="M1"), section])
    db.session.flush()
    db.session.add(Exam(external_id="e1", title="Exam", max_marks=20, section_id=section.id))
    return section


@pytest.fixture
def school(client, service) -> dict[str, dict[str, str]]:
    """A course, module, section, exam and one enrolled learner; headers per role."""
    section = small_catalog()
    learner = create_user("amy", "learner")  # commits the catalog too
    educator = create_user("ted", "educator")
    section.educator_id = educator.id
    db.session.commit()
    return {
        "service": service,
        "admin": bearer(create_user("root", "admin")),
        "learner": bearer(learner),
        "educator": bearer(educator),
    }


@pytest.fixture(scope="module")
def web(migrated: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real gunicorn (the production worker class) on a free port."""
    log_dir: Path = tmp_path_factory.mktemp("bad-input-logs")
    process, url = start_web(service_env(migrated, redis_url, SECRET), log_dir, "web-bad-input", processes=1)
    try:
        wait_until(lambda: requests.get(f"{url}/api/v1/me", timeout=2).status_code == 401, 60, "gunicorn to answer")
        yield url
    except AssertionError:
        print(process.output())
        raise
    finally:
        process.stop()
