"""Statements whose best plan depends on their values run unprepared, planned for their values every time.

psycopg prepares a statement once it has run 5 times on a connection, and PostgreSQL may then plan it once for
any values (a generic plan, after 5 custom ones, if it looks no dearer). For a page filtered by a caller's time
range the best plan depends on how many of the learner's rows the range holds (the newest rows read backwards by
id until the page is full, or the range read by time and sorted): once generic, a 10,000-event learner's page of
the last two days read 314 buffers in 2.4 ms instead of 12 in 0.5 ms (bench/RESULTS.md, restprep). Such
statements carry UNPREPARED, and run as every REST read ran before its transaction could end with a COMMIT
(api/read_commit.py): parsed and planned anew.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

_OPTION = "learnpulse_unprepared"
UNPREPARED: dict[str, Any] = {_OPTION: True}  # execution options: statement.execution_options(**UNPREPARED)


def run_unprepared_when_marked(engine: sa.Engine) -> None:
    """Have `engine` run statements carrying UNPREPARED with psycopg's `prepare=False` (once per engine)."""
    if not sa.event.contains(engine, "do_execute", _execute_unprepared):
        sa.event.listen(engine, "do_execute", _execute_unprepared)


def _execute_unprepared(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
    """Run a marked statement unprepared (True: executed here); leave the others to the dialect (None)."""
    if not context.execution_options.get(_OPTION):
        return None
    cursor.execute(statement, parameters, prepare=False)
    return True


def planned_limit(count: int) -> sa.ColumnElement[int]:
    """A LIMIT written into the SQL text, not bound: bound, a generic plan guesses a tenth of the rows. The
    roster read every user in sort order (4,126 buffers for a section of 200 among 1,204 users, against 36);
    a page of a rare xAPI verb went parallel and was JIT-compiled (62 ms among 200k statements, against 1.1)."""
    return sa.literal_column(str(int(count)), sa.Integer)
