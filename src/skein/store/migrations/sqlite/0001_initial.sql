-- Skein's first SQLite schema. Times are integer nanoseconds since the Unix epoch; dict and
-- tuple fields are JSON text. Applied by skein.store.migrations in one transaction.

-- Small rows keyed by text: WITHOUT ROWID stores each row once, in its primary-key b-tree,
-- instead of a rowid table plus an automatic index on the key.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    public_key TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    secret_hash TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    revoked_ns INTEGER,
    note TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX api_keys_by_project ON api_keys (project_id, created_ns);

-- One row per span. A rowid table, not WITHOUT ROWID: rows carry kilobytes of text, and a
-- WITHOUT ROWID b-tree would copy whole rows into its interior pages.
-- Column order matters: the columns the trace fold reads come first, so loading them for a
-- write stays on each row's first page; the large text sits last, in overflow pages.
-- No foreign key to projects: ingestion has authenticated the project, and this is the hot path.
CREATE TABLE observations (
    project_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id TEXT,
    is_root INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    level TEXT NOT NULL,
    environment TEXT NOT NULL,
    release TEXT,
    version TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    total_cost REAL,
    trace_session_id TEXT,
    trace_session_source TEXT,
    trace_user_id TEXT,
    trace_user_source TEXT,
    trace_name TEXT,
    trace_tags TEXT NOT NULL,
    trace_public INTEGER,
    trace_metadata TEXT NOT NULL,
    status_message TEXT,
    model TEXT,
    prompt_name TEXT,
    prompt_version INTEGER,
    completion_start_ns INTEGER,
    usage TEXT NOT NULL,
    cost TEXT NOT NULL,
    model_parameters TEXT,
    metadata TEXT NOT NULL,
    trace_input TEXT,
    trace_output TEXT,
    input TEXT,
    output TEXT,
    PRIMARY KEY (project_id, trace_id, id)
);

-- One row per trace: fold_trace over its observations. A rowid table because the merged
-- metadata can make rows large.
CREATE TABLE traces (
    project_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    name TEXT,
    session_id TEXT,
    session_source TEXT,
    user_id TEXT,
    user_source TEXT,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    public INTEGER NOT NULL,
    environment TEXT NOT NULL,
    release TEXT,
    version TEXT,
    root_id TEXT,
    input_id TEXT,
    output_id TEXT,
    observation_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    orphan_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    total_cost REAL NOT NULL,
    PRIMARY KEY (project_id, trace_id)
);

CREATE INDEX traces_by_session ON traces (project_id, session_id, start_ns);
CREATE INDEX traces_by_start ON traces (project_id, start_ns);

-- One row per session: fold_session over its traces. Rows are small counters and short
-- JSON lists, so WITHOUT ROWID saves the separate primary-key index.
CREATE TABLE sessions (
    project_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    trace_count INTEGER NOT NULL,
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    observation_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    total_cost REAL NOT NULL,
    user_ids TEXT NOT NULL,
    tags TEXT NOT NULL,
    environments TEXT NOT NULL,
    sources TEXT NOT NULL,
    PRIMARY KEY (project_id, session_id)
) WITHOUT ROWID;

CREATE INDEX sessions_by_activity ON sessions (project_id, last_ns DESC);

-- INTEGER PRIMARY KEY already hands out increasing ids; AUTOINCREMENT would only add a
-- sqlite_sequence lookup per insert to guard against reuse after deleting the newest row.
CREATE TABLE ingestion_warnings (
    id INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    span_id TEXT,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);

CREATE INDEX ingestion_warnings_by_trace ON ingestion_warnings (project_id, trace_id);
