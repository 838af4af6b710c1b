-- Turn options of a game (issue #18): `early_turn` runs the turn as soon as
-- every alive race has orders in; `reminder_minutes` reminds members
-- without orders that many minutes before the deadline (game.turn.reminder).

ALTER TABLE games
    ADD COLUMN early_turn boolean NOT NULL DEFAULT false,
    ADD COLUMN reminder_minutes integer CHECK (reminder_minutes BETWEEN 1 AND 10080);
