"""REST reads keep their prepared statements now (api/read_commit.py), so PostgreSQL may plan one once for any
values (a generic plan). The reads whose generic plan was far worse than their custom plans are fixed: the
roster's limit is SQL text, and the statements whose values decide the plan run unprepared
(models/unprepared.py). On SQLite only the rows are checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from api.roster_args import RosterQuery
from models import Enrollment, Event, Section, User, XapiStatement, db
from services.roster import _ordered, section_roster
from services.sessions import load_sessions
from services.xapi.queries import StatementFilter, list_statements, page_statement


def generic_plan(statement: sa.Executable) -> str:
    """EXPLAIN of `statement` prepared under force_generic_plan, executed with its own values."""
    compiled = statement.compile(
        dialect=postgresql.dialect(paramstyle="numeric_dollar"), compile_kwargs={"render_postcompile": True}
    )
    values = [compiled.params[name] for name in compiled.positiontup or ()]
    arguments = "(" + ", ".join(f"'{value}'" for value in values) + ")" if values else ""
    connection = db.session.connection()
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql(f"PREPARE generic AS {compiled}")
    plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE generic{arguments}"))
    connection.exec_driver_sql("DEALLOCATE generic")
    connection.exec_driver_sql("RESET plan_cache_mode")
    return plan


def _school(sections: int, per_section: int) -> list[int]:
    """`sections` sections of `per_section` learners each; the sections' ids."""
    learners = [
        {"external_id": f"l{i:04d}", "role": "learner", "name": f"L {i}"} for i in range(sections * per_section)
    ]
    db.session.execute(sa.insert(User), learners)
    db.session.execute(sa.insert(Section), [{"external_id": f"s{k}", "name": f"S{k}"} for k in range(sections)])
    ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
    section_ids = db.session.scalars(sa.select(Section.id).order_by(Section.id)).all()
    enrollments = [{"learner_id": ids[i], "section_id": section_ids[i // per_section]} for i in range(len(ids))]
    db.session.execute(sa.insert(Enrollment), enrollments)
    db.session.commit()
    return list(section_ids)


def test_the_roster_knows_its_limit_so_a_generic_plan_reads_only_the_section(app):
    """With the limit as a parameter the generic plan guessed a tenth of the rows would do, read every user in
    sort order and probed each one's enrollments (4,126 buffers for a section of 200 among 1,204 users)."""
    section_id = _school(6, 200)[0]
    query = RosterQuery(sort="external_id", descending=False, risk=None, rule=None, q=None, limit=500, after=None)
    statement = _ordered(section_roster(section_id), query)
    rows = db.session.execute(statement).all()
    assert [row.external_id for row in rows] == [f"l{i:04d}" for i in range(200)]
    if db.engine.dialect.name != "postgresql":
        return
    db.session.execute(sa.text("ANALYZE users; ANALYZE enrollments"))
    plan = generic_plan(statement)
    assert "ix_users_external_id" not in plan and "ix_enrollments_learner_id" not in plan, plan


def test_a_sections_session_events_are_never_prepared(app):
    """Their generic plan evaluated the kinds' array for every row (a section's sessions 41.7 ms instead of 22.3
    with the same buffers) and guessed a few hundred rows for the window: planned for their values every time."""
    section_id = _school(2, 20)[0]
    ids = sorted(db.session.scalars(sa.select(Enrollment.learner_id).where(Enrollment.section_id == section_id)))
    now = datetime.now(UTC)
    db.session.execute(
        sa.insert(Event),
        [
            {"learner_id": i, "kind": "activity", "occurred_at": now - timedelta(minutes=k), "body_hash": f"{i}-{k}"}
            for i in ids
            for k in range(3)
        ],
    )
    db.session.commit()
    for _ in range(7):  # psycopg prepares a statement on its 6th run on a connection
        sessions = load_sessions(ids, now - timedelta(days=1), 1800.0)
    assert len(sessions.learner) == len(ids)
    if db.engine.dialect.name != "postgresql":
        return
    cursor = db.session.connection().connection.driver_connection.cursor()
    prepared = [row[0] for row in cursor.execute("SELECT statement FROM pg_prepared_statements").fetchall()]
    assert not [text for text in prepared if "FROM events" in text], prepared


def _statements(count: int) -> None:
    """`count` stored statements, one in 500 with a rare verb; a voiding statement for every 97th of them."""
    now = datetime.now(UTC)
    rows = [
        {
            "statement_id": f"{i:08d}-0000-4000-8000-000000000000",
            "body": f'{{"n": {i}}}',
            "body_hash": "h",
            "stored": now - timedelta(seconds=count - i),
            "actor_ifi": f"mailto:a{i % 300}@example.com",
            "verb_id": "http://example.com/rare" if i % 500 == 0 else "http://example.com/common",
            "activity_id": f"http://example.com/activity/{i % 50}",
        }
        for i in range(count)
    ]
    rows += [
        {
            "statement_id": f"ffffffff-0000-4000-8000-{i:012d}",
            "body": '{"voiding": true}',
            "body_hash": "h",
            "stored": now,
            "actor_ifi": "mailto:admin@example.com",
            "verb_id": "http://adlnet.gov/expapi/verbs/voided",
            "voids": f"{i:08d}-0000-4000-8000-000000000000",
        }
        for i in range(0, count, 97)
    ]
    db.session.execute(sa.insert(XapiStatement), rows)
    db.session.commit()


def test_a_page_of_statements_never_reads_the_whole_store(app):
    """Voided statements were left out through an OR'd EXISTS, planned as a hashed subplan over every stored
    statement, and the limit was a parameter, so a generic plan guessed a tenth of the store (and went
    parallel, JIT-compiled: 62 ms for a page of a rare verb among 200k statements, against 1.1 ms)."""
    _statements(20000)
    rare = StatementFilter(verb="http://example.com/rare", limit=3)
    bodies, _ = list_statements(rare)
    # 19500, 19000, 18500 are the newest with the rare verb; none of them is a multiple of 97
    assert bodies == ['{"n": 19500}', '{"n": 19000}', '{"n": 18500}']
    voided_rare = [i for i in range(0, 20000, 500) if i % 97 == 0]  # 0 and 9700 are voided
    every, _ = list_statements(StatementFilter(verb="http://example.com/rare", limit=0))
    assert len(every) == 40 - len(voided_rare) and '{"n": 9700}' not in every
    if db.engine.dialect.name != "postgresql":
        return
    db.session.execute(sa.text("ANALYZE xapi_statements"))
    activity = StatementFilter(activity="http://example.com/activity/3", limit=10)
    for where in (rare, activity, StatementFilter(limit=10)):
        plan = generic_plan(page_statement(where, where.limit))
        assert "Seq Scan" not in plan and "hashed SubPlan" not in plan and "Gather" not in plan, plan
        assert f" rows={where.limit + 1} " in plan.splitlines()[0], plan  # planned for one page, not a tenth
