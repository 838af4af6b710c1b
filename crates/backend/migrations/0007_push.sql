-- Push cursor epochs (spec §7; docs/decisions/0006-push-cursors.md). Every
-- backend process takes one value at startup; its cursors are
-- `epoch << 40 | counter`, so cursors keep increasing across restarts and
-- two processes never issue the same cursor. 24 bits of epoch: 16.7 million
-- process starts before the sequence runs out (and fails loudly at startup).
CREATE SEQUENCE push_epochs AS bigint MINVALUE 1 MAXVALUE 16777215 NO CYCLE;
