-- Langfuse batch ingestion (event patches), scores, project model prices, and where an
-- observation's cost came from (the meaning of migrations/sqlite/0002).

ALTER TABLE observations ADD COLUMN cost_source TEXT COLLATE "C";

ALTER TABLE sessions ADD COLUMN scores TEXT COLLATE "C" NOT NULL DEFAULT '{}';

CREATE TABLE event_patches (
    project_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    trace_id TEXT COLLATE "C",
    timestamp_ns BIGINT NOT NULL,
    is_update BOOLEAN NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, kind, target_id, event_id)
);

CREATE INDEX event_patches_by_trace ON event_patches (project_id, trace_id);

CREATE TABLE scores (
    project_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data_type TEXT COLLATE "C" NOT NULL,
    value DOUBLE PRECISION,
    string_value TEXT COLLATE "C",
    timestamp_ns BIGINT NOT NULL,
    trace_id TEXT COLLATE "C",
    observation_id TEXT COLLATE "C",
    session_id TEXT COLLATE "C",
    source TEXT COLLATE "C" NOT NULL,
    comment TEXT COLLATE "C",
    config_id TEXT COLLATE "C",
    environment TEXT COLLATE "C" NOT NULL,
    metadata TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    updated_ns BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX scores_by_trace ON scores (project_id, trace_id, timestamp_ns);
CREATE INDEX scores_by_session ON scores (project_id, session_id, timestamp_ns);
CREATE INDEX scores_by_time ON scores (project_id, timestamp_ns);

CREATE TABLE model_prices (
    project_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    model_name TEXT COLLATE "C" NOT NULL,
    match_pattern TEXT COLLATE "C" NOT NULL,
    prices TEXT COLLATE "C" NOT NULL,
    unit TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);
