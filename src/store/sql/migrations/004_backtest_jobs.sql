-- Backtest jobs (issue 7): POST /v1/rules/backtest runs on the node that took the request; its
-- progress and report are kept here, so GET /v1/rules/backtest/:id answers on every node and
-- after a restart. A job whose node stopped stays 'running' with an old updated_at; readers
-- report it as failed once updated_at is older than the staleness limit (src/rules/backtest).

CREATE TABLE backtest_jobs (
  job_id       text PRIMARY KEY,
  state        text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  -- the API key name that asked, null with authentication off
  requested_by text,
  -- {from, to, candidateVersion, activeVersion, model}: what was asked, without the rule texts
  request      jsonb NOT NULL,
  rows_done    integer NOT NULL DEFAULT 0,
  rows_total   integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  -- the BacktestReport (src/backtest/backtest-report.ts) once done
  result       jsonb,
  error        text
);

CREATE INDEX backtest_jobs_by_created ON backtest_jobs (created_at);

-- The backtest reads a window in keyset pages on (occurred_at, transfer_id): with this index each
-- page is an index range scan in order; without it every page sorts the rest of the window.
CREATE INDEX decisions_by_time_id ON decisions (occurred_at, transfer_id);
