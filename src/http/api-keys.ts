import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ConfigError } from '../config-env.ts';

/**
 * API keys with scopes (issue 9). Keys are configured without code, as SHA-256 hashes only
 * (`API_KEYS`, a JSON array), so a leaked configuration does not leak a usable key. Rotation:
 * configure the new key next to the old one under the same name, move the clients, then
 * remove the old entry — both are valid in between.
 */

/** `rules:read`: reading how the rules perform (GET /v1/rules/performance), without changing any (issue 16). */
export const SCOPES = ['score', 'transfer', 'cases:write', 'rules:read', 'rules:write', 'rules:approve', 'guardian', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyEntry {
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** lower-case hex SHA-256 of the key */
  readonly sha256: string;
  /** requests per second this key may make on each API node (burst: one second's worth); unset: unlimited */
  readonly rateLimit?: number;
}

const EntrySchema = z.strictObject({
  name: z.string().min(1).max(64),
  scopes: z.array(z.enum(SCOPES)).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (the SHA-256 of the key)'),
  rateLimit: z.number().positive().max(1e7).optional(),
});

/** Parses API_KEYS; unset or empty means no keys (authentication off). */
export function parseApiKeys(raw: string | undefined): readonly ApiKeyEntry[] {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('API_KEYS must be a JSON array of {"name", "scopes", "sha256"} (see npm run keys -- new)');
  }
  const parsed = z.array(EntrySchema).min(1).safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(array)'}: ${i.message}`).join('; ');
    throw new ConfigError(`API_KEYS is invalid: ${where}`);
  }
  return Object.freeze(parsed.data.map((e) => Object.freeze({ ...e, scopes: Object.freeze([...e.scopes]) })));
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key and its configuration entry. */
export function newApiKey(name: string, scopes: readonly Scope[]): { key: string; entry: ApiKeyEntry } {
  const key = `cp_${randomBytes(32).toString('base64url')}`;
  return { key, entry: { name, scopes: [...scopes], sha256: hashApiKey(key) } };
}

export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** shared by every key of this name (so a rotation does not double the allowance) */
  readonly limiter: RateLimiter | null;
}

/**
 * A token bucket per key name and API node: `rate` tokens a second, holding at most one
 * second's worth. In-process on purpose: a cluster-wide limit would cost a Redis round trip
 * on every score; the per-node limit times the node count is the cluster's.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  readonly rate: number;
  private readonly now: () => number;

  constructor(rate: number, now: () => number = () => performance.now()) {
    this.rate = rate;
    this.now = now;
    this.tokens = Math.max(1, rate);
    this.last = now();
  }

  /** 0 when the request may go ahead, else the seconds to wait before retrying */
  take(): number {
    const t = this.now();
    const capacity = Math.max(1, this.rate);
    this.tokens = Math.min(capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.rate;
  }
}

export type Authentication =
  | { readonly kind: 'ok'; readonly principal: Principal }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unknown' };

/** Looks up a presented key by its hash. */
export class ApiKeyRing {
  private readonly byHash: ReadonlyMap<string, Principal>;

  constructor(entries: readonly ApiKeyEntry[]) {
    const limiters = new Map<string, RateLimiter>();
    for (const e of entries) {
      if (e.rateLimit !== undefined && !limiters.has(e.name)) limiters.set(e.name, new RateLimiter(e.rateLimit));
    }
    this.byHash = new Map(entries.map((e) => [e.sha256, { name: e.name, scopes: new Set(e.scopes), limiter: limiters.get(e.name) ?? null }]));
  }

  get enabled(): boolean {
    return this.byHash.size > 0;
  }

  authenticate(key: string | undefined): Authentication {
    if (key === undefined || key === '') return { kind: 'missing' };
    const principal = this.byHash.get(hashApiKey(key));
    return principal === undefined ? { kind: 'unknown' } : { kind: 'ok', principal };
  }
}

/** Scopes that include another: who may change or approve rules may read how they perform. */
const INCLUDED_IN: Partial<Record<Scope, readonly Scope[]>> = { 'rules:read': ['rules:write', 'rules:approve'] };

/** `admin` may do everything; a scope also allows what it includes (`rules:write` reads the rules' performance). */
export function allows(principal: Principal, scope: Scope): boolean {
  if (principal.scopes.has(scope) || principal.scopes.has('admin')) return true;
  return (INCLUDED_IN[scope] ?? []).some((s) => principal.scopes.has(s));
}
