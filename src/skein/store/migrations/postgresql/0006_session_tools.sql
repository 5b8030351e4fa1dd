-- Session repair (the meaning of migrations/sqlite/0006): assignments that override a trace's
-- folded session, the audit log of every change to them, and each project's session rules.

-- A trace's session when set by an edit, a backfill or an inference rule; `session_id` NULL
-- means "explicitly in no session". The store applies it after folding the trace's spans.
CREATE TABLE session_assignments (
    project_id TEXT COLLATE "C" NOT NULL,
    trace_id TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C",
    source TEXT COLLATE "C" NOT NULL,
    audit_id TEXT COLLATE "C",
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (project_id, trace_id)
);

CREATE INDEX session_assignments_by_session ON session_assignments (project_id, session_id);

-- One change of assignments: who, when, what (operation and parameters as JSON) and every
-- affected trace's previous state (JSON), so undo restores it exactly.
CREATE TABLE session_audit (
    project_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    operation TEXT COLLATE "C" NOT NULL,
    parameters TEXT COLLATE "C" NOT NULL,
    sessions TEXT COLLATE "C" NOT NULL,
    previous TEXT COLLATE "C" NOT NULL,
    undone_by TEXT COLLATE "C",
    PRIMARY KEY (project_id, id)
);

CREATE INDEX session_audit_by_time ON session_audit (project_id, created_ns);

-- The sessions each audit entry touched, for a session's audit log.
CREATE TABLE session_audit_sessions (
    project_id TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    audit_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, session_id, audit_id)
);

-- A project's session rules, as a JSON array of objects.
CREATE TABLE session_rules (
    project_id TEXT COLLATE "C" PRIMARY KEY,
    rules TEXT COLLATE "C" NOT NULL,
    updated_ns BIGINT NOT NULL
);
