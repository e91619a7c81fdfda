import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/config.ts';
import { ROOT } from '../helpers/markdown.ts';

/**
 * Each capability owns its configuration slice (issue 18): src/config.ts only composes the
 * slices, and only the wiring (src/app.ts, src/main.ts) and the command-line tools (src/cli)
 * may import it. A capability module importing it would make config.ts an import hub again
 * (and a cycle: config.ts imports every slice).
 */

const SRC = path.join(ROOT, 'src');
const CONFIG = path.join(SRC, 'config.ts');
/** the command-line tools are wiring places of their own */
const WIRING_FOLDERS = new Set(['cli']);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return filesUnder(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic, single- or multi-line). */
export function importedSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

function importsOfConfig(file: string): boolean {
  return importedSpecifiers(readFileSync(file, 'utf8')).some((s) => s.startsWith('.') && path.resolve(path.dirname(file), s) === CONFIG);
}

describe('configuration slices', () => {
  it('finds an import of src/config.ts in any of its forms (the check below can fail)', () => {
    expect(importedSpecifiers("import type { Config } from '../config.ts';")).toEqual(['../config.ts']);
    expect(importedSpecifiers("import {\n  loadConfig,\n  type Config,\n} from '../config.ts';")).toEqual(['../config.ts']);
    expect(importedSpecifiers("export { ConfigError } from \"./config.ts\";\nconst m = await import('../config.ts');")).toEqual([
      './config.ts',
      '../config.ts',
    ]);
  });

  it('no capability module imports src/config.ts (only src/app.ts, src/main.ts and src/cli may)', () => {
    const capabilityFiles = filesUnder(SRC).filter((f) => {
      const folder = path.relative(SRC, f).split(path.sep);
      return folder.length > 1 && !WIRING_FOLDERS.has(folder[0]!);
    });
    expect(capabilityFiles.length).toBeGreaterThan(100);
    expect(capabilityFiles.filter(importsOfConfig).map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('src/config.ts imports slices, not capability code', () => {
    const imported = importedSpecifiers(readFileSync(CONFIG, 'utf8')).map((s) => path.basename(s));
    expect(imported.filter((s) => !/(-config|config-env)\.ts$/.test(s) && s !== 'node:path')).toEqual([]);
  });

  it('lists every variable once: the union of the slices', () => {
    expect(CONFIG_VARIABLES.length).toBe(new Set(CONFIG_VARIABLES).size);
  });
});
