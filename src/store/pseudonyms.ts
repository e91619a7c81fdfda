import { createHmac } from 'node:crypto';
import { ConfigError } from '../config-env.ts';
import { BoundedCache } from '../bounded-cache.ts';

/**
 * Keyed hashes of account and device ids for the Redis state (issue 9, data protection).
 *
 * With ACCOUNT_ID_HASH_KEY set, every account and device id that Redis would otherwise hold
 * in a key name or a set member is replaced by HMAC-SHA256(key, kind + ':' + id), the first
 * 128 bits in base64url (22 characters). Without the key, a reader of the Redis data (a
 * backup, a replica, an RDB file) cannot tell which account a window belongs to, nor test a
 * guessed id. The mapping is deterministic, so every node with the same key computes the same
 * names and nothing else changes: windows, fan-in sets, guardian limits and report flags all
 * go through it (src/store/keys.ts).
 *
 * Changing or removing the key makes the existing state unreachable (it expires by its TTLs);
 * see docs/storage.md.
 */
export type Pseudonymise = (kind: 'a' | 'd', id: string) => string;

/** No key: ids are stored as they are. */
export const plainIds: Pseudonymise = (_kind, id) => id;

/** A hashed name is cached per id, for at most this many ids. */
const CACHE_LIMIT = 100_000;

export function keyedIds(secret: Buffer): Pseudonymise {
  const cache = new BoundedCache<string, string>(CACHE_LIMIT);
  return (kind, id) =>
    cache.getOr(`${kind}:${id}`, (tagged) => createHmac('sha256', secret).update(tagged).digest().subarray(0, 16).toString('base64url'));
}

/**
 * ACCOUNT_ID_HASH_KEY: unset or empty means plain ids; otherwise at least 32 hex digits
 * (16 bytes) of secret, given as hex.
 */
export function parseIdHashKey(value: string | undefined): Buffer | null {
  if (value === undefined || value === '') return null;
  if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(value)) {
    throw new ConfigError(
      'ACCOUNT_ID_HASH_KEY must be at least 32 hex digits (16 bytes of secret), e.g. from `openssl rand -hex 32`; unset it to store plain ids',
    );
  }
  return Buffer.from(value, 'hex');
}

/** The id mapping a config asks for. */
export function storedIds(idHashKey: Buffer | null): Pseudonymise {
  return idHashKey === null ? plainIds : keyedIds(idHashKey);
}
