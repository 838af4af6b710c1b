-- The durable mail outbox (spec §9). Producers insert a delivery, its
-- payload and its recipients inside their own transaction; the mail worker
-- claims due rows with `FOR UPDATE SKIP LOCKED`, sends them over SMTP and
-- records every attempt. Operator notes: docs/mail.md.

-- Rendered message content, written once at enqueue. The Message-ID and Date
-- headers are added at send time (the Message-ID derives from the delivery).
CREATE TABLE mail_payloads (
    payload_id  uuid        PRIMARY KEY,
    subject     text        NOT NULL,
    text_body   text        NOT NULL,
    html_body   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One logical delivery. `attempt_count` is the number of attempts over the
-- whole history (the last `mail_attempts.attempt_no`); `cycle_attempts`
-- counts the attempts since enqueue or the last resend and is what
-- BACKEND_MAIL_MAX_ATTEMPTS bounds. A claimed row keeps its state and carries
-- a lease: `lease_token` names the claim and `next_attempt_at` equals the
-- lease expiry, so a row whose worker died becomes due again on its own.
CREATE TABLE mail_deliveries (
    delivery_id      uuid        PRIMARY KEY,
    template_id      text        NOT NULL,
    idempotency_key  text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending'
        CONSTRAINT mail_deliveries_state_check
        CHECK (state IN ('pending', 'retrying', 'sent', 'dead_lettered')),
    payload_id       uuid        NOT NULL
        REFERENCES mail_payloads (payload_id),
    attempt_count    integer     NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    cycle_attempts   integer     NOT NULL DEFAULT 0 CHECK (cycle_attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CONSTRAINT mail_deliveries_template_idempotency_key UNIQUE (template_id, idempotency_key)
);

-- The worker's pick-up: due, unfinished rows in `next_attempt_at` order.
CREATE INDEX mail_deliveries_due_idx ON mail_deliveries (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
-- The admin listing (newest first, optionally by state).
CREATE INDEX mail_deliveries_state_created_idx ON mail_deliveries (state, created_at DESC, delivery_id);
CREATE INDEX mail_deliveries_created_idx ON mail_deliveries (created_at DESC, delivery_id);

CREATE TABLE mail_recipients (
    delivery_id  uuid     NOT NULL REFERENCES mail_deliveries (delivery_id) ON DELETE CASCADE,
    position     smallint NOT NULL,
    address      text     NOT NULL,
    PRIMARY KEY (delivery_id, position)
);

-- Append-only: one row per SMTP attempt, `attempt_no` 1, 2, … over the whole
-- history of a delivery (a resend continues the sequence).
CREATE TABLE mail_attempts (
    delivery_id  uuid        NOT NULL REFERENCES mail_deliveries (delivery_id) ON DELETE CASCADE,
    attempt_no   integer     NOT NULL CHECK (attempt_no > 0),
    outcome      text        NOT NULL
        CHECK (outcome IN ('sent', 'transient_failure', 'permanent_failure')),
    smtp_code    smallint,
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    PRIMARY KEY (delivery_id, attempt_no)
);

-- The current terminal failure of a dead-lettered delivery, with the payload
-- it failed with. Removed when an operator resends the delivery; the attempt
-- log keeps the history.
CREATE TABLE mail_dead_letters (
    delivery_id       uuid        PRIMARY KEY REFERENCES mail_deliveries (delivery_id) ON DELETE CASCADE,
    payload_id        uuid        NOT NULL REFERENCES mail_payloads (payload_id),
    reason            text        NOT NULL CHECK (reason IN ('permanent_failure', 'max_attempts')),
    last_error        text,
    attempt_count     integer     NOT NULL,
    dead_lettered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_dead_letters_at_idx ON mail_dead_letters (dead_lettered_at DESC, delivery_id);
