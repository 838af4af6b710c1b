-- The game runtime (spec §3 `runtime/`, runbook "Runtime control plane"):
-- one record per game that has (had) an engine, and the operation log,
-- which is also the durable queue of the long runtime jobs. Operator
-- notes: docs/runtime.md.

CREATE TABLE runtime_records (
    game_id          uuid        PRIMARY KEY REFERENCES games (game_id),
    engine_version   text        NOT NULL,
    image_ref        text        NOT NULL,
    -- `docker` or `process`: the driver that runs (ran) the engine.
    driver           text        NOT NULL CHECK (driver IN ('docker', 'process')),
    container_id     text,
    container_name   text        NOT NULL,
    -- The engine's base URL while it runs.
    base_url         text,
    status           text        NOT NULL
        CONSTRAINT runtime_records_status_check CHECK (status IN (
            'starting', 'running', 'generation_in_progress', 'generation_failed',
            'engine_unreachable', 'stopped', 'removed', 'start_failed', 'finished')),
    -- The seed the engine was initialised with (chosen once, so a retried
    -- start initialises the same game).
    seed             bigint      NOT NULL,
    -- Set once the engine accepted `POST /admin/init`.
    initialised_at   timestamptz,
    current_turn     integer     NOT NULL DEFAULT 0 CHECK (current_turn >= 0),
    last_health_at   timestamptz,
    last_health_ok   boolean,
    last_error       text,
    -- One-shot: the scheduler runs the next turn at once and clears it.
    force_next_turn  boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX runtime_records_status_idx ON runtime_records (status);

-- Every start, stop, restart, patch, banish, force-next-turn and reconcile
-- action. Long operations are rows here before they run: they follow the
-- queue row convention (`src/jobs/`: state pending/retrying, a due time, a
-- renewed lease), so a backend killed mid-job finds them again; finished
-- rows stay as the log (`succeeded`, `failed`, `skipped`).
CREATE TABLE runtime_operations (
    op_id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    game_id          uuid        NOT NULL REFERENCES games (game_id),
    op               text        NOT NULL
        CONSTRAINT runtime_operations_op_check CHECK (op IN (
            'start', 'stop', 'restart', 'patch', 'banish', 'force_next_turn',
            'adopt', 'mark_removed', 'mark_unreachable', 'mark_running')),
    -- What the operation needs (`engine_version` of a patch, the race of a
    -- banish, the lobby request it completes, …).
    params           jsonb       NOT NULL DEFAULT '{}',
    -- Who asked: `admin:<name>`, `lobby` or `reconciler`.
    requested_by     text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending'
        CONSTRAINT runtime_operations_state_check CHECK (state IN (
            'pending', 'retrying', 'succeeded', 'failed', 'skipped')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL DEFAULT 1 CHECK (max_attempts > 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_until      timestamptz,
    -- What happened, in a few words (`started turn 0`, `already stopped`).
    outcome          text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The pick-up: due, unfinished operations.
CREATE INDEX runtime_operations_due_idx ON runtime_operations (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
-- One game's operations run one at a time, oldest first.
CREATE INDEX runtime_operations_game_open_idx ON runtime_operations (game_id, op_id)
    WHERE state IN ('pending', 'retrying');
-- An operation log read by game, newest first.
CREATE INDEX runtime_operations_game_idx ON runtime_operations (game_id, op_id DESC);
-- A lobby request (`game_runtime_requests`) becomes one operation, once.
CREATE UNIQUE INDEX runtime_operations_request_idx ON runtime_operations ((params->>'request_id'))
    WHERE params ? 'request_id';
