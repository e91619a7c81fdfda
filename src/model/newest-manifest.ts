import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseManifest, type ModelManifest } from './manifest.ts';

/**
 * The manifest with the newest `createdAt` among the valid ones in `dir` (null when none or the
 * folder is missing): the model the offline tools (eval:segments, calibrate) score with.
 */
export function newestManifest(dir: string): ModelManifest | null {
  let best: ModelManifest | null = null;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return null;
  }
  for (const n of names) {
    const parsed = parseManifest(readFileSync(path.join(dir, n), 'utf8'));
    if (parsed.ok && (best === null || parsed.manifest.createdAt > best.createdAt)) best = parsed.manifest;
  }
  return best;
}
