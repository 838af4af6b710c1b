-- Push events through PostgreSQL (docs/decisions/0010-push-through-postgres.md).
-- Every instance writes the events it publishes here and reads everybody's
-- back in cursor order, so a gateway subscribed to any instance receives
-- every event, and resumes from any instance (and across restarts).
--
-- `push_head.last` is the last cursor issued. A writer takes the next
-- cursors by updating that one row inside the transaction that inserts its
-- events: the row lock serialises the writers until commit, so commit order
-- equals cursor order (a reader never sees cursor N + 1 before N), and a
-- rolled-back batch gives its cursors back (no gaps).
--
-- Cursors continue above every cursor of the former per-process scheme
-- (`epoch << 40 | counter`, sequence `push_epochs`, migration 0007): a
-- gateway's pre-upgrade cursor resumes with `reset` / `aged_out`.
CREATE TABLE push_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    last bigint  NOT NULL CHECK (last >= 0)
);

INSERT INTO push_head (last)
SELECT CASE WHEN is_called THEN (last_value + 1) << 40 ELSE 0 END
FROM push_epochs;

DROP SEQUENCE push_epochs;

-- The published events: what is needed to rebuild the frame (the encoded
-- `PushEvent.kind` oneof; the cursor field is appended when read), kept
-- for `BACKEND_FRESHNESS_WINDOW` and at most `BACKEND_PUSH_BUFFER_CAPACITY`
-- events (pruned by every instance's `push-prune` loop).
CREATE TABLE push_events (
    cursor       bigint      PRIMARY KEY,
    kind         text        NOT NULL,
    body         bytea       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
