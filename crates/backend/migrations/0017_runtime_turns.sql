-- Turns (the scheduler): when the running turn began, so a tick left
-- behind by a killed backend is recognised; `turn` and `resume` in the
-- operation log. Operator notes: docs/runtime.md ("Turns").

ALTER TABLE runtime_records ADD COLUMN generation_started_at timestamptz;

ALTER TABLE runtime_operations DROP CONSTRAINT runtime_operations_op_check;
ALTER TABLE runtime_operations ADD CONSTRAINT runtime_operations_op_check CHECK (op IN (
    'start', 'stop', 'restart', 'patch', 'banish', 'force_next_turn',
    'adopt', 'mark_removed', 'mark_unreachable', 'mark_running', 'turn', 'resume'));
