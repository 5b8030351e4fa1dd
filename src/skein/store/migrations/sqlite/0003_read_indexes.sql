-- Indexes for the read API: every list sorts and pages by a key (keyset pagination: "rows
-- after (value, id)"), so the first page of any sort, and every next page, reads only the
-- rows it returns. Sorts descend by scanning these indexes backwards.

-- Sessions (WITHOUT ROWID): an index carries the primary key (project_id, session_id), so
-- each of these ends in session_id, the tie-break of every session sort.
DROP INDEX sessions_by_activity;
CREATE INDEX sessions_by_last_activity ON sessions (project_id, last_ns);
CREATE INDEX sessions_by_first_activity ON sessions (project_id, first_ns);
CREATE INDEX sessions_by_cost ON sessions (project_id, total_cost);
CREATE INDEX sessions_by_tokens ON sessions (project_id, total_tokens);
CREATE INDEX sessions_by_duration ON sessions (project_id, (last_ns - first_ns));
CREATE INDEX sessions_by_trace_count ON sessions (project_id, trace_count);
CREATE INDEX sessions_by_errors ON sessions (project_id, error_count);

-- Traces (a rowid table): trace_id is spelled out as the tie-break. These replace the two
-- indexes of 0001, which are their prefixes.
DROP INDEX traces_by_session;
DROP INDEX traces_by_start;
CREATE INDEX traces_by_start ON traces (project_id, start_ns, trace_id);
CREATE INDEX traces_by_session ON traces (project_id, session_id, start_ns, trace_id);
CREATE INDEX traces_by_user ON traces (project_id, user_id, start_ns, trace_id);
CREATE INDEX traces_by_name ON traces (project_id, name, start_ns, trace_id);

-- Observations: by id alone (GET /observations/{id} names no trace), and by start time for
-- lists that name no trace or session. The rowid, implicit in both, breaks ties.
CREATE INDEX observations_by_id ON observations (project_id, id);
CREATE INDEX observations_by_start ON observations (project_id, start_ns);
