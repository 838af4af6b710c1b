-- The instances that publish push events (docs/decisions/0010). An
-- instance registers at startup under its connections' application_name
-- and deregisters after a clean stop, once everything it queued is
-- written. A registered instance with no connection left died without
-- writing what it had queued: whoever notices (an instance starting, or
-- any instance's prune step) removes it and skips one cursor, a gap that
-- makes every resume from before it answer `reset` / `lost`, so those
-- events are never skipped silently.
CREATE TABLE push_writers (
    application_name text        PRIMARY KEY,
    started_at       timestamptz NOT NULL DEFAULT now()
);
