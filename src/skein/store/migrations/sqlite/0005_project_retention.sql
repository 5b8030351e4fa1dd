-- Per-project retention: traces whose last activity is older than this many days are deleted
-- by the retention job (skein.retention). NULL keeps everything.
ALTER TABLE projects ADD COLUMN retention_days INTEGER;

-- The retention job looks for a project's traces that ended before a cutoff; every trace ends
-- at or after it starts, so traces_by_start (project_id, start_ns) narrows the search and the
-- end time is checked on the rows it finds.
