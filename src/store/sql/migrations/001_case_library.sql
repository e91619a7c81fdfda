-- The case library (issue 5): reported scams and the transfers they name.

CREATE TABLE cases (
  case_id        text PRIMARY KEY,
  reporter_type  text NOT NULL CHECK (reporter_type IN ('victim', 'family', 'bank', 'police')),
  -- who reported, as '<type>:<id>'; distinct reporters of a payee are counted on this
  reporter_key   text NOT NULL,
  payer_id       text NOT NULL,
  payee_id       text NOT NULL,
  payee_name     text,
  transfer_ids   text[] NOT NULL,
  amount_lost    numeric(18, 3) NOT NULL CHECK (amount_lost >= 0),
  currency       char(3) NOT NULL,
  -- SCAM_TYPES of src/scoring/scam-types.ts, checked by the API (the list may grow)
  scam_type      text NOT NULL,
  channel        text,
  narrative      text,
  scam_at        timestamptz NOT NULL,
  reported_at    timestamptz NOT NULL,
  received_at    timestamptz NOT NULL,
  -- false until the payee's report flags in Redis include this case (re-applied at start)
  flags_applied  boolean NOT NULL DEFAULT false
);

CREATE INDEX cases_by_report ON cases (reported_at DESC, case_id DESC);
CREATE INDEX cases_by_payee ON cases (payee_id, reported_at DESC);
CREATE INDEX cases_flags_pending ON cases (received_at) WHERE NOT flags_applied;

-- A transfer belongs to at most one case: reporting it again is a duplicate, never a second label.
CREATE TABLE case_transfers (
  transfer_id  text PRIMARY KEY,
  case_id      text NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE
);

CREATE INDEX case_transfers_by_case ON case_transfers (case_id);
