-- Chains: a run started by another job's run carries that run (id, job,
-- fire time, status, result) as JSON; its manual_key is "after:" and the
-- upstream run's id, so that each is recorded once per upstream run.
ALTER TABLE sundial_runs ADD COLUMN upstream TEXT;
