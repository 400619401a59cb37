DROP INDEX emails_account_due_idx;
DELETE FROM emails WHERE workspace_id IS NULL;
ALTER TABLE emails DROP COLUMN next_attempt_at, DROP COLUMN secret, DROP COLUMN html_content, DROP COLUMN kind;
ALTER TABLE emails ALTER COLUMN workspace_id SET NOT NULL;
DROP TABLE invitations;
ALTER TABLE users DROP COLUMN email_verified_at;
