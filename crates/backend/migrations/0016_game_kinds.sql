-- The game lifecycle kinds of the notification catalog (spec §10; issue #18,
-- turns): `game.started`, `game.resumed`, `game.turn.reminder`,
-- `game.race.dropped`, `game.finished` (member-facing) and
-- `game.generation.failed` (admin email). An additive change to the kind
-- vocabulary: the CHECK constraints of 0008 are replaced by supersets, with
-- the same names. The lists below equal the catalog in
-- src/notification/catalog.rs (a test compares them). Operator notes:
-- docs/notifications.md.

ALTER TABLE notification_intents DROP CONSTRAINT notification_intents_kind_check;
ALTER TABLE notification_intents ADD CONSTRAINT notification_intents_kind_check CHECK (kind IN (
    'lobby.invite.received', 'lobby.invite.revoked',
    'lobby.application.submitted', 'lobby.application.approved', 'lobby.application.rejected',
    'lobby.membership.removed', 'lobby.membership.blocked',
    'lobby.race_name.registered', 'lobby.race_name.pending', 'lobby.race_name.expired',
    'runtime.image_pull_failed', 'runtime.container_start_failed', 'runtime.start_config_invalid',
    'game.turn.ready', 'game.paused',
    'game.started', 'game.resumed', 'game.turn.reminder', 'game.race.dropped',
    'game.finished', 'game.generation.failed'));

-- The kinds with a user email channel, which a user may switch off.
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_kind_check;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_kind_check CHECK (kind IN (
    'lobby.invite.received', 'lobby.application.approved', 'lobby.application.rejected',
    'lobby.membership.removed', 'lobby.membership.blocked', 'lobby.race_name.pending',
    'game.turn.reminder', 'game.race.dropped', 'game.finished'));
