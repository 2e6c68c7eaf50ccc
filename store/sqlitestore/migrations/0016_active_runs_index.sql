-- A job's runs not yet ended, which a claim counts (overlap), and a
-- promotion and a broadcast fire look up: a partial index of those, small
-- whatever the history, in place of (job_id, status) over every run ever
-- recorded, which each run's insert and each change of its status wrote
-- to (as PostgreSQL's 0015). SQLite uses a partial index only for a query
-- that states its condition term for term: the queries say
-- status IN ('scheduled', 'queued', 'pending', 'running'). The status is
-- in the key so that a promotion's look for the first queued run (by job
-- and status, in fire order) searches this index rather than scanning
-- the job's listing index, every run it ever had.
CREATE INDEX sundial_runs_job_open ON sundial_runs (job_id, status) WHERE status IN ('scheduled', 'queued', 'pending', 'running');
DROP INDEX sundial_runs_job_status;
