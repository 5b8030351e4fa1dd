-- The web UI's annotations: comments on sessions and traces, and bookmarked sessions.

-- A comment on a session or a trace (`object_type` "session" or "trace"), newest last.
-- `author` says who wrote it: "admin", the public key used to log in, or "local" (no login).
CREATE TABLE comments (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX comments_by_object ON comments (project_id, object_type, object_id, created_ns);

-- A session someone starred in the sessions list; kept when the session's traces go.
CREATE TABLE session_bookmarks (
    project_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, session_id)
) WITHOUT ROWID;
