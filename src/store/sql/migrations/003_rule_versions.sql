-- Rule versions and their audit trail (issue 7). A version is the full text of the rule files
-- as published; it never changes after it is written, except for its approval status (the
-- trigger below enforces this). Which version scores is a separate one-row pointer.

CREATE TABLE rule_versions (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- RuleSet.version of these files: `files-` + 12 hex digits of their sha256 (src/rules/language/rule-set.ts)
  content_version  text NOT NULL,
  -- [{name, text}] sorted by name
  files            jsonb NOT NULL,
  rule_count       integer NOT NULL CHECK (rule_count >= 0),
  author           text NOT NULL,
  comment          text NOT NULL,
  created_at       timestamptz NOT NULL,
  -- the active version this one was written against (null for the seed); approving a version
  -- whose base is no longer active is refused, so an approval never silently undoes a change
  base_id          bigint REFERENCES rule_versions (id),
  status           text NOT NULL CHECK (status IN ('pending_approval', 'approved', 'rejected')),
  -- who approved or rejected it; null for a version approved on publish (four-eyes off)
  decided_by       text,
  decided_at       timestamptz,
  decision_comment text
);

CREATE INDEX rule_versions_pending ON rule_versions (id) WHERE status = 'pending_approval';

CREATE FUNCTION rule_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'rule versions are never deleted (version %)', OLD.id;
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.content_version IS DISTINCT FROM OLD.content_version
     OR NEW.files IS DISTINCT FROM OLD.files OR NEW.rule_count IS DISTINCT FROM OLD.rule_count
     OR NEW.author IS DISTINCT FROM OLD.author OR NEW.comment IS DISTINCT FROM OLD.comment
     OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.base_id IS DISTINCT FROM OLD.base_id THEN
    RAISE EXCEPTION 'rule version % is immutable: only its approval status may change', OLD.id;
  END IF;
  IF OLD.status <> 'pending_approval' THEN
    RAISE EXCEPTION 'rule version % was already %', OLD.id, OLD.status;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER rule_versions_immutable BEFORE UPDATE OR DELETE ON rule_versions
  FOR EACH ROW EXECUTE FUNCTION rule_versions_immutable();

-- The active version: one row. `generation` grows by one with every change, so nodes (and the
-- Redis pointer) can tell a newer activation from an older one.
CREATE TABLE rule_active (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version_id    bigint NOT NULL REFERENCES rule_versions (id),
  generation    bigint NOT NULL CHECK (generation > 0),
  activated_at  timestamptz NOT NULL,
  activated_by  text NOT NULL
);

CREATE TABLE rule_audit (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL,
  actor           text NOT NULL,
  action          text NOT NULL CHECK (action IN ('seed', 'publish', 'approve', 'reject', 'rollback', 'auto_shadow')),
  -- the active version before and after the action (equal when nothing took effect, e.g. a
  -- publish waiting for approval); `version_id` is the version the action was about
  version_id      bigint REFERENCES rule_versions (id),
  active_before   bigint REFERENCES rule_versions (id),
  active_after    bigint REFERENCES rule_versions (id),
  -- {added: [rule ids], removed: [...], changed: [{id, fields: [...]}]} against active_before
  diff            jsonb NOT NULL,
  reason          text
);

CREATE INDEX rule_audit_by_time ON rule_audit (id DESC);
