-- Tokens may end: expires_at (microseconds), NULL for never.
ALTER TABLE sundial_tokens ADD COLUMN expires_at INTEGER;

-- The web UI's sessions: the cookie carries a random secret of its own,
-- never an API token; only its SHA-256 is kept. A session ends at
-- expires_at, after an idle timeout since last_seen_at, at logout
-- (revoked_at), or when the token that opened it is revoked.
CREATE TABLE sundial_sessions (
    id            TEXT PRIMARY KEY,
    hash          BLOB NOT NULL UNIQUE,
    token_id      TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX sundial_sessions_token ON sundial_sessions (token_id);
