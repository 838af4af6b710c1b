-- Security hardening (issue 14). Operator notes: docs/auth.md.
--
-- Device sessions end (OWASP ASVS 3.3): an idle timeout and an absolute
-- lifetime (BACKEND_SESSION_IDLE_TIMEOUT, BACKEND_SESSION_MAX_LIFETIME).
-- `last_seen_at` is the last gateway lookup, kept in memory and written
-- back by the auth pruning step (so at most one pruning interval stale);
-- a session past either bound is revoked with reason `expired`.

ALTER TABLE device_sessions
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- Existing sessions were last seen no earlier than they were created.
UPDATE device_sessions SET last_seen_at = created_at;

ALTER TABLE device_sessions DROP CONSTRAINT device_sessions_revoke_reason_check;
ALTER TABLE device_sessions ADD CONSTRAINT device_sessions_revoke_reason_check CHECK (
    revoke_reason IN ('user_revoked', 'admin_revoked', 'login_ban', 'user_deleted', 'expired'));

-- The expiry sweep reads active sessions by age and by last use.
CREATE INDEX device_sessions_active_created_idx ON device_sessions (created_at) WHERE revoked_at IS NULL;
CREATE INDEX device_sessions_active_seen_idx ON device_sessions (last_seen_at) WHERE revoked_at IS NULL;

-- Nobody locks someone else out (ASVS 2.2.1): the source address (the
-- gateway-supplied client, or the trusted-proxy chain) of every challenge
-- and of every failed confirmation. Beyond an address's hourly cap of
-- failures, only a source that has not failed for it in the window may
-- still try; new challenges per source are bounded.
ALTER TABLE auth_challenges ADD COLUMN source text;
CREATE INDEX auth_challenges_source_created_idx ON auth_challenges (source, created_at)
    WHERE source IS NOT NULL;
ALTER TABLE auth_failed_confirmations ADD COLUMN source text;
CREATE INDEX auth_failed_confirmations_email_source_idx
    ON auth_failed_confirmations (email, source, failed_at);

-- A database read does not give away accounts: `code_hash` is now
-- HMAC-SHA256 under a server key (BACKEND_AUTH_CODE_SECRET) over the
-- challenge id and the code, and the login mail's body is redacted once it
-- was sent or its challenge is no longer open (`mail_redacted_at`).
ALTER TABLE auth_challenges ADD COLUMN mail_redacted_at timestamptz;
CREATE INDEX auth_challenges_unredacted_idx ON auth_challenges (created_at)
    WHERE mail_redacted_at IS NULL AND mail_delivery_id IS NOT NULL;
