-- Administration: the accounts that may use `/api/v1/admin/*` (HTTP Basic
-- Auth, bcrypt cost 12) and the audit trail of every admin action.

-- Usernames are stored lower-cased (the service normalises them), so the
-- plain UNIQUE constraint is a case-insensitive one.
CREATE TABLE admin_accounts (
    id                  uuid        PRIMARY KEY,
    username            text        NOT NULL,
    password_hash       text        NOT NULL,
    enabled             boolean     NOT NULL DEFAULT true,
    -- Bumped on every password change; cached credentials carry the version
    -- they were verified against and are ignored once it moves on.
    password_version    bigint      NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_accounts_username_key UNIQUE (username),
    CONSTRAINT admin_accounts_username_format CHECK (username ~ '^[a-z0-9._-]{3,64}$'),
    CONSTRAINT admin_accounts_password_version_positive CHECK (password_version > 0)
);

-- Who did what to which target, and when. `actor` and `target` are names,
-- not foreign keys: the trail outlives deleted accounts.
CREATE TABLE admin_audit_log (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    target     text        NOT NULL,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX admin_audit_log_newest_first ON admin_audit_log (created_at DESC, id DESC);
