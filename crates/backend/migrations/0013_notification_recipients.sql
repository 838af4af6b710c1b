-- Broadcast intents (spec §10): `game.turn.ready` and `game.paused` are one
-- intent per `(kind, idempotency_key)` that addresses every active member of
-- a game. The intent keeps how many users it addresses; each user-facing
-- channel gets one route per recipient, so a route's own `user_id` is whom
-- it delivers to. Operator notes: docs/notifications.md.

-- How many users the intent addresses: 1 for a single-user intent (its
-- `user_id`), any number for a broadcast (`user_id` NULL), 0 for admin kinds.
ALTER TABLE notification_intents
    ADD COLUMN recipient_count integer NOT NULL DEFAULT 0
        CONSTRAINT notification_intents_recipient_count_check CHECK (recipient_count >= 0);
UPDATE notification_intents SET recipient_count = 1 WHERE user_id IS NOT NULL;
-- Every insert states it from now on.
ALTER TABLE notification_intents ALTER COLUMN recipient_count DROP DEFAULT;
ALTER TABLE notification_intents ADD CONSTRAINT notification_intents_user_is_the_sole_recipient
    CHECK (user_id IS NULL OR recipient_count = 1);

-- One route per (channel, recipient). Admin routes have no user: NULLS NOT
-- DISTINCT keeps them at one per channel.
ALTER TABLE notification_routes DROP CONSTRAINT notification_routes_intent_channel;
ALTER TABLE notification_routes ADD CONSTRAINT notification_routes_intent_channel_user
    UNIQUE NULLS NOT DISTINCT (intent_id, channel, user_id);

-- The admin listing's `user_id` filter finds broadcasts through their routes.
CREATE INDEX notification_routes_user_intent_idx ON notification_routes (user_id, intent_id)
    WHERE user_id IS NOT NULL;
