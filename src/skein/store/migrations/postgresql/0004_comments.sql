-- The web UI's annotations: comments on sessions and traces, and bookmarked sessions
-- (the meaning of migrations/sqlite/0004).

CREATE TABLE comments (
    project_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,
    object_id TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    author TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX comments_by_object ON comments (project_id, object_type, object_id, created_ns);

CREATE TABLE session_bookmarks (
    project_id TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (project_id, session_id)
);
