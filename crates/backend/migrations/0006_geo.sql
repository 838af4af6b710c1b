-- Geo signals (spec §11): how many authenticated requests each user made
-- from each country. Updated in batches by the geo aggregator worker;
-- read by operators through the admin users surface. Operator notes:
-- docs/geo.md.
CREATE TABLE user_country_counters (
    user_id     uuid        NOT NULL REFERENCES accounts (user_id),
    country     text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    count       bigint      NOT NULL CHECK (count >= 0),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, country)
);
