-- The notification pipeline (spec §10, runbook "Notification pipeline").
-- Producers submit an intent inside their own transaction; it fans out into
-- one route per channel; the notification worker delivers due routes with
-- `FOR UPDATE SKIP LOCKED`. Nothing here is ever deleted: a route ends
-- `sent`, `skipped` (with its reason) or `dead_lettered`. Operator notes:
-- docs/notifications.md. The kind lists below equal the catalog in
-- src/notification/catalog.rs (a test compares them).

CREATE TABLE notification_intents (
    intent_id        uuid        PRIMARY KEY,
    kind             text        NOT NULL
        CONSTRAINT notification_intents_kind_check CHECK (kind IN (
            'lobby.invite.received', 'lobby.invite.revoked',
            'lobby.application.submitted', 'lobby.application.approved', 'lobby.application.rejected',
            'lobby.membership.removed', 'lobby.membership.blocked',
            'lobby.race_name.registered', 'lobby.race_name.pending', 'lobby.race_name.expired',
            'runtime.image_pull_failed', 'runtime.container_start_failed', 'runtime.start_config_invalid',
            'game.turn.ready', 'game.paused')),
    idempotency_key  text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 256),
    -- NULL for admin-channel kinds. No FK: accounts live in the identity schema
    -- and a soft delete keeps the row anyway.
    user_id          uuid,
    payload          jsonb       NOT NULL,
    -- The producer's trace id, re-emitted in push frames (may be empty).
    trace_id         text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_intents_kind_idempotency_key UNIQUE (kind, idempotency_key)
);

CREATE INDEX notification_intents_created_idx ON notification_intents (created_at DESC, intent_id);
CREATE INDEX notification_intents_user_idx ON notification_intents (user_id, created_at DESC);

-- One delivery path of an intent. `attempts` counts delivery attempts;
-- BACKEND_NOTIFICATION_MAX_ATTEMPTS bounds it. Dead letters are the rows in
-- `dead_lettered` (with `dead_lettered_at`).
CREATE TABLE notification_routes (
    route_id          uuid        PRIMARY KEY,
    intent_id         uuid        NOT NULL REFERENCES notification_intents (intent_id),
    channel           text        NOT NULL
        CONSTRAINT notification_routes_channel_check CHECK (channel IN ('push', 'email', 'admin_email')),
    user_id           uuid,
    status            text        NOT NULL DEFAULT 'pending'
        CONSTRAINT notification_routes_status_check
        CHECK (status IN ('pending', 'retrying', 'sent', 'skipped', 'dead_lettered')),
    skip_reason       text
        CONSTRAINT notification_routes_skip_reason_check
        CHECK (skip_reason IN ('admin_email_unset', 'user_preference', 'user_deleted', 'no_email_address')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    -- The outbox delivery of an email route (its idempotency key is route_id).
    mail_delivery_id  uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    dead_lettered_at  timestamptz,
    CONSTRAINT notification_routes_intent_channel UNIQUE (intent_id, channel),
    CONSTRAINT notification_routes_skip_reason_iff_skipped
        CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);

-- The worker's pick-up: due, unfinished routes in `next_attempt_at` order.
CREATE INDEX notification_routes_due_idx ON notification_routes (next_attempt_at)
    WHERE status IN ('pending', 'retrying');
-- OnUserDeleted: a user's unfinished routes.
CREATE INDEX notification_routes_user_open_idx ON notification_routes (user_id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX notification_routes_dead_idx ON notification_routes (dead_lettered_at DESC, route_id)
    WHERE status = 'dead_lettered';

-- Per-user email opt-outs (beyond the spec). No row: email on.
CREATE TABLE notification_preferences (
    user_id        uuid        NOT NULL,
    kind           text        NOT NULL
        CONSTRAINT notification_preferences_kind_check CHECK (kind IN (
            'lobby.invite.received', 'lobby.application.approved', 'lobby.application.rejected',
            'lobby.membership.removed', 'lobby.membership.blocked', 'lobby.race_name.pending')),
    email_enabled  boolean     NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);
