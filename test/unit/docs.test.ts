/**
 * The manual in docs/ is held to the code, page by page, in both directions where the code has a
 * list: everything the code has is documented, and everything documented is in the code. (The
 * route table is checked against the running server in test/integration/api-doc.test.ts;
 * rule-language.md, features.md and architecture.md have tests of their own.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORTER_TYPES } from '../../src/cases/case-schema.ts';
import { CONFIG_VARIABLES } from '../../src/config.ts';
import { SIGNATURE_HEADER, EVENT_ID_HEADER, TIMESTAMP_HEADER } from '../../src/cooling/webhook-signature.ts';
import { eventType, FINAL_STATES, TRANSFER_STATES } from '../../src/cooling/transfer-states.ts';
import { ERRORS } from '../../src/errors.ts';
import { ContextSchema, PayeeSchema, PayerSchema, TransferEventSchema } from '../../src/features/transfer-event.ts';
import { SCOPES } from '../../src/http/api-keys.ts';
import { GUARDIAN_REASONS } from '../../src/i18n/guardian-notice.ts';
import { GBDT_OPTION_NAMES } from '../../src/cli/gbdt-options.ts';
import { loadRuleDir } from '../../src/rules/language/load-rule-dir.ts';
import { RULE_KEYS } from '../../src/rules/language/rule-file.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import { AUDIT_ACTIONS, VERSION_STATUSES } from '../../src/rules/versions/rule-version-store.ts';
import { SCAM_TYPES } from '../../src/scoring/scam-types.ts';
import { FIELD_COVERAGE } from '../../src/sim/field-coverage.ts';
import { SIM_USAGE } from '../../src/sim/args.ts';
import { DEFAULT_SIM_OPTIONS } from '../../src/sim/types.ts';
import { codeRows, docPages, readDoc, ROOT, section, tableRows, unquote, withoutFences } from '../helpers/markdown.ts';

const page = (name: string): string => readDoc(`docs/${name}`);
const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
/** Every `x` (inline code) of a text, fenced code left out. */
const codeSpans = (text: string): string[] => [...withoutFences(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const everyDoc = (): string => ['README.md', ...docPages()].map(readDoc).join('\n');

/** Source text of the files under a folder (recursively) with the given extensions. */
function sourceText(dir: string, exts: readonly string[]): string {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (exts.some((e) => entry.name.endsWith(e))) out.push(readFileSync(path.join(ROOT, child), 'utf8'));
    }
  };
  walk(dir);
  return out.join('\n');
}

describe('docs/configuration.md', () => {
  const rows = codeRows(page('configuration.md')).map((r) => unquote(r[0]!));

  it('has one row for every variable the configuration reads, and none other', () => {
    expect(sorted(rows)).toEqual(sorted(CONFIG_VARIABLES));
    expect(rows.length).toBe(new Set(rows).size);
  });

  it('every upper-case name the README and the manual put in code is a variable that exists, an error code, a state or a word the page explains', () => {
    const benchAndTests = sourceText('bench', ['.ts']) + sourceText('test', ['.ts']);
    const readByBenchOrTests = (name: string): boolean => new RegExp(`env(?:\\.|\\[')${name}\\b`).test(benchAndTests);
    const known = new Set<string>([...CONFIG_VARIABLES, ...Object.keys(ERRORS), ...TRANSFER_STATES, 'GET', 'POST', 'PUT', 'DELETE']);
    // signals, an npm warning and Redis commands, named as such where they appear
    const words = new Set(['SIGTERM', 'SIGINT', 'SIGKILL', 'EBADENGINE', 'HINCRBY', 'SET']);
    const named = sorted(codeSpans(everyDoc()).flatMap((c) => /^([A-Z][A-Z0-9_]{2,})(?:=\S*)?$/.exec(c)?.[1] ?? []));
    expect(named.length).toBeGreaterThan(100);
    expect(named.filter((n) => !known.has(n) && !words.has(n) && !readByBenchOrTests(n))).toEqual([]);
  });
});

describe('docs/api.md', () => {
  const api = page('api.md');

  it('lists every error code with its status, and no code the registry lacks', () => {
    const rows = codeRows(section(api, '## Errors')).map((r) => `${unquote(r[0]!)} ${r[1]}`);
    expect(sorted(rows)).toEqual(sorted(Object.entries(ERRORS).map(([code, def]) => `${code} ${def.status}`)));
  });

  it("names every field of the transfer event on the score route, and only the event's fields", () => {
    const score = section(api, '## The score route');
    const fields = [
      ...Object.keys(TransferEventSchema.shape).filter((k) => k !== 'payer' && k !== 'payee'),
      ...Object.keys(PayerSchema.shape).map((k) => `payer.${k}`),
      ...Object.keys(PayeeSchema.shape).map((k) => `payee.${k}`),
      ...Object.keys(ContextSchema.shape),
    ];
    const spans = new Set(codeSpans(score));
    expect(fields.filter((f) => !spans.has(f))).toEqual([]);
    const named = [...spans].filter((s) => /^(payer|payee)\.[a-z][A-Za-z]*$/.test(s));
    expect(named.filter((n) => !fields.includes(n))).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('names every API key scope, and only those', () => {
    const keys = section(page('operations.md'), '## API keys');
    const listed = /Scopes: (.*?)\(everything\)/s.exec(keys)![1]!;
    expect(sorted(codeSpans(listed))).toEqual(sorted(SCOPES));
  });
});

describe('README and manual name every npm script, and only scripts that exist', () => {
  const scripts = Object.keys((JSON.parse(readDoc('package.json')) as { scripts: Record<string, string> }).scripts);
  const command = (s: string): string => (s === 'start' || s === 'test' ? `npm ${s}` : `npm run ${s}`);

  it('every script is in the commands table of development.md', () => {
    const table = codeRows(section(page('development.md'), '## Commands')).map((r) => unquote(r[0]!));
    expect(sorted(table)).toEqual(sorted(scripts.map(command)));
  });

  it('every `npm run X` anywhere names a script', () => {
    const docs = [...everyDoc().matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]!);
    expect(docs.length).toBeGreaterThan(30);
    expect(sorted(docs.filter((d) => !scripts.includes(d)))).toEqual([]);
  });
});

describe('docs/rules.md', () => {
  const rules = page('rules.md');

  it("shows a rule that loads, with every key a rule may have named on the page or in rule-language.md's list", async () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(section(rules, '## Writing a rule'))![1]!;
    const r = compileRuleSetFromText([{ name: 'example.yaml', text: example }]);
    expect(r.ok ? r.ruleSet.rules.map((x) => x.id) : r.errors).toEqual(['elderly-new-payee-large']);
    expect(page('rule-language.md')).toContain(`the keys are ${RULE_KEYS.join(', ')}`);
  });

  it('counts the default rule set as it is', async () => {
    const r = await loadRuleDir(path.join(ROOT, 'rules'));
    const count = Number(/The default set \((\d+) rules in `rules\/`\)/.exec(rules)![1]);
    expect(r.ok ? r.ruleSet.rules.length : r.errors).toBe(count);
  });

  it('names every version status and every audit action, in the order of the code', () => {
    const versions = section(rules, '## Rule versions, review and rollback');
    const statuses = /its status \(([^)]*)\)/.exec(versions)![1]!;
    expect(codeSpans(statuses)).toEqual([...VERSION_STATUSES]);
    const actions = /in the audit trail \(`GET \/v1\/rules\/audit`\): (.*?), each with who/s.exec(versions)![1]!;
    expect(codeSpans(actions)).toEqual([...AUDIT_ACTIONS]);
  });
});

describe('docs/cooling-off.md', () => {
  const cooling = page('cooling-off.md');

  it('draws every transfer state, and only those', () => {
    const diagram = /```\n(score ─►[\s\S]*?)```/.exec(cooling)![1]!;
    expect(sorted(diagram.match(/\b[A-Z][A-Z_]{3,}\b/g)!.filter((w) => !w.endsWith('_SECONDS') && !w.endsWith('_AT')))).toEqual(sorted(TRANSFER_STATES));
  });

  it('lists the webhook type of every state a transition reaches after a warning, and only those', () => {
    const types = /Types: (.*?)\. Delivery/s.exec(cooling)![1]!;
    const afterWarning = TRANSFER_STATES.filter((s) => s === 'WARNED' || s === 'COOLING_OFF' || s === 'HELD_FOR_REVIEW' || (FINAL_STATES.has(s) && s !== 'ALLOWED' && s !== 'BLOCKED'));
    expect(sorted(codeSpans(types))).toEqual(sorted(afterWarning.map(eventType)));
  });

  it("names the signature's headers as the code sends them", () => {
    for (const header of [SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_ID_HEADER]) expect(cooling).toContain(`\`${header}`);
  });
});

describe('docs/protection.md', () => {
  it('names every reason a guardian limit blocks with, and only those', () => {
    const limits = section(page('protection.md'), '## Guardian limits');
    expect(sorted(codeSpans(limits).filter((c) => c.startsWith('guardian_limit')))).toEqual(sorted(GUARDIAN_REASONS));
  });
});

describe('docs/cases.md', () => {
  const report = section(page('cases.md'), '## Reporting a scam');

  it('names every scam type and reporter type, and only those', () => {
    const scamTypes = /engine's scam\s+types \(([^)]*)\)/.exec(report)![1]!;
    expect(sorted(codeSpans(scamTypes))).toEqual(sorted(SCAM_TYPES));
    const reporters = /`reporter\.type` is (.*?);/.exec(report)![1]!;
    expect(sorted(codeSpans(reporters))).toEqual(sorted(REPORTER_TYPES));
  });
});

describe('docs/simulator.md', () => {
  const sim = page('simulator.md');

  it('lists every option of `npm run sim` with its default, and only those', () => {
    const options = /^Options: ([\s\S]*?)\. Each line/m.exec(sim)![1]!;
    const documented = codeSpans(options).filter((c) => c.startsWith('--'));
    expect(sorted(documented)).toEqual(sorted(SIM_USAGE.match(/--[a-z-]+/g)!));
    const d = DEFAULT_SIM_OPTIONS;
    for (const shown of [
      `\`--payers\` (${d.payers.toLocaleString('en-US')})`,
      `\`--days\` (${d.days})`,
      `\`--seed\` (${d.seed})`,
      `\`--start\` (\`${d.start}\``,
      `\`--fraud-rate\` (${d.fraudRate}`,
      `\`--optional-fields\` (\`${d.optionalFields}\``,
    ]) {
      expect(options).toContain(shown);
    }
  });

  it('gives the shares of optional fields left out that the simulator uses', () => {
    const pct = (x: number): string => `${Math.round(x * 100)}%`;
    const c = FIELD_COVERAGE;
    const rows = new Map(tableRows(sim).map((r) => [r[0]!, r[1]!]));
    expect([
      rows.get('everything optional but `channel` (birth year, account date, device, time zone, context)'),
      rows.get('`context` (call, screen sharing, pasted payee, new device, memo)'),
      rows.get('`payer.birthYear`'),
      rows.get('`payer.accountCreatedAt`'),
      rows.get('`payer.deviceId`'),
      rows.get('`payer.timeZone`'),
      rows.get('`payee.accountCreatedAt`'),
    ]).toEqual([
      `${pct(c.payerBackend.minimal)} of payers`,
      `${pct(c.payerBackend.noSessionSignals)} more payers`,
      `${pct(c.payerBirthYearAbsent)} of the other payers`,
      `${pct(c.payerAccountCreatedAbsent)} of the other payers`,
      `${pct(c.payerDeviceAbsent)} of the other payers; on the web channel ${c.webDeviceAbsent === 0.5 ? 'half' : pct(c.webDeviceAbsent)} of the rest`,
      `${pct(c.payerTimeZoneAbsent)} of the other payers`,
      `${pct(c.payeeAccountCreatedAbsent)} of payees`,
    ]);
  });
});

describe('docs/model.md and docs/replay.md', () => {
  it('name every trainer option of `npm run train` and `npm run replay`', () => {
    for (const name of ['model.md', 'replay.md']) {
      const spans = new Set(codeSpans(page(name)));
      expect([name, GBDT_OPTION_NAMES.filter((o) => !spans.has(`--${o}`))]).toEqual([name, []]);
    }
  });

  it('name only options some command accepts', () => {
    const cli = sourceText('src/cli', ['.ts']) + sourceText('src/sim', ['.ts']);
    for (const name of ['model.md', 'replay.md', 'simulator.md', 'rules.md', 'cases.md', 'protection.md']) {
      const options = sorted(codeSpans(page(name)).flatMap((c) => [...c.matchAll(/(?:^|\s|\[)--([a-z][a-z-]*)/g)].map((m) => m[1]!)));
      expect([name, options.filter((o) => !cli.includes(`'${o}'`) && !cli.includes(`--${o}`))]).toEqual([name, []]);
    }
  });
});

describe('every page names only src/ paths that exist', () => {
  it('README and docs', () => {
    const named = [...everyDoc().matchAll(/src\/[\w./-]*[\w/]/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(10);
    expect(sorted(named.filter((p) => !existsSync(path.join(ROOT, p))))).toEqual([]);
  });
});
