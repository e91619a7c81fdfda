import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * API keys with scopes (issue 9). Keys are configured without code, as SHA-256 hashes only
 * (`API_KEYS`, a JSON array), so a leaked configuration does not leak a usable key. Rotation:
 * configure the new key next to the old one under the same name, move the clients, then
 * remove the old entry — both are valid in between.
 */

export const SCOPES = ['score', 'transfer', 'cases:write', 'rules:write', 'rules:approve', 'guardian', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyEntry {
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** lower-case hex SHA-256 of the key */
  readonly sha256: string;
}

const EntrySchema = z.strictObject({
  name: z.string().min(1).max(64),
  scopes: z.array(z.enum(SCOPES)).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (the SHA-256 of the key)'),
});

export class ApiKeysError extends Error {
  override name = 'ConfigError';
}

/** Parses API_KEYS; unset or empty means no keys (authentication off). */
export function parseApiKeys(raw: string | undefined): readonly ApiKeyEntry[] {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiKeysError('API_KEYS must be a JSON array of {"name", "scopes", "sha256"} (see npm run keys -- new)');
  }
  const parsed = z.array(EntrySchema).min(1).safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(array)'}: ${i.message}`).join('; ');
    throw new ApiKeysError(`API_KEYS is invalid: ${where}`);
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
}

export type Authentication =
  | { readonly kind: 'ok'; readonly principal: Principal }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unknown' };

/** Looks up a presented key by its hash. */
export class ApiKeyRing {
  private readonly byHash: ReadonlyMap<string, Principal>;

  constructor(entries: readonly ApiKeyEntry[]) {
    this.byHash = new Map(entries.map((e) => [e.sha256, { name: e.name, scopes: new Set(e.scopes) }]));
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

/** `admin` may do everything. */
export function allows(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}
