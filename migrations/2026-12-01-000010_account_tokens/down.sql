DROP TABLE password_reset_requests;
DROP TABLE account_tokens;
