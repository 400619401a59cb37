-- Phone-only intake: a form may identify its lead by a PHONE field (the number in E.164), so a
-- lead may have no email address. It must have one or the other.
ALTER TABLE leads ALTER COLUMN email DROP NOT NULL;

-- The identifying field may be a PHONE field. The core migration's unnamed CHECK allowed EMAIL
-- only (PostgreSQL named it form_fields_check); it is replaced by a named one.
ALTER TABLE form_fields DROP CONSTRAINT form_fields_check;
ALTER TABLE form_fields ADD CONSTRAINT form_fields_identity_type
    CHECK (NOT identifies_lead OR type IN ('EMAIL', 'PHONE'));

-- A phone now identifies a lead, so one live lead per number, like one per address. Until now a
-- phone was only a contact detail and two live leads could share one (a household, a
-- switchboard): it stays on the earliest and is cleared from the others, as a submission now
-- leaves a number another lead holds off its lead. Their submissions and field values keep it.
UPDATE leads l SET phone = NULL
  FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id, phone ORDER BY created_at, id) AS n
          FROM leads WHERE deleted_at IS NULL AND phone IS NOT NULL) dup
 WHERE l.id = dup.id AND dup.n > 1;

ALTER TABLE leads ADD CONSTRAINT leads_email_or_phone CHECK (email IS NOT NULL OR phone IS NOT NULL);
-- Mirrors leads_workspace_email_live; a soft-deleted lead frees the number.
CREATE UNIQUE INDEX leads_workspace_phone_live ON leads (workspace_id, phone)
    WHERE deleted_at IS NULL AND phone IS NOT NULL;
