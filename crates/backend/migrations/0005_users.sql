-- Users (spec §2, §6): settings, entitlements and sanctions of the
-- `accounts` rows owned by auth. Operator notes: docs/users.md.

-- A user's own settings; no row means the defaults (`en`, `UTC`). The
-- service validates both values (BCP-47 tag, IANA zone) before writing.
CREATE TABLE user_settings (
    user_id     uuid        PRIMARY KEY REFERENCES accounts (user_id),
    locale      text        NOT NULL,
    time_zone   text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_settings_locale_length CHECK (char_length(locale) BETWEEN 2 AND 35),
    CONSTRAINT user_settings_time_zone_length CHECK (char_length(time_zone) BETWEEN 1 AND 64)
);

-- The entitlement choice: a tier and optional admin overrides of its
-- limits (NULL = the tier's default). No row means tier `free`, no override.
CREATE TABLE user_entitlements (
    user_id                   uuid        PRIMARY KEY REFERENCES accounts (user_id),
    tier                      text        NOT NULL DEFAULT 'free',
    max_concurrent_games      integer,
    max_registered_race_names integer,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    updated_by                text        NOT NULL,
    CONSTRAINT user_entitlements_tier_check CHECK (tier IN ('free', 'premium')),
    CONSTRAINT user_entitlements_limits_range CHECK (
        (max_concurrent_games IS NULL OR max_concurrent_games BETWEEN 0 AND 10000)
        AND (max_registered_race_names IS NULL OR max_registered_race_names BETWEEN 0 AND 10000))
);

-- Sanctions applied by admins. Active while not lifted and `expires_at`
-- (NULL = no expiry) is in the future: expiry needs no action. Rows are
-- never deleted (audit).
CREATE TABLE user_sanctions (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES accounts (user_id),
    kind        text        NOT NULL,
    reason      text        NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    lifted_at   timestamptz,
    lifted_by   text,
    CONSTRAINT user_sanctions_kind_check CHECK (kind IN ('login_ban', 'game_join_ban')),
    CONSTRAINT user_sanctions_reason_length CHECK (char_length(reason) BETWEEN 1 AND 500),
    CONSTRAINT user_sanctions_lift CHECK ((lifted_at IS NULL) = (lifted_by IS NULL))
);

CREATE INDEX user_sanctions_user_idx ON user_sanctions (user_id, created_at DESC);
-- Warm-up reads every sanction not lifted.
CREATE INDEX user_sanctions_open_idx ON user_sanctions (user_id) WHERE lifted_at IS NULL;
