-- Documents (issue 16): templates with the SEND_EMAIL variables, documents rendered from them
-- once and frozen with a SHA-256 of their content, and the client's signature.

CREATE TABLE document_templates (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_templates_workspace_idx ON document_templates (workspace_id, created_at);
CREATE TRIGGER document_templates_touch BEFORE UPDATE ON document_templates
    FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- DRAFT → SENT → VIEWED → SIGNED, or DECLINED, or VOID (by a member, before signing).
-- `content_sha256` is the lowercase hex SHA-256 of `content_html`'s UTF-8 bytes; the CHECK makes
-- a row whose hash does not match its content impossible.
CREATE TABLE documents (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    lead_id            uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    template_id        uuid REFERENCES document_templates (id) ON DELETE SET NULL,
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    content_html       text NOT NULL,
    content_sha256     text NOT NULL
                       CHECK (content_sha256 = encode(sha256(convert_to(content_html, 'UTF8')), 'hex')),
    status             text NOT NULL DEFAULT 'DRAFT'
                       CHECK (status IN ('DRAFT', 'SENT', 'VIEWED', 'SIGNED', 'DECLINED', 'VOID')),
    sent_at            timestamptz,
    viewed_at          timestamptz,
    signed_at          timestamptz,
    declined_at        timestamptz,
    decline_reason     text CHECK (length(decline_reason) <= 1000),
    voided_at          timestamptz,
    -- A workflow's SEND_DOCUMENT step: one document per (execution, node), whatever retries.
    idempotency_key    text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'SIGNED') = (signed_at IS NOT NULL)),
    CHECK ((status = 'VOID') = (voided_at IS NOT NULL)),
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX documents_workspace_idx ON documents (workspace_id, created_at, id);
CREATE INDEX documents_lead_idx ON documents (lead_id, created_at);
CREATE INDEX documents_template_idx ON documents (template_id) WHERE template_id IS NOT NULL;

-- The client's signature: what they typed, when, from where, and the hash of the content they
-- were shown (equal to the document's: signing checks it).
CREATE TABLE document_signatures (
    document_id    uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    signer_name    text NOT NULL CHECK (length(signer_name) BETWEEN 1 AND 200),
    signed_at      timestamptz NOT NULL DEFAULT now(),
    ip             text CHECK (length(ip) <= 64),
    user_agent     text CHECK (length(user_agent) <= 512),
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$')
);

-- What the API never does, the database refuses too, so a bug can't do it either: a document's
-- content and hash never change, and a SIGNED document's row never changes at all (the one
-- exception: deleting its template unlinks it, which says nothing about what was signed).
CREATE FUNCTION intakeflow_documents_frozen() RETURNS trigger AS $$
DECLARE
    probe documents%ROWTYPE;
BEGIN
    IF NEW.content_html IS DISTINCT FROM OLD.content_html OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256 THEN
        RAISE EXCEPTION 'document %: its content never changes', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status = 'SIGNED' THEN
        probe := NEW;
        IF NEW.template_id IS NULL THEN
            probe.template_id := OLD.template_id;
        END IF;
        IF probe IS DISTINCT FROM OLD THEN
            RAISE EXCEPTION 'document %: a signed document never changes', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER documents_frozen BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION intakeflow_documents_frozen();

CREATE FUNCTION intakeflow_signatures_frozen() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a document signature never changes' USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER document_signatures_frozen BEFORE UPDATE ON document_signatures
    FOR EACH ROW EXECUTE FUNCTION intakeflow_signatures_frozen();

ALTER TABLE lead_events DROP CONSTRAINT lead_events_type_check;
ALTER TABLE lead_events ADD CONSTRAINT lead_events_type_check CHECK (type IN (
    'LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED', 'ASSIGNED', 'UPDATED',
    'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT', 'WORKFLOW_STARTED', 'WORKFLOW_FINISHED', 'STAGE_CHANGED',
    'BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED',
    'PAYMENT_REQUESTED', 'PAYMENT_RECEIVED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PAYMENT_CANCELLED',
    'DOCUMENT_CREATED', 'DOCUMENT_SENT', 'DOCUMENT_VIEWED', 'DOCUMENT_SIGNED', 'DOCUMENT_DECLINED', 'DOCUMENT_VOIDED'));
