import { describe, expect, it } from 'vitest';
import { encodeActiveRuleFiles, parseActiveRuleFiles, pointerOf } from '../../src/rules/versions/active-rule-files.ts';

describe('the stored active rule files (Redis {rules}:active:files)', () => {
  it('round-trips and names the pointer', () => {
    const v = { generation: 7, versionId: 3, files: [{ name: 'a.yaml', text: '- id: x\n' }] };
    expect(parseActiveRuleFiles(encodeActiveRuleFiles(v))).toEqual({ ok: true, value: v });
    expect(pointerOf(v)).toBe('7:3');
  });

  it('says what is wrong with a payload it cannot use', () => {
    const cases: [string, string][] = [
      ['[1]', 'not a JSON object'],
      ['{"generation":0,"versionId":1,"files":[]}', 'generation is not a positive integer'],
      ['{"generation":"2","versionId":1,"files":[]}', 'generation is not a positive integer'],
      ['{"generation":2,"versionId":1.5,"files":[]}', 'versionId is not a positive integer'],
      ['{"generation":2,"versionId":1,"files":{}}', 'files is not a list'],
      ['{"generation":2,"versionId":1,"files":[{"name":"a.yaml","text":"x"},{"name":"b.yaml"}]}', 'files.1 is not {name, text} with two strings'],
    ];
    for (const [text, reason] of cases) expect([text, parseActiveRuleFiles(text)]).toEqual([text, { ok: false, reason }]);
    const notJson = parseActiveRuleFiles('{"generation":');
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.reason.startsWith('not JSON: ')).toBe(true);
  });
});
