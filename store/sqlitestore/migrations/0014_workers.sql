-- Workers (docs/workers.md): processes of the users' own applications that
-- execute the runs of the tasks they serve. A worker task is claimed by
-- workers only; scheduler nodes leave its jobs and runs out of their
-- claims, even while no worker serves it.
CREATE TABLE sundial_worker_tasks (
	task TEXT PRIMARY KEY,
	declared_at BIGINT NOT NULL,
	served_at BIGINT
);
-- A worker session is a node of kind 'worker', whose incarnation is the
-- session; it says which tasks it serves and how many runs it takes at
-- once. busy is the number of runs a node held at its last heartbeat.
ALTER TABLE sundial_nodes ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE sundial_nodes ADD COLUMN tasks TEXT;
ALTER TABLE sundial_nodes ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sundial_nodes ADD COLUMN busy INTEGER NOT NULL DEFAULT 0;
-- A worker claims the due jobs and runs of its tasks.
CREATE INDEX sundial_jobs_task_due ON sundial_jobs (task, next_run_at) WHERE paused = 0 AND next_run_at IS NOT NULL;
-- A token of the worker role may be held to some queues (JSON list).
ALTER TABLE sundial_tokens ADD COLUMN queues TEXT;
