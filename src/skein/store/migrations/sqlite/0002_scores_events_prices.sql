-- Langfuse batch ingestion (event patches), scores, project model prices, and where an
-- observation's cost came from.

-- "sdk", "price:<id>" or "project-price:<id>"; NULL when the observation has no cost.
ALTER TABLE observations ADD COLUMN cost_source TEXT;

-- A session's score aggregates (skein.fold.aggregate_scores) as a JSON object by score name.
ALTER TABLE sessions ADD COLUMN scores TEXT NOT NULL DEFAULT '{}';

-- Every event of POST /api/public/ingestion that creates or updates an observation or a trace,
-- kept as a patch: the values it set (JSON). An observation or trace is rebuilt by merging all
-- its patches (skein.patches), so the result does not depend on arrival order; a re-sent
-- event (same target and event id) is ignored. `trace_id` is the trace the event named, if
-- any (a trace patch's own id), so deleting a trace can find its patches. A rowid table:
-- bodies carry input and output text.
CREATE TABLE event_patches (
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    trace_id TEXT,
    timestamp_ns INTEGER NOT NULL,
    is_update INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (project_id, kind, target_id, event_id)
);

CREATE INDEX event_patches_by_trace ON event_patches (project_id, trace_id);

-- Scores on a trace, an observation (with its trace) or a session. A re-sent id replaces the
-- row; created_ns keeps the first write.
CREATE TABLE scores (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    data_type TEXT NOT NULL,
    value REAL,
    string_value TEXT,
    timestamp_ns INTEGER NOT NULL,
    trace_id TEXT,
    observation_id TEXT,
    session_id TEXT,
    source TEXT NOT NULL,
    comment TEXT,
    config_id TEXT,
    environment TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX scores_by_trace ON scores (project_id, trace_id, timestamp_ns);
CREATE INDEX scores_by_session ON scores (project_id, session_id, timestamp_ns);
CREATE INDEX scores_by_time ON scores (project_id, timestamp_ns);

-- A project's own model prices, matched before Skein's price table. `prices` is a JSON
-- object: usage key ("input", "output", "input_cached_tokens", ...) to USD per unit.
CREATE TABLE model_prices (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    match_pattern TEXT NOT NULL,
    prices TEXT NOT NULL,
    unit TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
