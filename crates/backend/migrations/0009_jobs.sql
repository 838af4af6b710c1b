-- The durable job queue (`src/jobs/`, docs/decisions/0008-job-queue.md).
--
-- Every queue follows one row convention, whichever table holds it: a
-- `state` in ('pending', 'retrying', …), a `next_attempt_at` that orders the
-- pick-up, and a lease (`lease_token`, `lease_until`) stamped at claim and
-- renewed while the work runs. `jobs` is the shared table of typed jobs
-- (kind + JSON payload) for domains without a table of their own; the mail
-- outbox and the notification routes keep theirs (0003, 0008).

CREATE TABLE jobs (
    job_id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    -- At most one unfinished job per (kind, dedup_key); a finished job is
    -- deleted, so the key may be enqueued again afterwards.
    dedup_key        text,
    payload          jsonb       NOT NULL,
    state            text        NOT NULL DEFAULT 'pending'
        CONSTRAINT jobs_state_check CHECK (state IN ('pending', 'retrying', 'dead_lettered')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL CHECK (max_attempts > 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The pick-up: due, unfinished jobs in `next_attempt_at` order.
CREATE INDEX jobs_due_idx ON jobs (next_attempt_at) WHERE state IN ('pending', 'retrying');
CREATE UNIQUE INDEX jobs_kind_dedup_key ON jobs (kind, dedup_key)
    WHERE dedup_key IS NOT NULL AND state IN ('pending', 'retrying');
CREATE INDEX jobs_dead_idx ON jobs (updated_at DESC, job_id) WHERE state = 'dead_lettered';

-- Notification routes move from a transaction-held row lock to the queue's
-- renewed lease (the same columns as mail_deliveries).
ALTER TABLE notification_routes
    ADD COLUMN lease_token uuid,
    ADD COLUMN lease_until timestamptz;
