-- Identity: accounts, email-code login challenges and device sessions
-- (spec §2, §6). Operator notes: docs/auth.md.

-- One row per user. `email` is stored normalised (trimmed, lower-cased);
-- it is unique among live accounts only, so a soft-deleted account keeps
-- its address for audit without blocking anything. `user_name` is unique
-- case-insensitively; new accounts get a synthesised placeholder.
-- `declared_country` is set once, at registration, from the source IP.
CREATE TABLE accounts (
    user_id           uuid        PRIMARY KEY,
    email             text        NOT NULL,
    user_name         text        NOT NULL,
    declared_country  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    CONSTRAINT accounts_email_normalised CHECK (email = lower(btrim(email)) AND email <> ''),
    CONSTRAINT accounts_declared_country_format CHECK (declared_country ~ '^[A-Z]{2}$')
);

CREATE UNIQUE INDEX accounts_user_name_key ON accounts (lower(user_name));
CREATE UNIQUE INDEX accounts_live_email_key ON accounts (email) WHERE deleted_at IS NULL;
-- Lookups of any account (live or deleted) by address.
CREATE INDEX accounts_email_idx ON accounts (email);

-- A login challenge: a 6-digit code mailed to `email`. Only
-- `code_hash` = HMAC-SHA256(key = challenge id bytes, message = code) is
-- stored. A challenge ends consumed (confirmed once), burned (too many
-- wrong codes) or expired (`expires_at` passed).
CREATE TABLE auth_challenges (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    code_hash     bytea       NOT NULL CHECK (octet_length(code_hash) = 32),
    mail_delivery_id uuid,
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    burned_at     timestamptz,
    CONSTRAINT auth_challenges_one_end CHECK (consumed_at IS NULL OR burned_at IS NULL)
);

-- Throttle/reuse: the open challenges of an address, newest first.
CREATE INDEX auth_challenges_email_created_idx ON auth_challenges (email, created_at DESC);

-- Every failed confirmation (wrong code), per address, for the rolling
-- hourly cap across all of an address's challenges (OWASP ASVS 2.2.1).
CREATE TABLE auth_failed_confirmations (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL,
    challenge_id  uuid        NOT NULL REFERENCES auth_challenges (id) ON DELETE CASCADE,
    failed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX auth_failed_confirmations_email_at_idx ON auth_failed_confirmations (email, failed_at);

-- A device bound to an Ed25519 public key. Active while `revoked_at` is
-- NULL; revocation is durable and never undone.
CREATE TABLE device_sessions (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES accounts (user_id),
    public_key     bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    device_name    text        NOT NULL,
    platform       text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoke_reason  text,
    CONSTRAINT device_sessions_revocation CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL)),
    CONSTRAINT device_sessions_revoke_reason_check CHECK (
        revoke_reason IN ('user_revoked', 'admin_revoked', 'login_ban', 'user_deleted'))
);

CREATE INDEX device_sessions_user_idx ON device_sessions (user_id, created_at DESC);
-- Warm-up reads every active session.
CREATE INDEX device_sessions_active_idx ON device_sessions (id) WHERE revoked_at IS NULL;
