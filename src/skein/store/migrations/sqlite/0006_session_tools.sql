-- Session repair (docs/sessions.md): assignments that override a trace's folded session, the
-- audit log of every change to them, and each project's session rules.

-- A trace's session when set by an edit, a backfill or an inference rule; `session_id` NULL
-- means "explicitly in no session". The store applies it after folding the trace's spans.
CREATE TABLE session_assignments (
    project_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    session_id TEXT,
    source TEXT NOT NULL,
    audit_id TEXT,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, trace_id)
) WITHOUT ROWID;

CREATE INDEX session_assignments_by_session ON session_assignments (project_id, session_id);

-- One change of assignments: who, when, what (operation and parameters as JSON) and every
-- affected trace's previous state (JSON), so undo restores it exactly.
CREATE TABLE session_audit (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    actor TEXT NOT NULL,
    operation TEXT NOT NULL,
    parameters TEXT NOT NULL,
    sessions TEXT NOT NULL,
    previous TEXT NOT NULL,
    undone_by TEXT,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX session_audit_by_time ON session_audit (project_id, created_ns);

-- The sessions each audit entry touched, for a session's audit log.
CREATE TABLE session_audit_sessions (
    project_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    audit_id TEXT NOT NULL,
    PRIMARY KEY (project_id, session_id, audit_id)
) WITHOUT ROWID;

-- A project's session rules, as a JSON array of objects.
CREATE TABLE session_rules (
    project_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    updated_ns INTEGER NOT NULL
) WITHOUT ROWID;
