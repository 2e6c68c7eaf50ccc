-- Broadcast: a fire of a broadcast job is one run per live node, a shard
-- (its index, of how many). A shard's manual_key ends in "/shard:" and its
-- index, so that no shard of a fire is recorded twice.
ALTER TABLE sundial_runs ADD COLUMN shard_index INTEGER;
ALTER TABLE sundial_runs ADD COLUMN shard_total INTEGER;
-- A scheduled or queued shard waits for one node (node_id), which alone
-- claims it and whose heartbeats extend its pick-up deadline (lease_until);
-- past the deadline it is lost. Such runs are few: the index serves the
-- heartbeat and the claim (by node) and the reaper (a short scan).
CREATE INDEX sundial_runs_targeted ON sundial_runs (node_id, not_before) WHERE status IN ('scheduled', 'queued') AND node_id IS NOT NULL;
-- A node in standby (or shutting down) takes no new work: broadcast
-- fires leave it out.
ALTER TABLE sundial_nodes ADD COLUMN standby INTEGER NOT NULL DEFAULT 0;
