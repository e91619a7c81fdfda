import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const doc = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

function folders(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (!statSync(path.join(ROOT, rel)).isDirectory()) continue;
    out.push(`${rel}/`, ...folders(rel));
  }
  return out;
}

describe('docs/architecture.md matches the folders', () => {
  it('names every folder under src/', () => {
    expect(folders('src').filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });

  it('names only paths that exist', () => {
    const named = [...doc.matchAll(/src\/[\w./-]*[\w/]/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });
});
