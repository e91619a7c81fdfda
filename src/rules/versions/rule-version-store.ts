/**
 * Rule versions, the active pointer and the audit trail in the SQL store (migration
 * 003_rule_versions.sql). Plain reads and writes; the rules of the lifecycle (who may approve,
 * what may be rolled back to) live in rule-versions.ts. Every write transaction first takes
 * `lockRuleWrites`, so writers on any node are serialised.
 */
import type { SqlExecutor } from '../../store/sql/sql-store.ts';
import type { RuleDiff } from './rule-diff.ts';
import type { RuleFileText } from '../language/rule-set.ts';

export const VERSION_STATUSES = ['pending_approval', 'approved', 'rejected'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const AUDIT_ACTIONS = ['seed', 'publish', 'approve', 'reject', 'rollback', 'auto_shadow'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface VersionSummary {
  readonly id: number;
  /** RuleSet.version of the files (`files-<sha12>`), the `rulesVersion` of decisions */
  readonly contentVersion: string;
  readonly ruleCount: number;
  readonly author: string;
  readonly comment: string;
  readonly createdAt: string;
  readonly baseId: number | null;
  readonly status: VersionStatus;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly decisionComment: string | null;
}

export interface StoredVersion extends VersionSummary {
  readonly files: readonly RuleFileText[];
}

export interface ActivePointer {
  readonly versionId: number;
  /** grows by one with every activation */
  readonly generation: number;
  readonly activatedAt: string;
  readonly activatedBy: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: AuditAction;
  readonly versionId: number | null;
  readonly activeBefore: number | null;
  readonly activeAfter: number | null;
  readonly diff: RuleDiff;
  readonly reason: string | null;
}

interface VersionRow {
  id: number;
  content_version: string;
  rule_count: number;
  author: string;
  comment: string;
  created_at: Date;
  base_id: number | null;
  status: VersionStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decision_comment: string | null;
  files?: RuleFileText[];
}

// ids are bigint; cast to int so pg (string) and PGlite (number) return the same thing
const SUMMARY_COLUMNS = `id::int AS id, content_version, rule_count, author, comment, created_at, base_id::int AS base_id,
  status, decided_by, decided_at, decision_comment`;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function summary(r: VersionRow): VersionSummary {
  return {
    id: r.id,
    contentVersion: r.content_version,
    ruleCount: r.rule_count,
    author: r.author,
    comment: r.comment,
    createdAt: r.created_at.toISOString(),
    baseId: r.base_id,
    status: r.status,
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_at),
    decisionComment: r.decision_comment,
  };
}

/** Serialises rule writes of every node for the rest of the transaction. */
export async function lockRuleWrites(tx: SqlExecutor): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || 'calmpay-rule-versions'))`);
}

export async function readActive(ex: SqlExecutor): Promise<ActivePointer | null> {
  const { rows } = await ex.query<{ version_id: number; generation: number; activated_at: Date; activated_by: string }>(
    'SELECT version_id::int AS version_id, generation::int AS generation, activated_at, activated_by FROM rule_active',
  );
  const r = rows[0];
  return r === undefined ? null : { versionId: r.version_id, generation: r.generation, activatedAt: r.activated_at.toISOString(), activatedBy: r.activated_by };
}

export async function readVersion(ex: SqlExecutor, id: number): Promise<StoredVersion | null> {
  const { rows } = await ex.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS}, files FROM rule_versions WHERE id = $1`, [id]);
  const r = rows[0];
  return r === undefined ? null : { ...summary(r), files: r.files ?? [] };
}

/** Newest first; `beforeId` pages on. */
export async function listVersions(ex: SqlExecutor, opts: { limit: number; beforeId: number | null }): Promise<VersionSummary[]> {
  const { rows } = await ex.query<VersionRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM rule_versions WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
    [opts.beforeId, opts.limit],
  );
  return rows.map(summary);
}

/** A version waiting for approval with these files, written against this base. */
export async function findPending(ex: SqlExecutor, contentVersion: string, baseId: number | null): Promise<VersionSummary | null> {
  const { rows } = await ex.query<VersionRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM rule_versions
      WHERE status = 'pending_approval' AND content_version = $1 AND base_id IS NOT DISTINCT FROM $2::bigint
      ORDER BY id DESC LIMIT 1`,
    [contentVersion, baseId],
  );
  return rows[0] === undefined ? null : summary(rows[0]);
}

/** Whether any version (of any status) was stored with these files. */
export async function hasContent(ex: SqlExecutor, contentVersion: string): Promise<boolean> {
  const { rows } = await ex.query<{ one: number }>('SELECT 1 AS one FROM rule_versions WHERE content_version = $1 LIMIT 1', [contentVersion]);
  return rows.length > 0;
}

export interface NewVersion {
  readonly contentVersion: string;
  readonly files: readonly RuleFileText[];
  readonly ruleCount: number;
  readonly author: string;
  readonly comment: string;
  readonly createdAt: Date;
  readonly baseId: number | null;
  readonly status: VersionStatus;
}

export async function insertVersion(tx: SqlExecutor, v: NewVersion): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO rule_versions (content_version, files, rule_count, author, comment, created_at, base_id, status)
     VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8) RETURNING id::int AS id`,
    [v.contentVersion, JSON.stringify(v.files.map((f) => ({ name: f.name, text: f.text }))), v.ruleCount, v.author, v.comment, v.createdAt, v.baseId, v.status],
  );
  return rows[0]!.id;
}

/** The one change a version may see: pending → approved or rejected. */
export async function decideVersion(
  tx: SqlExecutor,
  id: number,
  d: { status: 'approved' | 'rejected'; by: string; at: Date; comment: string | null },
): Promise<void> {
  await tx.query('UPDATE rule_versions SET status = $2, decided_by = $3, decided_at = $4, decision_comment = $5 WHERE id = $1', [
    id,
    d.status,
    d.by,
    d.at,
    d.comment,
  ]);
}

/** Points the active pointer at a version; returns the new generation. */
export async function activate(tx: SqlExecutor, versionId: number, by: string, at: Date): Promise<number> {
  const { rows } = await tx.query<{ generation: number }>(
    `INSERT INTO rule_active (singleton, version_id, generation, activated_at, activated_by) VALUES (true, $1, 1, $2, $3)
     ON CONFLICT (singleton) DO UPDATE SET version_id = $1, generation = rule_active.generation + 1, activated_at = $2, activated_by = $3
     RETURNING generation::int AS generation`,
    [versionId, at, by],
  );
  return rows[0]!.generation;
}

export async function appendAudit(tx: SqlExecutor, e: Omit<AuditEntry, 'id' | 'at'> & { at: Date }): Promise<void> {
  await tx.query(
    `INSERT INTO rule_audit (at, actor, action, version_id, active_before, active_after, diff, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`,
    [e.at, e.actor, e.action, e.versionId, e.activeBefore, e.activeAfter, JSON.stringify(e.diff), e.reason],
  );
}

/** Newest first; `beforeId` pages on; `versionId` limits to entries about one version. */
export async function listAudit(
  ex: SqlExecutor,
  opts: { limit: number; beforeId: number | null; versionId: number | null },
): Promise<AuditEntry[]> {
  const { rows } = await ex.query<{
    id: number;
    at: Date;
    actor: string;
    action: AuditAction;
    version_id: number | null;
    active_before: number | null;
    active_after: number | null;
    diff: RuleDiff;
    reason: string | null;
  }>(
    `SELECT id::int AS id, at, actor, action, version_id::int AS version_id, active_before::int AS active_before,
            active_after::int AS active_after, diff, reason
       FROM rule_audit
      WHERE ($1::bigint IS NULL OR id < $1) AND ($2::bigint IS NULL OR version_id = $2)
      ORDER BY id DESC LIMIT $3`,
    [opts.beforeId, opts.versionId, opts.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    versionId: r.version_id,
    activeBefore: r.active_before,
    activeAfter: r.active_after,
    diff: r.diff,
    reason: r.reason,
  }));
}
