-- Leads known only by their phone can't go back to a table that requires an address, and
-- dropping people or rewiring forms is not a schema change's call: refuse while any exist.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM leads WHERE email IS NULL) THEN
        RAISE EXCEPTION 'leads without an email address exist; give them one or delete them before reverting phone intake';
    END IF;
    IF EXISTS (SELECT 1 FROM form_fields WHERE identifies_lead AND type <> 'EMAIL') THEN
        RAISE EXCEPTION 'forms identify leads by phone; identify them by an EMAIL field before reverting phone intake';
    END IF;
END $$;

DROP INDEX leads_workspace_phone_live;
ALTER TABLE leads DROP CONSTRAINT leads_email_or_phone;
ALTER TABLE leads ALTER COLUMN email SET NOT NULL;
ALTER TABLE form_fields DROP CONSTRAINT form_fields_identity_type;
ALTER TABLE form_fields ADD CONSTRAINT form_fields_check CHECK (NOT identifies_lead OR type = 'EMAIL');
