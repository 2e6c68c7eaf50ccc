-- Backfill: runs recorded for past fires on request carry the backfill's
-- ID, so that its progress can be listed and the rest of it canceled.
ALTER TABLE sundial_runs ADD COLUMN backfill_id TEXT;
CREATE INDEX sundial_runs_backfill ON sundial_runs (backfill_id) WHERE backfill_id IS NOT NULL;
