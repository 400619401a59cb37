DROP TABLE routing_rules;
ALTER TABLE form_submissions DROP COLUMN source;
