-- Fencing: a run is held by one incarnation (process start) of a node;
-- every write about an executing run names it, and is refused once the
-- run is no longer held. claimed_at is when a node claimed the run, apart
-- from started_at, when its task actually started.
ALTER TABLE sundial_runs ADD COLUMN incarnation TEXT;
ALTER TABLE sundial_runs ADD COLUMN claimed_at BIGINT;
ALTER TABLE sundial_runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
UPDATE sundial_runs SET claimed_at = started_at WHERE started_at IS NOT NULL;
-- One index serves both the heartbeat (node and incarnation) and a
-- restarted node's look for its previous incarnation's runs (node).
CREATE INDEX sundial_runs_holders ON sundial_runs (node_id, incarnation) WHERE status IN ('pending', 'running');

ALTER TABLE sundial_nodes ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';

-- The cluster's own state: one row. paused_at is set while the scheduler
-- is paused cluster-wide.
CREATE TABLE sundial_cluster (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    paused_at   BIGINT
);
INSERT INTO sundial_cluster (id, paused_at) VALUES (1, NULL);
