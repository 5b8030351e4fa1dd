-- Indexes for the read API (the meaning of migrations/sqlite/0003): every list sorts and
-- pages by (value, key), so each sort has an index ending in its tie-break key (text
-- columns are COLLATE "C", see 0001).

DROP INDEX sessions_by_activity;
CREATE INDEX sessions_by_last_activity ON sessions (project_id, last_ns, session_id);
CREATE INDEX sessions_by_first_activity ON sessions (project_id, first_ns, session_id);
CREATE INDEX sessions_by_cost ON sessions (project_id, total_cost, session_id);
CREATE INDEX sessions_by_tokens ON sessions (project_id, total_tokens, session_id);
CREATE INDEX sessions_by_duration ON sessions (project_id, (last_ns - first_ns), session_id);
CREATE INDEX sessions_by_trace_count ON sessions (project_id, trace_count, session_id);
CREATE INDEX sessions_by_errors ON sessions (project_id, error_count, session_id);

DROP INDEX traces_by_session;
DROP INDEX traces_by_start;
CREATE INDEX traces_by_start ON traces (project_id, start_ns, trace_id);
CREATE INDEX traces_by_session ON traces (project_id, session_id, start_ns, trace_id);
CREATE INDEX traces_by_user ON traces (project_id, user_id, start_ns, trace_id);
CREATE INDEX traces_by_name ON traces (project_id, name, start_ns, trace_id);

CREATE INDEX observations_by_id ON observations (project_id, id);
CREATE INDEX observations_by_start ON observations (project_id, start_ns, seq);
