import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FEATURE_COUNT, idx } from '../../src/features/catalogue.ts';
import { SCAM_TYPES } from '../../src/scoring/scam-types.ts';
import { loadRuleDir } from '../../src/rules/language/load-rule-dir.ts';
import { formatRuleError } from '../../src/rules/language/rule-error.ts';
import { compileRuleSetFromText, ruleSetVersion, WHOLE_SET, type RuleSet } from '../../src/rules/language/rule-set.ts';
import { vector } from './rules-fixtures.ts';

const DEFAULT_RULES_DIR = new URL('../../rules', import.meta.url).pathname;

function compile(text: string, name = 'r.yaml') {
  return compileRuleSetFromText([{ name, text }]);
}

function ruleSet(...files: { name: string; text: string }[]): RuleSet {
  const r = compileRuleSetFromText(files);
  if (!r.ok) throw new Error(r.errors.map(formatRuleError).join('\n'));
  return r.ruleSet;
}

const rule = (id: string, when: string, extra = '') =>
  `- id: ${id}\n  description: ${id} fired\n  when: ${when}\n  score: 10\n${extra}`;

const err = (line: number, column: number, message: string, ruleId: string | null = 'x', file = 'r.yaml') => ({
  file,
  ruleId,
  line,
  column,
  message,
});

describe('positions of expression errors in the file', () => {
  const unknown = "unknown feature 'payer.agee' (did you mean 'payer.age'?)";

  test.each([
    ['plain', '  when: amount > 1 and payer.agee > 1', 3, 24],
    ['single-quoted with a doubled quote', "  when: 'channel == ''app'' and payer.agee > 1'", 3, 33],
    ['double-quoted with an escape', '  when: "channel == \\"app\\" and payer.agee > 1"', 3, 33],
    ['plain over two lines', '  when: amount > 1\n    and payer.agee > 1', 4, 9],
    ['literal block', '  when: |\n    amount > 1\n      and payer.agee > 1', 5, 11],
    ['folded block with a comment on the header', '  when: >- # the condition\n    amount > 1\n    and payer.agee > 1', 5, 9],
    ['on the next line', '  when:\n    amount > 1 and payer.agee > 1', 4, 20],
  ])('%s', (_, whenLines, line, column) => {
    const text = `- id: x\n  description: d\n${whenLines}\n  score: 1\n`;
    expect(compile(text)).toEqual({ ok: false, errors: [err(line, column, unknown)] });
  });

  test('the end of an expression', () => {
    expect(compile('- id: x\n  description: d\n  when: "amount >"\n  score: 1\n')).toEqual({
      ok: false,
      errors: [err(3, 18, 'expected an expression, found end of expression')],
    });
  });

  test('whenLocation of a valid rule', () => {
    const rs = ruleSet({ name: 'r.yaml', text: '- id: x\n  description: d\n  when: >-\n    amount > 1\n  score: 1\n' });
    expect([rs.rules[0]!.location, rs.rules[0]!.whenLocation]).toEqual([
      { file: 'r.yaml', line: 1, column: 3 },
      { file: 'r.yaml', line: 4, column: 5 },
    ]);
  });
});

describe('rule file structure', () => {
  test('YAML syntax errors carry line and column', () => {
    expect(compile('- id: x\n  description: [unclosed\n  when: amount > 1\n')).toEqual({
      ok: false,
      errors: [err(3, 3, 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]', null)],
    });
    expect(compile('- id: x\n  id: y\n')).toEqual({ ok: false, errors: [err(2, 3, 'YAML: Map keys must be unique', null)] });
  });

  test('unknown keys (with a suggestion), missing keys and bad values are all reported, in file order', () => {
    const text = [
      '- id: x',
      '  description: ""',
      '  when: amount > 1 and payer.agee > 1',
      '  scor: 30',
      '  action: blok',
      '  scam_type: romanse',
      '  mode: dark',
      '  description_zh: 5',
      '- id: Bad_Id',
      '  description: d',
      '  when: true',
      '  score: "30"',
      '- description: no id',
      '  when: amount > 1',
      '  score: 101',
      '- just a string',
    ].join('\n');
    const keys = 'id, description, description_zh, when, score, action, scam_type, mode';
    expect(compile(text)).toEqual({
      ok: false,
      errors: [
        err(1, 3, "missing required key 'score'"),
        err(2, 16, 'description must be a non-empty text, got ""'),
        err(3, 24, "unknown feature 'payer.agee' (did you mean 'payer.age'?)"),
        err(4, 3, `unknown key 'scor' (did you mean 'score'?); the keys are ${keys}`),
        err(5, 11, `action must be one of allow, warn, cool_off, block, got "blok" (did you mean 'block'?)`),
        err(6, 14, `scam_type must be one of ${SCAM_TYPES.join(', ')}, got "romanse" (did you mean 'romance'?)`),
        err(7, 9, 'mode must be active or shadow, got "dark"'),
        err(8, 19, 'description_zh must be a non-empty text, got 5'),
        err(9, 7, `id must be kebab-case (lower-case letters and digits joined by single '-', at most 100 characters), got "Bad_Id"`, 'Bad_Id'),
        err(12, 10, 'score must be a number from 0 to 100, got "30"', 'Bad_Id'),
        err(13, 3, "missing required key 'id'", null),
        err(15, 10, 'score must be a number from 0 to 100, got 101', null),
        err(16, 3, 'a rule must be a mapping with the keys id, description, when, score, action, scam_type', null),
      ],
    });
  });

  test('a rule key that is a list or a mapping', () => {
    expect(compile('- id: x\n  description: [a, b]\n  when: {a: 1}\n  score: 1\n')).toEqual({
      ok: false,
      errors: [err(2, 16, 'description must be a single value, not a list'), err(3, 9, 'when must be a single value, not a mapping')],
    });
  });

  test('top level: a list, {rules: [...]}, an empty file; anything else is an error', () => {
    const inList = ruleSet({ name: 'a.yaml', text: rule('a', 'amount > 1') });
    const inMap = ruleSet({ name: 'a.yaml', text: `rules:\n${rule('a', 'amount > 1').replace(/^/gm, '  ')}` });
    const empty = ruleSet({ name: 'a.yaml', text: '# nothing yet\n' });
    expect([inList.rules.map((r) => r.id), inMap.rules.map((r) => r.id), empty.rules.length]).toEqual([['a'], ['a'], 0]);
    expect(compile('rulez: []\n')).toEqual({
      ok: false,
      errors: [
        err(1, 1, "unknown key 'rulez' at the top of a rule file (did you mean 'rules'?)", null),
        err(1, 1, "a rule file is a list of rules, or a mapping with a 'rules' list", null),
      ],
    });
    expect(compile('just text\n')).toEqual({
      ok: false,
      errors: [err(1, 1, "a rule file is a list of rules, or a mapping with a 'rules' list", null)],
    });
  });

  test('defaults: action allow, scam_type other, mode active, no Chinese reason', () => {
    const rs = ruleSet({ name: 'a.yaml', text: rule('a', 'true') });
    expect(rs.evaluate(vector()).hits).toEqual([
      { ruleId: 'a', score: 10, action: 'allow', scamType: 'other', mode: 'active', reason: 'a fired', reasonZh: null },
    ]);
  });

  test('`when: true` (a YAML boolean) is the expression true', () => {
    expect(ruleSet({ name: 'a.yaml', text: rule('a', 'true') }).rules[0]!.when).toBe('true');
  });
});

describe('across files', () => {
  test('duplicate ids are reported at the second definition, naming the first', () => {
    const r = compileRuleSetFromText([
      { name: 'b.yaml', text: `${rule('dup', 'amount > 2')}` },
      { name: 'a.yaml', text: `${rule('one', 'amount > 0')}${rule('dup', 'amount > 1')}` },
    ]);
    expect(r).toEqual({
      ok: false,
      errors: [err(1, 7, "duplicate rule id 'dup'; it is first defined in a.yaml at line 5", 'dup', 'b.yaml')],
    });
  });

  test('rules are in file-name order, then file order', () => {
    const rs = ruleSet(
      { name: 'b.yaml', text: rule('b1', 'true') + rule('b2', 'true') },
      { name: 'a.yml', text: rule('a1', 'true') },
    );
    expect(rs.evaluate(vector()).hits.map((h) => h.ruleId)).toEqual(['a1', 'b1', 'b2']);
  });

  test('the version: files- and 12 hex digits of the sorted files; content decides, order does not', () => {
    const a = { name: 'a.yaml', text: rule('a', 'true') };
    const b = { name: 'b.yaml', text: rule('b', 'true') };
    const v1 = ruleSet(a, b).version;
    expect(v1).toMatch(/^files-[0-9a-f]{12}$/);
    expect([ruleSet(b, a).version, ruleSetVersion([b, a])]).toEqual([v1, v1]);
    expect(ruleSet(a, { ...b, text: b.text + '# edited\n' }).version).not.toBe(v1);
  });

  test('errors of many files are capped at 50, the last saying how many there were', () => {
    const files = Array.from({ length: 30 }, (_, i) => ({
      name: `f${String(i).padStart(2, '0')}.yaml`,
      text: rule(`r${i}`, 'nope > 1 and nada > 2'),
    }));
    const r = compileRuleSetFromText(files);
    if (r.ok) throw new Error('expected errors');
    expect(r.errors.length).toBe(50);
    expect(r.errors[0]).toEqual(err(3, 9, "unknown feature 'nope'", 'r0', 'f00.yaml'));
    expect(r.errors[49]).toEqual(err(3, 22, 'too many errors (60); only the first 49 are listed', 'r24', 'f24.yaml'));
  });
});

describe('evaluate', () => {
  const rs = ruleSet({
    name: 'r.yaml',
    text:
      rule('big', 'amount >= 10_000', '  action: warn\n  scam_type: investment\n  description_zh: 大额\n') +
      rule('old', 'payer.age >= 60', '  mode: shadow\n') +
      rule('on-call', 'context.on_call'),
  });

  test('hits in rule order, with the reason texts; missing never fires', () => {
    expect(rs.evaluate(vector({ amount: 20_000, 'payer.age': 70, 'context.on_call': null }))).toEqual({
      hits: [
        { ruleId: 'big', score: 10, action: 'warn', scamType: 'investment', mode: 'active', reason: 'big fired', reasonZh: '大额' },
        { ruleId: 'old', score: 10, action: 'allow', scamType: 'other', mode: 'shadow', reason: 'old fired', reasonZh: null },
      ],
      errors: [],
    });
  });

  test('a vector of the wrong length is a bug and throws', () => {
    expect(() => rs.evaluate([1, 2, 3])).toThrow(`rule set: a feature vector has ${FEATURE_COUNT} values, got 3`);
  });

  test('if the compiled function throws, rules are evaluated one by one and the failure is reported', () => {
    const v = vector({ amount: 20_000, 'context.on_call': true });
    Object.defineProperty(v, idx('payer.age'), {
      get() {
        throw new Error('boom');
      },
    });
    expect(rs.evaluate(v)).toEqual({
      hits: [
        { ruleId: 'big', score: 10, action: 'warn', scamType: 'investment', mode: 'active', reason: 'big fired', reasonZh: '大额' },
        { ruleId: 'on-call', score: 10, action: 'allow', scamType: 'other', mode: 'active', reason: 'on-call fired', reasonZh: null },
      ],
      errors: [{ ruleId: 'old', message: 'rule failed to evaluate: boom' }],
    });
  });

  test('a failure that no single rule reproduces is still reported', () => {
    const v = vector({ 'payer.age': 70 });
    let reads = 0;
    Object.defineProperty(v, idx('payer.age'), {
      get() {
        reads++;
        if (reads === 1) throw new Error('transient');
        return 70;
      },
    });
    expect(rs.evaluate(v)).toEqual({
      hits: [{ ruleId: 'old', score: 10, action: 'allow', scamType: 'other', mode: 'shadow', reason: 'old fired', reasonZh: null }],
      errors: [{ ruleId: WHOLE_SET, message: 'the compiled rule set failed and was evaluated rule by rule: transient' }],
    });
  });
});

describe('loadRuleDir', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  test('reads *.yaml and *.yml, skipping other files, dot files and directories', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'calmpay-rules-'));
    await writeFile(path.join(dir, 'b.yml'), rule('b', 'true'));
    await writeFile(path.join(dir, 'a.yaml'), rule('a', 'true'));
    await writeFile(path.join(dir, 'notes.txt'), 'not rules');
    await writeFile(path.join(dir, '.#a.yaml'), 'editor lock file: [');
    await mkdir(path.join(dir, 'sub.yaml'));
    const r = await loadRuleDir(dir);
    expect(r.ok && [r.ruleSet.rules.map((x) => x.id), r.ruleSet.files.map((f) => f.name)]).toEqual([
      ['a', 'b'],
      ['a.yaml', 'b.yml'],
    ]);
  });

  test('a missing directory is an error without a file', async () => {
    const missing = path.join(tmpdir(), 'calmpay-no-such-dir-4711');
    expect(await loadRuleDir(missing)).toEqual({
      ok: false,
      errors: [
        {
          file: null,
          ruleId: null,
          line: 0,
          column: 0,
          message: `cannot read the rule directory ${missing}: ENOENT: no such file or directory, scandir '${missing}'`,
        },
      ],
    });
  });
});

describe('the default rule set in rules/', () => {
  test('loads without error: at least 18 rules, each with both reasons', async () => {
    const r = await loadRuleDir(DEFAULT_RULES_DIR);
    if (!r.ok) throw new Error(r.errors.map(formatRuleError).join('\n'));
    const rules = r.ruleSet.rules;
    expect(rules.length).toBeGreaterThanOrEqual(18);
    expect(rules.filter((x) => x.descriptionZh === null || x.description.length < 10).map((x) => x.id)).toEqual([]);
    expect(rules.filter((x) => x.action === 'block').map((x) => x.id)).toEqual([
      'payee-reported-by-many',
      'remote-access-on-call-new-payee',
    ]);
  });

  const scenarios: [string, Record<string, number | boolean | string | null>, string[]][] = [
    ['an ordinary payment to a known payee', { amount: 200, 'payee.paid_before_count': 12, 'payee.days_since_first_paid': 400 }, []],
    [
      'an elderly payer on a call sends 48,000 to a new payee from a new device',
      {
        amount: 48_000,
        'payer.age': 76,
        'payer.age_band': 'elderly',
        'payee.first_seen': true,
        'context.on_call': true,
        'context.new_device': true,
        'context.payee_pasted': true,
      },
      ['first-large-transfer-new-payee', 'elderly-new-payee-large', 'elderly-on-call', 'new-device-on-call', 'pasted-payee-on-call'],
    ],
    [
      'screen sharing during a call to a new payee',
      { amount: 3_000, 'context.remote_access': true, 'context.on_call': true, 'payee.first_seen': true },
      ['remote-access-during-payment', 'remote-access-on-call-new-payee'],
    ],
    [
      'a payee reported by three people today, who passes money straight on',
      {
        amount: 900,
        'payee.report_count': 4,
        'payee.distinct_reporters': 3,
        'payee.hours_since_last_report': 2,
        'payee.reports_1d': 3,
        'payee.reports_7d': 4,
        'payee.reports_28d': 4,
        'payee.reports_decayed': 3.9,
        'payee.report_weight': 3.9,
        'payee.pass_through_24h': 0.95,
        'payee.in_sum_24h': 80_000,
      },
      ['payee-reported-by-many', 'payee-reported', 'payee-reported-recently', 'payee-reported-lightly', 'payee-reported-ever', 'pass-through-payee'],
    ],
    [
      'a busy merchant reported once, two months ago (issue 16: no longer held)',
      {
        amount: 120,
        'payee.report_count': 1,
        'payee.distinct_reporters': 1,
        'payee.hours_since_last_report': 1_440,
        'payee.reports_1d': 0,
        'payee.reports_7d': 0,
        'payee.reports_28d': 0,
        'payee.reports_decayed': 0.003,
        'payee.report_weight': 0.0001,
        'payee.paid_before_count': 5,
        'payee.days_since_first_paid': 200,
      },
      // only the shadow rule of the earlier behaviour, which never changes a decision
      ['payee-reported-ever'],
    ],
    [
      'a payee with no other traffic reported once an hour ago',
      { amount: 800, 'payee.report_count': 1, 'payee.distinct_reporters': 1, 'payee.hours_since_last_report': 1, 'payee.reports_1d': 1, 'payee.reports_7d': 1, 'payee.reports_28d': 1, 'payee.reports_decayed': 0.996, 'payee.report_weight': 0.996, 'payee.paid_before_count': 2, 'payee.days_since_first_paid': 30 },
      ['payee-reported-recently', 'payee-reported-lightly', 'payee-reported-ever'],
    ],
    ['an amount just under 50,000', { amount: 49_990, 'payee.paid_before_count': 3 }, ['amount-just-under-50k']],
  ];

  /** An adult's ordinary afternoon payment from a long-standing account and device. */
  const ORDINARY = {
    amount: 200,
    channel: 'app',
    hour_of_day: 14,
    'payer.age': 41,
    'payer.age_band': 'adult',
    'payer.account_age_days': 2_400,
    'payee.account_age_days': 1_800,
    'context.new_device': false,
    'context.on_call': false,
    'context.remote_access': false,
    'context.payee_pasted': false,
    'payer.out_count_1h': 0,
    'payer.out_count_24h': 1,
    'payer.out_sum_24h': 150,
    'payer.avg_amount_30d': 250,
    'payer.amount_to_avg_30d': 0.8,
    'payer.seconds_since_last': 20_000,
    'payer.distinct_payees_24h': 1,
    'device.new_for_payer': false,
    'device.distinct_payers_24h': 1,
  };

  test.each(scenarios)('%s', async (_, features, want) => {
    const r = await loadRuleDir(DEFAULT_RULES_DIR);
    if (!r.ok) throw new Error('default rules do not load');
    const v = vector({ ...ORDINARY, ...features });
    expect(r.ruleSet.evaluate(v)).toEqual({
      hits: want.map((id) => {
        const def = r.ruleSet.rules.find((x) => x.id === id)!;
        return {
          ruleId: id,
          score: def.score,
          action: def.action,
          scamType: def.scamType,
          mode: def.mode,
          reason: def.description,
          reasonZh: def.descriptionZh,
        };
      }),
      errors: [],
    });
  });
});
