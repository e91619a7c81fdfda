import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../http/api-keys.ts';

/**
 * Sessions of the analyst console (issue 17). An analyst signs in once with an API key; the
 * server keeps the key's principal under a random session id and answers with that id in an
 * HttpOnly cookie, so the key is never stored by the browser (no localStorage, no URL). Each
 * session carries a synchronizer CSRF token, handed to the page in the sign-in answer and
 * required in the `x-csrf-token` header of every write made with the cookie.
 *
 * Kept in this process's memory: a restart signs every analyst out, and behind a load balancer
 * of several nodes the console needs sticky sessions (not yet shared through Redis).
 */

export const SESSION_COOKIE = 'calmpay_session';
export const CSRF_HEADER = 'x-csrf-token';
/** a session unused this long is gone */
export const SESSION_IDLE_MS = 30 * 60_000;
/** and none lives longer than this, used or not */
export const SESSION_MAX_MS = 12 * 3_600_000;
/** the oldest session is dropped beyond this many */
export const MAX_SESSIONS = 10_000;

export interface ConsoleSession {
  readonly id: string;
  readonly csrfToken: string;
  readonly principal: Principal;
  readonly createdAtMs: number;
  lastUsedAtMs: number;
}

export class ConsoleSessions {
  // insertion order = creation order, so the first entry is the oldest
  private readonly byId = new Map<string, ConsoleSession>();
  private readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
  }

  get size(): number {
    return this.byId.size;
  }

  create(principal: Principal): ConsoleSession {
    const now = this.clock();
    this.sweep(now);
    while (this.byId.size >= MAX_SESSIONS) {
      const oldest = this.byId.keys().next().value;
      if (oldest === undefined) break;
      this.byId.delete(oldest);
    }
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      principal,
      createdAtMs: now,
      lastUsedAtMs: now,
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session of this id (its idle clock restarted), or null when unknown or expired. */
  use(id: string): ConsoleSession | null {
    const s = this.byId.get(id);
    if (s === undefined) return null;
    const now = this.clock();
    if (expired(s, now)) {
      this.byId.delete(id);
      return null;
    }
    s.lastUsedAtMs = now;
    return s;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  /** When the session ends if it stays unused. */
  expiresAtMs(s: ConsoleSession): number {
    return Math.min(s.lastUsedAtMs + SESSION_IDLE_MS, s.createdAtMs + SESSION_MAX_MS);
  }

  private sweep(now: number): void {
    for (const [id, s] of this.byId) if (expired(s, now)) this.byId.delete(id);
  }
}

function expired(s: ConsoleSession, now: number): boolean {
  return now - s.lastUsedAtMs >= SESSION_IDLE_MS || now - s.createdAtMs >= SESSION_MAX_MS;
}

/** Whether a presented CSRF token is the session's, in constant time. */
export function csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Methods that change nothing: no CSRF token needed. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
