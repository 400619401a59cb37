-- How many times an execution's worker lost it (the lease lapsed: the process died or hung).
-- `attempts` counts every claim, including the legitimate ones after a DELAY or an approval, so
-- it can't tell a poison pill from a long workflow; this counter can. The reaper marks an
-- execution FAILED once it reaches the configured maximum instead of requeueing it forever.
ALTER TABLE workflow_executions ADD COLUMN lease_losses integer NOT NULL DEFAULT 0;
