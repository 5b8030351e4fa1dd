"""Session repair and portability: assignments that override the folded session, the audit
log that makes every edit undoable, backfill, ingest rules, archives, imports, datasets and
`skein doctor` (docs/sessions.md)."""
