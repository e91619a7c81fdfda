/**
 * The README is the front door (issue 18): short, the two commands, one example, and links to
 * every page of the manual; and no relative link of the README, the manual or the run logs in
 * bench/results/ points at a file or an anchor that is not there.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTransferEvent } from '../../src/features/transfer-event.ts';
import { anchors, docPages, linkTargets, readDoc, ROOT, section, slug } from '../helpers/markdown.ts';

const readme = readDoc('README.md');

/** Every Markdown file whose links are checked. */
function linkedFiles(): string[] {
  const runLogs = readdirSync(path.join(ROOT, 'bench/results'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `bench/results/${f}`);
  return ['README.md', ...docPages(), ...runLogs];
}

/** What is wrong with one relative link of `from`, or null. */
function brokenLink(from: string, target: string): string | null {
  if (/^[a-z]+:/i.test(target)) return null; // https:, mailto:
  const [file, anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = file === '' ? from : path.posix.normalize(path.posix.join(path.posix.dirname(from), decodeURIComponent(file)));
  if (resolved.startsWith('..') || !existsSync(path.join(ROOT, resolved))) return `${from}: ${target} (no file ${resolved})`;
  if (anchor === undefined) return null;
  if (statSync(path.join(ROOT, resolved)).isDirectory() || !resolved.endsWith('.md')) return `${from}: ${target} (an anchor into a non-Markdown file)`;
  return anchors(readDoc(resolved)).has(anchor) ? null : `${from}: ${target} (no heading #${anchor} in ${resolved})`;
}

describe('the README', () => {
  it('is a front door of at most 300 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('gives the two commands that do the whole set-up and run the tests', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('links every page of the manual', () => {
    const linked = new Set(linkTargets(readme).map((t) => t.split('#')[0]));
    expect(docPages().filter((p) => !linked.has(p))).toEqual([]);
  });

  it("shows an example whose request is a valid transfer event and whose reply is the example's decision", () => {
    const example = section(readme, '### Example');
    // the shell puts the current time where the example calls `date` (occurredAt has a 30-day window)
    const request = /-d '(\{[\s\S]*?\})'/.exec(example)?.[1]?.replace(`'"$(date -u +%FT%TZ)"'`, new Date().toISOString());
    const parsed = parseTransferEvent(JSON.parse(request!));
    expect(parsed.success).toBe(true);
    const reply = JSON.parse(/```json\n([\s\S]*?)```/.exec(example)![1]!) as { transferId: string; action: string };
    expect(reply.transferId).toBe(parsed.success ? parsed.data.transferId : null);
    expect(['allow', 'warn', 'cool_off', 'block']).toContain(reply.action);
  });
});

describe('links of the README, docs/ and bench/results/', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('After a warning: confirm, cancel, the cooling-off hold')).toBe('after-a-warning-confirm-cancel-the-cooling-off-hold');
    expect(slug('Is the protection fair?')).toBe('is-the-protection-fair');
    expect(slug('`npm run bench` (the `hot` mix)')).toBe('npm-run-bench-the-hot-mix');
    expect(slug('Rule versions, review and rollback')).toBe('rule-versions-review-and-rollback');
    expect([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')]).toEqual(['a', 'b', 'b-1']);
  });

  it('resolve: every relative link names a file that exists, and every #anchor a heading of it', () => {
    const files = linkedFiles();
    expect(files.length).toBeGreaterThan(15);
    const broken = files.flatMap((f) => linkTargets(readDoc(f)).map((t) => brokenLink(f, t))).filter((b) => b !== null);
    expect(broken).toEqual([]);
  });

  it('finds broken links and anchors', () => {
    expect(brokenLink('README.md', 'docs/nowhere.md')).toContain('no file');
    expect(brokenLink('README.md', 'docs/api.md#no-such-heading')).toContain('no heading');
    expect(brokenLink('docs/api.md', '../README.md#example')).toBeNull();
    expect(brokenLink('docs/api.md', '#routes')).toBeNull();
  });
});
