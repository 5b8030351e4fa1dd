-- What an audited session edit moved from a retired session id to its new one (session-level
-- scores, session comments, the bookmark), as JSON (skein.repair.model.moves_json), so undo
-- moves exactly those rows back.
ALTER TABLE session_audit ADD COLUMN moved TEXT COLLATE "C" NOT NULL DEFAULT '[]';
