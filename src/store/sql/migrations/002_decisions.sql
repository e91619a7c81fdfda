-- Decision history (DESIGN §4 step 6): copied from the Redis decision stream by the decision
-- sink, with the feature vector each decision was made on (point-in-time replays, training).

CREATE TABLE decisions (
  transfer_id    text PRIMARY KEY,
  -- id of the stream entry it was copied from
  stream_id      text NOT NULL,
  occurred_at    timestamptz NOT NULL,
  decided_at     timestamptz NOT NULL,
  payer_id       text NOT NULL,
  payee_id       text NOT NULL,
  amount         numeric(18, 3) NOT NULL,
  currency       char(3) NOT NULL,
  action         text NOT NULL,
  risk_score     real NOT NULL,
  model_score    real,
  scam_type      text,
  segment        text,
  rules_version  text NOT NULL,
  model_version  text,
  -- CATALOGUE_VERSION the feature vector was built with
  catalogue      text NOT NULL,
  hit_rules      text[] NOT NULL,
  shadow_rules   text[] NOT NULL,
  -- the StoredDecision as scored (src/scoring/decision.ts)
  decision       jsonb NOT NULL,
  -- the feature vector in catalogue order
  features       jsonb NOT NULL
);

CREATE INDEX decisions_by_time ON decisions (occurred_at);
CREATE INDEX decisions_by_payee ON decisions (payee_id, occurred_at);
