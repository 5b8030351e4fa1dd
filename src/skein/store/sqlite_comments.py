"""SQLite statements for the web UI's annotations: comments and session bookmarks.

Plain functions on a connection; `SQLiteStore` calls them under its writer lock (writes) or
with a pooled reader (reads).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from skein.store.base import Comment

COMMENT_COLUMNS = "id, object_type, object_id, body, author, created_ns"
INSERT_COMMENT = (
    f"INSERT INTO comments (project_id, {COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_COMMENTS = (
    f"SELECT {COMMENT_COLUMNS} FROM comments"
    " WHERE project_id = ? AND object_type = ? AND object_id = ? ORDER BY created_ns, id"
)
DELETE_COMMENT = "DELETE FROM comments WHERE project_id = ? AND id = ?"
INSERT_BOOKMARK = (
    "INSERT INTO session_bookmarks (project_id, session_id, created_ns) VALUES (?, ?, ?)"
    " ON CONFLICT (project_id, session_id) DO NOTHING"
)
DELETE_BOOKMARK = "DELETE FROM session_bookmarks WHERE project_id = ? AND session_id = ?"
SELECT_BOOKMARKS = (
    "SELECT session_id FROM session_bookmarks WHERE project_id = ?"
    " ORDER BY created_ns DESC, session_id LIMIT ?"
)
SELECT_BOOKMARKED = (
    "SELECT session_id FROM session_bookmarks WHERE project_id = ?"
    " AND session_id IN (SELECT value FROM json_each(?))"
)


def add_comment(connection: sqlite3.Connection, project_id: str, comment: Comment) -> None:
    connection.execute(
        INSERT_COMMENT,
        (
            project_id,
            comment.id,
            comment.object_type,
            comment.object_id,
            comment.body,
            comment.author,
            comment.created_ns,
        ),
    )


def list_comments(
    connection: sqlite3.Connection, project_id: str, object_type: str, object_id: str
) -> list[Comment]:
    rows = connection.execute(SELECT_COMMENTS, (project_id, object_type, object_id))
    return [Comment(*row) for row in rows]


def delete_comment(connection: sqlite3.Connection, project_id: str, comment_id: str) -> bool:
    return connection.execute(DELETE_COMMENT, (project_id, comment_id)).rowcount > 0


def set_bookmark(
    connection: sqlite3.Connection, project_id: str, session_id: str, on: bool, now_ns: int
) -> None:
    if on:
        connection.execute(INSERT_BOOKMARK, (project_id, session_id, now_ns))
    else:
        connection.execute(DELETE_BOOKMARK, (project_id, session_id))


def list_bookmarks(connection: sqlite3.Connection, project_id: str, limit: int) -> list[str]:
    return [row[0] for row in connection.execute(SELECT_BOOKMARKS, (project_id, limit))]


def bookmarked(
    connection: sqlite3.Connection, project_id: str, session_ids: Sequence[str], ids_json: str
) -> set[str]:
    if not session_ids:
        return set()
    return {row[0] for row in connection.execute(SELECT_BOOKMARKED, (project_id, ids_json))}
