import { describe, expect, it } from 'vitest';
import { ConsoleSessions, cookieValue, csrfMatches, MAX_SESSIONS, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../src/console/console-sessions.ts';
import type { Principal } from '../../src/http/api-keys.ts';

const analyst: Principal = { name: 'analyst', scopes: new Set(['rules:read']), limiter: null };

describe('ConsoleSessions (issue 17)', () => {
  it('keeps a session used within 30 minutes, but never beyond 12 hours', () => {
    let now = 0;
    const sessions = new ConsoleSessions(() => now);
    const s = sessions.create(analyst);
    expect(s.id).toMatch(/^[\w-]{43}$/);
    expect(s.csrfToken).not.toBe(s.id);
    for (now = SESSION_IDLE_MS - 1; now < SESSION_MAX_MS; now += SESSION_IDLE_MS - 1) expect(sessions.use(s.id)).toBe(s);
    now = SESSION_MAX_MS;
    expect(sessions.use(s.id)).toBeNull();
    expect(sessions.size).toBe(0);
  });

  it('drops the oldest session beyond its cap, and expired ones when a session is made', () => {
    let now = 0;
    const sessions = new ConsoleSessions(() => now);
    const first = sessions.create(analyst);
    for (let i = 1; i < MAX_SESSIONS; i++) sessions.create(analyst);
    expect(sessions.size).toBe(MAX_SESSIONS);
    sessions.create(analyst);
    expect(sessions.size).toBe(MAX_SESSIONS);
    expect(sessions.use(first.id)).toBeNull();
    now = SESSION_IDLE_MS;
    sessions.create(analyst);
    expect(sessions.size).toBe(1);
  });

  it('matches the CSRF token exactly, and reads one cookie of a header', () => {
    const s = new ConsoleSessions(() => 0).create(analyst);
    expect([csrfMatches(s, s.csrfToken), csrfMatches(s, undefined), csrfMatches(s, `${s.csrfToken}x`), csrfMatches(s, '')]).toEqual([true, false, false, false]);
    expect(cookieValue('a=1; calmpay_session=abc; b=2', 'calmpay_session')).toBe('abc');
    expect(cookieValue('xcalmpay_session=abc', 'calmpay_session')).toBeUndefined();
    expect(cookieValue(undefined, 'calmpay_session')).toBeUndefined();
  });
});
