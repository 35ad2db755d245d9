"""users_by_external_id finds users whatever their external ids hold: on PostgreSQL the names go over as one
text[] literal (models.upsert.text_array), which must quote and escape every character PostgreSQL's array
syntax gives a meaning to."""

from __future__ import annotations

from models import db
from models.queries import driver_cursor
from models.upsert import text_array, users_by_external_id
from tests.conftest import create_user

ODD = [
    "plain",
    "",
    " spaced ",
    "NULL",
    "null",
    'say "hi"',
    "back\\slash",
    "\\",
    '"',
    '\\"',
    "comma,separated",
    "{braces}",
    "}",
    "tab\tand\nnewline",
    "Zoë 学生 😀",
    "'single'",
    "x" * 128,
]


def test_odd_external_ids_are_found(app):
    ids = {name: create_user(name, "learner" if n % 2 else "educator").id for n, name in enumerate(ODD)}
    found = users_by_external_id([*ODD, "nobody", 'nobody"'])
    assert {name: pk for name, (pk, _) in found.items()} == ids
    assert {name: role for name, (_, role) in found.items()} == {
        name: "learner" if n % 2 else "educator" for n, name in enumerate(ODD)
    }


def test_the_text_array_literal_reads_back_as_the_strings(app):
    literal = text_array(ODD)
    assert literal.startswith('{"') and literal.endswith('"}')
    if db.engine.dialect.name != "postgresql":
        return  # SQLite takes the ORM's IN lists: no array literal there
    cursor = driver_cursor()
    cursor.execute("SELECT unnest(%s::text[])", (literal,))
    assert [value for (value,) in cursor.fetchall()] == ODD
