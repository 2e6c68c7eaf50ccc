-- A job's runs not yet ended, which a claim counts (overlap), and a
-- promotion and a broadcast fire look up: a partial index of those, small
-- whatever the history, in place of (job_id, status) over every run ever
-- recorded, which each run's insert and each of its writes added to (a
-- write changes the status, so no update of a run is HOT).
CREATE INDEX sundial_runs_job_open ON sundial_runs (job_id) WHERE status IN ('scheduled', 'queued', 'pending', 'running');
DROP INDEX sundial_runs_job_status;
