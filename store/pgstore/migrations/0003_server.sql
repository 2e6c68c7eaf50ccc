-- Jobs say who manages them: '' (a program using the library), 'api' or
-- 'config' (the server reconciles its config file's jobs on start).
ALTER TABLE sundial_jobs ADD COLUMN source TEXT NOT NULL DEFAULT '';

-- Runs keep the tail of their output.
ALTER TABLE sundial_runs ADD COLUMN output TEXT;

-- Run listings, newest first, read a page from an index in their own
-- order (scheduled_at DESC, attempt DESC, id) instead of sorting every row.
DROP INDEX sundial_runs_scheduled;
CREATE INDEX sundial_runs_listing ON sundial_runs (scheduled_at DESC, attempt DESC, id);
CREATE INDEX sundial_runs_job_listing ON sundial_runs (job_id, scheduled_at DESC, attempt DESC, id);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE sundial_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    hash          BYTEA NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

-- The audit log: every change made through the server.
CREATE TABLE sundial_audit (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT
);
CREATE INDEX sundial_audit_target ON sundial_audit (target, id);
