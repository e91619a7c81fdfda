/**
 * The console's calls: the /v1 routes with the session cookie standing in for the API key
 * (the browser sends it; the page never sees the key or the cookie), and the session's CSRF
 * token on every write.
 */

export type Scope = 'score' | 'transfer' | 'cases:write' | 'rules:read' | 'rules:write' | 'rules:approve' | 'guardian' | 'admin';

export interface Session {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly csrfToken: string;
  readonly expiresAt: string;
  readonly authentication: 'keys' | 'off';
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const INCLUDED_IN: Partial<Record<Scope, readonly Scope[]>> = { 'rules:read': ['rules:write', 'rules:approve'] };

/** The same rule as the server's `allows` (src/http/api-keys.ts): what the session's key may do. */
export function can(session: Session, scope: Scope): boolean {
  const has = (s: Scope): boolean => session.scopes.includes(s);
  return has(scope) || has('admin') || (INCLUDED_IN[scope] ?? []).some(has);
}

async function call<T>(method: string, path: string, body: unknown, csrfToken: string | null): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 204) return null as T;
  const json: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (json ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? 'HTTP_' + res.status, e.message ?? res.statusText);
  }
  return json as T;
}

export const sessionApi = {
  current: () => call<Session>('GET', '/console/session', undefined, null),
  signIn: (key: string) => call<Session>('POST', '/console/session', { key }, null),
  signOut: (s: Session) => call<null>('DELETE', '/console/session', undefined, s.csrfToken),
};

/** Calls of one signed-in session. */
export class Api {
  readonly session: Session;
  constructor(session: Session) {
    this.session = session;
  }
  get<T>(path: string): Promise<T> {
    return call<T>('GET', path, undefined, null);
  }
  send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return call<T>(method, path, body, this.session.csrfToken);
  }
}
