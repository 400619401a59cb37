DROP INDEX emails_lead_idx;
DROP INDEX emails_open_token_key;
DROP INDEX emails_message_id_key;
ALTER TABLE emails DROP COLUMN open_token_hash, DROP COLUMN opened_at, DROP COLUMN failed_at,
    DROP COLUMN bounced_at, DROP COLUMN delivered_at, DROP COLUMN template_id, DROP COLUMN message_id;
DROP INDEX emails_account_due_idx;
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
UPDATE emails SET status = 'PENDING' WHERE status = 'QUEUED';
UPDATE emails SET status = 'SENT' WHERE status IN ('LOGGED', 'DELIVERED');
UPDATE emails SET status = 'FAILED' WHERE status = 'BOUNCED';
ALTER TABLE emails ALTER COLUMN status SET DEFAULT 'PENDING';
ALTER TABLE emails ADD CONSTRAINT emails_status_check CHECK (status IN ('PENDING', 'SENT', 'FAILED'));
CREATE INDEX emails_account_due_idx ON emails (next_attempt_at) WHERE kind = 'ACCOUNT' AND status = 'PENDING';
DROP TABLE email_templates;
