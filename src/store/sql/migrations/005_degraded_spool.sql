-- Decisions answered while Redis was unavailable (issue 19), spooled before the answer was sent
-- and kept until the reconciler has written each one into Redis (claim, decision, stream entry,
-- lifecycle) like a normal decision. The same score also inserts its row into `decisions` in the
-- same transaction, so the history has it at once. `record` is the DegradedRecord JSON as text:
-- its `decision` must stay byte for byte what the payer was answered.

CREATE TABLE degraded_spool (
  transfer_id  text PRIMARY KEY,
  spooled_at   timestamptz NOT NULL,
  record       text NOT NULL
);

CREATE INDEX degraded_spool_by_time ON degraded_spool (spooled_at);
