import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/config.ts';
import { ERRORS } from '../../src/errors.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

describe('the README stays true', () => {
  it('documents every configuration variable', () => {
    expect(CONFIG_VARIABLES.filter((v) => !readme.includes(`| \`${v}\` |`))).toEqual([]);
  });

  it('documents every error code with its status', () => {
    const missing = Object.entries(ERRORS).filter(([code, def]) => !readme.includes(`| \`${code}\` | ${def.status} |`));
    expect(missing).toEqual([]);
  });

  it('names every npm script a user runs', () => {
    const scripts = Object.keys(pkg.scripts).filter((s) => s !== 'typecheck');
    expect(scripts.filter((s) => !readme.includes(`npm ${s === 'start' || s === 'test' ? s : `run ${s}`}`))).toEqual([]);
  });
});
