-- Per-project retention (the meaning of migrations/sqlite/0005): traces whose last activity
-- is older than this many days are deleted by the retention job. NULL keeps everything.
ALTER TABLE projects ADD COLUMN retention_days INTEGER;
