-- How a run's child process ended: {"code": N, "signal": "…"}.
ALTER TABLE sundial_runs ADD COLUMN exit_status TEXT;

-- Uploaded scripts: every version kept.
CREATE TABLE sundial_scripts (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    lang        TEXT NOT NULL,
    source      TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, version)
);

-- Secrets, sealed with the server's key (AES-256-GCM) before they get here.
CREATE TABLE sundial_secrets (
    name        TEXT PRIMARY KEY,
    sealed      BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
