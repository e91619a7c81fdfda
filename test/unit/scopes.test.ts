import { describe, expect, it } from 'vitest';
import { allows, SCOPES, type Principal, type Scope } from '../../src/http/api-keys.ts';

const key = (...scopes: Scope[]): Principal => ({ name: 'k', scopes: new Set(scopes), limiter: null });

describe("what a key's scopes allow", () => {
  it('allows its own scopes, and admin everything', () => {
    for (const scope of SCOPES) {
      expect(allows(key(scope), scope)).toBe(true);
      expect(allows(key('admin'), scope)).toBe(true);
    }
  });

  it('lets rules:write and rules:approve read how the rules perform, and nothing more', () => {
    expect(allows(key('rules:write'), 'rules:read')).toBe(true);
    expect(allows(key('rules:approve'), 'rules:read')).toBe(true);
    expect(allows(key('rules:read'), 'rules:write')).toBe(false);
    expect(allows(key('rules:read'), 'rules:approve')).toBe(false);
    expect(allows(key('score', 'cases:write', 'transfer', 'guardian'), 'rules:read')).toBe(false);
  });

  it('gives no other scope anything it does not name', () => {
    for (const held of SCOPES.filter((s) => s !== 'admin')) {
      for (const needed of SCOPES.filter((s) => s !== held && !(includedIn(s, held)))) {
        expect(allows(key(held), needed)).toBe(false);
      }
    }
  });
});

function includedIn(needed: Scope, held: Scope): boolean {
  return needed === 'rules:read' && (held === 'rules:write' || held === 'rules:approve');
}
