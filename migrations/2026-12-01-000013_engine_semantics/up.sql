-- Default transitions: an edge taken only when no conditional edge out of its node matched.
ALTER TABLE workflow_edges ADD COLUMN is_default boolean NOT NULL DEFAULT false;
-- At most one per node; validation reports it by field first, this keeps the table honest.
CREATE UNIQUE INDEX workflow_edges_one_default ON workflow_edges (workflow_id, source_key) WHERE is_default;

-- Chained automations: a workflow's own lead change can start other workflows. Each execution
-- records its place in the chain so a loop (A starts B starts A) or a runaway chain stops.
-- chain_depth: 1 for an execution started by anything but a workflow's change, else the parent's + 1.
-- chain_workflow_ids: the workflows of the executions before this one in its chain.
ALTER TABLE workflow_executions
    ADD COLUMN chain_depth integer NOT NULL DEFAULT 1 CHECK (chain_depth >= 1),
    ADD COLUMN chain_workflow_ids uuid[] NOT NULL DEFAULT '{}';
