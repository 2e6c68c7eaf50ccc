-- Jobs: one row per job, its trigger and options as JSON. next_run_at is
-- microseconds since the Unix epoch (UTC), NULL when the job will not fire.
CREATE TABLE sundial_jobs (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    task          TEXT NOT NULL,
    args          TEXT,
    trigger_spec  TEXT NOT NULL,
    tags          TEXT,
    options       TEXT NOT NULL,
    paused        SMALLINT NOT NULL DEFAULT 0,
    pause_reason  TEXT,
    next_run_at   BIGINT,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX sundial_jobs_due ON sundial_jobs (next_run_at) WHERE paused = 0 AND next_run_at IS NOT NULL;

-- Runs: one row per fire and attempt. The unique key makes a second record
-- of the same fire impossible; manual_key is '' for scheduled fires and the
-- run's ID for manual ones.
CREATE TABLE sundial_runs (
    id            TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL,
    task          TEXT NOT NULL,
    scheduled_at  BIGINT NOT NULL,
    not_before    BIGINT,
    started_at    BIGINT,
    ended_at      BIGINT,
    status        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    manual_key    TEXT NOT NULL DEFAULT '',
    args          TEXT,
    result        TEXT,
    error         TEXT,
    UNIQUE (job_id, scheduled_at, attempt, manual_key)
);
CREATE INDEX sundial_runs_waiting ON sundial_runs (not_before) WHERE status = 'scheduled';
CREATE INDEX sundial_runs_job_status ON sundial_runs (job_id, status);
CREATE INDEX sundial_runs_scheduled ON sundial_runs (scheduled_at);
