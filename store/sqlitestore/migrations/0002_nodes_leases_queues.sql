-- Queues pin jobs to the nodes that serve them; runs carry the queue so
-- that retries stay in it.
ALTER TABLE sundial_jobs ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE sundial_runs ADD COLUMN queue TEXT NOT NULL DEFAULT '';

-- Leases: the node that claimed a run renews lease_until while it lives;
-- a run whose lease has passed belongs to a dead node and is marked lost.
ALTER TABLE sundial_runs ADD COLUMN node_id TEXT;
ALTER TABLE sundial_runs ADD COLUMN lease_until INTEGER;
CREATE INDEX sundial_runs_leases ON sundial_runs (lease_until) WHERE status IN ('pending', 'running');

-- Nodes: every scheduler process, and when it was last seen.
CREATE TABLE sundial_nodes (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    version     TEXT NOT NULL,
    queues      TEXT,
    started_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
