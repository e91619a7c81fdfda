/**
 * Just enough Markdown for the tests that hold the README and docs/ to the code: headings and
 * their GitHub anchors, relative links, table rows and sections, all outside fenced code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** A file of the repository as text, by its path from the root. */
export function readDoc(rel: string): string {
  return readFileSync(path.join(ROOT, rel), 'utf8');
}

/** Every page of the manual, as `docs/<name>.md`. */
export function docPages(): string[] {
  return readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
}

/** The text with fenced code blocks blanked (line count kept), so their `#` lines and links do not count. */
export function withoutFences(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

/** GitHub's anchor of a heading: link and code marks dropped, lower case, punctuation but `_` and `-` removed, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a page offers: one per heading, a repeated one numbered `-1`, `-2`… as GitHub does. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Link targets outside code (fenced or inline), in order. */
export function linkTargets(text: string): string[] {
  const prose = withoutFences(text).replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

/** The text from a heading (exact line) to the next heading of the same or a higher level. */
export function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const prose = withoutFences(text).split('\n');
  const start = prose.indexOf(heading);
  if (start < 0) throw new Error(`no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)![0].length;
  const end = prose.findIndex((l, i) => i > start && /^#+\s/.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The cells of every table row whose first cell is code (`| \`x\` | … |`), trimmed. */
export function codeRows(text: string): string[][] {
  return tableRows(text).filter((cells) => cells[0]!.startsWith('`'));
}

/** The cells of every table row (header rows too, not the `|---|` lines), trimmed. */
export function tableRows(text: string): string[][] {
  return [...withoutFences(text).matchAll(/^\|(?!-).*\|\s*$/gm)].map((m) =>
    m[0]
      .trim()
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim()),
  );
}

/** `x` → x */
export function unquote(cell: string): string {
  return cell.replace(/^`(.*)`$/, '$1');
}
