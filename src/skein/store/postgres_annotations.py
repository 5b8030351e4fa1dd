"""PostgreSQL: a project's model prices, and the web UI's comments and bookmarks (the
statements of `sqlite_prices` and `sqlite_comments` in PostgreSQL's dialect)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from skein.prices import ModelPrice
from skein.store.base import Comment
from skein.store.sqlite_comments import COMMENT_COLUMNS
from skein.store.sqlite_prices import PRICE_COLUMNS, _price_from_row

Connection = psycopg.Connection[TupleRow]

SELECT_PRICES = (
    f"SELECT {PRICE_COLUMNS} FROM model_prices WHERE project_id = %s"
    " ORDER BY created_ns DESC, id DESC"
)
UPSERT_PRICE = (
    f"INSERT INTO model_prices (project_id, {PRICE_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (project_id, id) DO UPDATE SET model_name = EXCLUDED.model_name,"
    " match_pattern = EXCLUDED.match_pattern, prices = EXCLUDED.prices,"
    " unit = EXCLUDED.unit, created_ns = EXCLUDED.created_ns"
)
DELETE_PRICE = "DELETE FROM model_prices WHERE project_id = %s AND id = %s"
INSERT_COMMENT = (
    f"INSERT INTO comments (project_id, {COMMENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
SELECT_COMMENTS = (
    f"SELECT {COMMENT_COLUMNS} FROM comments"
    " WHERE project_id = %s AND object_type = %s AND object_id = %s ORDER BY created_ns, id"
)
DELETE_COMMENT = "DELETE FROM comments WHERE project_id = %s AND id = %s"
INSERT_BOOKMARK = (
    "INSERT INTO session_bookmarks (project_id, session_id, created_ns) VALUES (%s, %s, %s)"
    " ON CONFLICT (project_id, session_id) DO NOTHING"
)
DELETE_BOOKMARK = "DELETE FROM session_bookmarks WHERE project_id = %s AND session_id = %s"
SELECT_BOOKMARKS = (
    "SELECT session_id FROM session_bookmarks WHERE project_id = %s"
    " ORDER BY created_ns DESC, session_id LIMIT %s"
)
SELECT_BOOKMARKED = (
    "SELECT session_id FROM session_bookmarks WHERE project_id = %s AND session_id = ANY(%s)"
)


def list_prices(connection: Connection, project_id: str) -> list[ModelPrice]:
    rows = connection.execute(SELECT_PRICES, (project_id,)).fetchall()
    return [_price_from_row(project_id, row) for row in rows]


def put_price(connection: Connection, price: ModelPrice) -> None:
    if price.project_id is None:
        raise ValueError("only project prices are stored")
    prices = json.dumps(dict(price.prices), separators=(",", ":"))
    row = (price.project_id, price.id, price.model_name, price.match_pattern, prices,
           price.unit, price.created_ns)  # fmt: skip
    connection.execute(UPSERT_PRICE, row)


def delete_price(connection: Connection, project_id: str, price_id: str) -> bool:
    return connection.execute(DELETE_PRICE, (project_id, price_id)).rowcount > 0


def add_comment(connection: Connection, project_id: str, comment: Comment) -> None:
    connection.execute(
        INSERT_COMMENT,
        (project_id, comment.id, comment.object_type, comment.object_id, comment.body,
         comment.author, comment.created_ns),
    )  # fmt: skip


def list_comments(
    connection: Connection, project_id: str, object_type: str, object_id: str
) -> list[Comment]:
    rows = connection.execute(SELECT_COMMENTS, (project_id, object_type, object_id))
    return [Comment(*row) for row in rows]


def delete_comment(connection: Connection, project_id: str, comment_id: str) -> bool:
    return connection.execute(DELETE_COMMENT, (project_id, comment_id)).rowcount > 0


def set_bookmark(
    connection: Connection, project_id: str, session_id: str, on: bool, now_ns: int
) -> None:
    if on:
        connection.execute(INSERT_BOOKMARK, (project_id, session_id, now_ns))
    else:
        connection.execute(DELETE_BOOKMARK, (project_id, session_id))


def list_bookmarks(connection: Connection, project_id: str, limit: int) -> list[str]:
    return [row[0] for row in connection.execute(SELECT_BOOKMARKS, (project_id, limit))]


def bookmarked(connection: Connection, project_id: str, session_ids: Sequence[str]) -> set[str]:
    if not session_ids:
        return set()
    rows = connection.execute(SELECT_BOOKMARKED, (project_id, list(session_ids)))
    return {row[0] for row in rows}
