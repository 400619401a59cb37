-- Password resets and address verification (issue 12): single-use emailed links, stored as the
-- SHA-256 of their token, and the reset requests that rate-limit them per address and per IP.

CREATE TABLE account_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('PASSWORD_RESET', 'EMAIL_VERIFICATION')),
    token_hash bytea NOT NULL,
    -- The address the link went to: verifying proves this one.
    email      text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_tokens_token_hash_key ON account_tokens (token_hash);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

-- Every requestPasswordReset, whether or not the address has an account.
CREATE TABLE password_reset_requests (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL,
    ip         text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_email_idx ON password_reset_requests (email, created_at);
CREATE INDEX password_reset_requests_ip_idx ON password_reset_requests (ip, created_at);
