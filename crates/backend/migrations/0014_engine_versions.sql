-- The engine version registry (spec §3 `runtime/`): which image runs a
-- game's semver engine label. The lobby accepts only enabled labels at game
-- creation; at most one label is the default. Operator notes: docs/runtime.md.

CREATE TABLE engine_versions (
    label      text        PRIMARY KEY CHECK (length(label) BETWEEN 5 AND 64),
    image_ref  text        NOT NULL CHECK (length(image_ref) BETWEEN 1 AND 512),
    enabled    boolean     NOT NULL DEFAULT true,
    is_default boolean     NOT NULL DEFAULT false,
    notes      text        NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- At most one default: setting a new one clears the old one in the same
-- transaction.
CREATE UNIQUE INDEX engine_versions_one_default ON engine_versions (is_default) WHERE is_default;
