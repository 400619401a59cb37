-- Nodes and edges keep the order the client saved them in: the canvas order, the order problems
-- are reported in (`edges.<i>`), and the order parallel branches run in.
ALTER TABLE workflow_nodes ADD COLUMN ordinal integer NOT NULL DEFAULT 0;
ALTER TABLE workflow_edges ADD COLUMN ordinal integer NOT NULL DEFAULT 0;
