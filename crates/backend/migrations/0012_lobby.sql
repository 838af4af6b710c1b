-- The lobby (spec §3 `lobby/`): games, applications, invites, memberships,
-- the Race Name Directory and the requests the lobby leaves for the game
-- runtime. Operator notes: docs/lobby.md. Uniqueness that players race for
-- (the last slot is a row lock; a race name, a pending application, a
-- pending invite) is a UNIQUE index, never a check-then-insert; the domain
-- maps the constraint names below to 409 codes.

CREATE TABLE games (
    game_id              uuid        PRIMARY KEY,
    name                 text        NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    description          text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    visibility           text        NOT NULL CHECK (visibility IN ('public', 'private')),
    -- Private games are owned by a user, public games by an admin.
    owner_user_id        uuid,
    owner_admin          text,
    engine_version       text        NOT NULL,
    min_races            integer     NOT NULL,
    max_races            integer     NOT NULL,
    -- galaxy_model::api::GameSettings, validated by the domain.
    settings             jsonb       NOT NULL,
    -- {"every":"24h"} or {"cron":"…","time_zone":"…"} (lobby::TurnSchedule).
    turn_schedule        jsonb       NOT NULL,
    enrollment_deadline  timestamptz NOT NULL,
    auto_start           boolean     NOT NULL,
    auto_approve         boolean     NOT NULL,
    accepts_applications boolean     NOT NULL,
    status               text        NOT NULL
        CONSTRAINT games_status_check CHECK (status IN ('draft', 'enrollment_open',
            'enrollment_closed', 'starting', 'running', 'paused', 'finished', 'cancelled')),
    -- Why the game is in its status (a cancel reason, the runtime status that paused it).
    status_reason        text,
    current_turn         integer     NOT NULL DEFAULT 0 CHECK (current_turn >= 0),
    runtime_status       text,
    -- When the current turn began (the schedule counts from here).
    turn_started_at      timestamptz,
    -- Bumped by every change to the game or its memberships: the cache keeps
    -- the highest version it has seen, so write-through stays in commit order.
    version              bigint      NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz,
    CONSTRAINT games_owner_check CHECK (
        (visibility = 'private' AND owner_user_id IS NOT NULL AND owner_admin IS NULL)
        OR (visibility = 'public' AND owner_user_id IS NULL AND owner_admin IS NOT NULL)),
    CONSTRAINT games_races_check CHECK (2 <= min_races AND min_races <= max_races AND max_races <= 30)
);

-- The sweeper's pick-up: games whose enrollment deadline has passed.
CREATE INDEX games_enrollment_due_idx ON games (enrollment_deadline)
    WHERE status = 'enrollment_open';
CREATE INDEX games_public_idx ON games (status, created_at DESC) WHERE visibility = 'public';
CREATE INDEX games_owner_idx ON games (owner_user_id) WHERE owner_user_id IS NOT NULL;

CREATE TABLE memberships (
    game_id    uuid        NOT NULL REFERENCES games (game_id),
    user_id    uuid        NOT NULL,
    race_name  text        NOT NULL,
    -- lobby::RaceKey of race_name: unique among a game's active races.
    race_key   text        NOT NULL,
    status     text        NOT NULL
        CONSTRAINT memberships_status_check CHECK (status IN ('active', 'left', 'removed', 'blocked')),
    reason     text,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    PRIMARY KEY (game_id, user_id)
);

CREATE UNIQUE INDEX memberships_active_race_key ON memberships (game_id, race_key)
    WHERE status = 'active';
CREATE INDEX memberships_user_idx ON memberships (user_id) WHERE status = 'active';

CREATE TABLE applications (
    application_id  uuid        PRIMARY KEY,
    game_id         uuid        NOT NULL REFERENCES games (game_id),
    user_id         uuid        NOT NULL,
    race_name       text        NOT NULL,
    race_key        text        NOT NULL,
    status          text        NOT NULL
        CONSTRAINT applications_status_check CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz
);

-- One open application per user and game.
CREATE UNIQUE INDEX applications_pending_key ON applications (game_id, user_id)
    WHERE status = 'pending';
CREATE INDEX applications_game_idx ON applications (game_id, created_at DESC);
CREATE INDEX applications_user_idx ON applications (user_id, created_at DESC);

CREATE TABLE invites (
    invite_id        uuid        PRIMARY KEY,
    game_id          uuid        NOT NULL REFERENCES games (game_id),
    inviter_user_id  uuid        NOT NULL,
    invitee_user_id  uuid        NOT NULL,
    status           text        NOT NULL
        CONSTRAINT invites_status_check CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz
);

-- One open invite per invitee and game.
CREATE UNIQUE INDEX invites_pending_key ON invites (game_id, invitee_user_id)
    WHERE status = 'pending';
CREATE INDEX invites_game_idx ON invites (game_id, created_at DESC);
CREATE INDEX invites_invitee_idx ON invites (invitee_user_id, created_at DESC);
-- The sweeper's pick-up.
CREATE INDEX invites_expiry_idx ON invites (expires_at) WHERE status = 'pending';

-- The Race Name Directory: one row per canonical key, platform-wide.
CREATE TABLE race_names (
    race_key       text        PRIMARY KEY,
    race_name      text        NOT NULL,
    user_id        uuid        NOT NULL,
    state          text        NOT NULL
        CONSTRAINT race_names_state_check CHECK (state IN ('registered', 'pending_registration')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    registered_at  timestamptz,
    -- pending_registration only: when the reservation lapses.
    expires_at     timestamptz,
    CONSTRAINT race_names_expiry_check CHECK ((state = 'pending_registration') = (expires_at IS NOT NULL))
);

CREATE INDEX race_names_user_idx ON race_names (user_id);
CREATE INDEX race_names_expiry_idx ON race_names (expires_at) WHERE state = 'pending_registration';

-- What the lobby asks of the game runtime: start a game, stop it, banish a
-- race. Rows, not messages, so nothing is lost across a crash; the runtime
-- completes them idempotently (sets completed_at).
CREATE TABLE game_runtime_requests (
    request_id    uuid        PRIMARY KEY,
    game_id       uuid        NOT NULL REFERENCES games (game_id),
    kind          text        NOT NULL
        CONSTRAINT game_runtime_requests_kind_check CHECK (kind IN ('start', 'stop', 'banish')),
    -- banish: the member and the race name the engine knows.
    user_id       uuid,
    race_name     text,
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    CONSTRAINT game_runtime_requests_banish_check CHECK ((kind = 'banish') = (race_name IS NOT NULL))
);

-- At most one open request of a kind per game (and per race for banish).
CREATE UNIQUE INDEX game_runtime_requests_open_key
    ON game_runtime_requests (game_id, kind, coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE completed_at IS NULL;

-- An admin's inspection of a game reads its audit trail by target.
CREATE INDEX admin_audit_log_target_idx ON admin_audit_log (target, created_at DESC, id DESC);
