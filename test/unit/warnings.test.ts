import { describe, expect, it } from 'vitest';
import { AGE_BANDS, type AgeBand } from '../../src/features/catalogue.ts';
import { SCAM_TYPES } from '../../src/scoring/scam-types.ts';
import { HOLD_NOTICES, WARNING_TEXTS, renderWarning } from '../../src/i18n/render-warning.ts';
import { SUPPORTED_LANGUAGES, pickLanguage, type Language } from '../../src/i18n/language.ts';

const SEGMENTS: readonly (AgeBand | null)[] = [...AGE_BANDS, null];
const ACTIONS = ['warn', 'cool_off'] as const;

/** Spoken length: English words, or characters for Chinese (punctuation included, a pause). */
function spokenLength(lang: Language, s: string): number {
  return lang === 'en' ? s.split(/\s+/).filter(Boolean).length : [...s].length;
}

const cases = SUPPORTED_LANGUAGES.flatMap((lang) =>
  SCAM_TYPES.flatMap((scamType) =>
    SEGMENTS.flatMap((segment) => ACTIONS.map((action) => ({ lang, scamType, segment, action }))),
  ),
);

describe('renderWarning: every scam type × segment × action × language', () => {
  it('covers the whole matrix', () => {
    expect(cases).toHaveLength(2 * 9 * 4 * 2);
  });

  it.each(cases)('$lang $scamType $segment $action', ({ lang, scamType, segment, action }) => {
    const w = renderWarning({ scamType, segment, action, lang, holdMinutes: 15 });
    expect(w.scamType).toBe(scamType);
    for (const field of [w.title, w.message, w.voiceScript]) {
      expect(field.trim().length).toBeGreaterThan(0);
      expect(field).not.toMatch(/[{}]/); // no unreplaced placeholder
      expect(field).not.toMatch(/undefined|null|NaN/);
      expect(field).toBe(field.trim());
      expect(field).not.toMatch(/\s{2,}/);
    }
    // The voice script is spoken: no symbols, URLs or digits beyond the hold minutes.
    expect(w.voiceScript).not.toMatch(/[“”"()（）[\]<>/\\@#%&*_=+|~^`$]|https?:|www\./);
    const spokenDigits = w.voiceScript.replace(/15/g, '');
    expect(spokenDigits).not.toMatch(/\d/);
    expect(spokenLength(lang, w.voiceScript)).toBeLessThanOrEqual(lang === 'en' ? 60 : 120);
    if (action === 'cool_off') {
      expect(w.message).toContain(lang === 'en' ? '15 minutes' : '15分钟');
      expect(w.voiceScript).toContain(lang === 'en' ? '15 minutes' : '15分钟');
    } else {
      expect(w.message).not.toMatch(/\d+ minutes|\d+分钟/);
      expect(w.voiceScript).not.toMatch(/\d/);
    }
    // Segment-specific advice.
    if (segment === 'elderly') {
      expect(w.message).toContain(lang === 'en' ? 'Call a family member before you pay.' : '付款前，先给家人打个电话');
    }
    if (segment === 'minor') {
      expect(w.message).toMatch(lang === 'en' ? /parent or guardian/ : /家长/);
      expect(w.message).not.toContain('您'); // children are addressed as 你
    }
  });

  it('gives adults and payers of unknown age the same standard text', () => {
    for (const lang of SUPPORTED_LANGUAGES) {
      for (const scamType of SCAM_TYPES) {
        for (const action of ACTIONS) {
          expect(renderWarning({ scamType, segment: null, action, lang, holdMinutes: 15 })).toEqual(
            renderWarning({ scamType, segment: 'adult', action, lang, holdMinutes: 15 }),
          );
        }
      }
    }
  });

  it('gives each scam type its own wording', () => {
    for (const lang of SUPPORTED_LANGUAGES) {
      for (const variant of ['standard', 'elderly', 'minor'] as const) {
        const titles = SCAM_TYPES.map((t) => WARNING_TEXTS[lang][t][variant].message);
        expect(new Set(titles).size).toBe(SCAM_TYPES.length);
      }
    }
  });

  it('renders the Chinese impersonation warning exactly', () => {
    expect(
      renderWarning({ scamType: 'impersonation', segment: null, action: 'warn', lang: 'zh', holdMinutes: 15 }),
    ).toEqual({
      title: '风险提醒：对方可能冒充公检法或银行',
      message:
        '对方可能冒充公安、检察院、法院、银行、政府部门或平台工作人员。' +
        '真正的公检法和银行不会要求您把钱转到“安全账户”，不会让您交钱“洗清嫌疑”，也不会要求您保密。' +
        '请立即挂断电话，自行拨打官方电话核实（如银行卡背面的客服电话，或拨打110报警），也可拨打全国反诈专线96110咨询。',
      voiceScript:
        '请注意，这可能是诈骗。公检法和银行不会让您把钱转到安全账户。' +
        '请立即挂断电话，自己拨打官方电话核实，或拨打反诈专线九六幺幺零。',
      scamType: 'impersonation',
    });
  });

  it('appends the hold notice for cool_off, exactly', () => {
    expect(
      renderWarning({ scamType: 'part_time_job', segment: 'elderly', action: 'cool_off', lang: 'en', holdMinutes: 30 }),
    ).toEqual({
      title: 'Stop: real jobs never ask you to pay',
      message:
        'Someone may be offering easy work from home. A real job never asks you to pay first. ' +
        'If they ask you to pay to get your wages, it is a scam. Do not pay. Call a family member before you pay. ' +
        'If you go ahead, the money will wait 30 minutes before it is sent. You can cancel in that time.',
      voiceScript:
        'Stop. A real job never asks you to pay first. This may be a scam. Call a family member before you pay. ' +
        'If you go ahead, the money will wait 30 minutes. You can still cancel.',
      scamType: 'part_time_job',
    });
    expect(
      renderWarning({ scamType: 'fake_refund', segment: 'adult', action: 'cool_off', lang: 'zh', holdMinutes: 15 })
        .voiceScript,
    ).toBe(
      '请注意，真正的客服不会让您转账或共享屏幕来退款。请挂断电话，通过官方渠道联系平台核实。' +
        '如果您确认付款，这笔钱会暂缓15分钟转出，期间可以随时取消。',
    );
  });

  it('says "1 minute" in the singular', () => {
    const w = renderWarning({ scamType: 'other', segment: null, action: 'cool_off', lang: 'en', holdMinutes: 1 });
    expect(w.voiceScript).toBe(
      'Careful. This payment may be a scam. If someone is rushing you or asking you to keep it secret, stop. ' +
        'Check with someone you trust, or call nine six one one zero. ' +
        'If you confirm, the money will be held for 1 minute, and you can still cancel in that time.',
    );
  });

  it('ignores holdMinutes for warn and rejects a hold that is not a positive whole number for cool_off', () => {
    const base = { scamType: 'romance', segment: null, lang: 'en' } as const;
    expect(renderWarning({ ...base, action: 'warn', holdMinutes: 0 })).toEqual(
      renderWarning({ ...base, action: 'warn', holdMinutes: 15 }),
    );
    for (const holdMinutes of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => renderWarning({ ...base, action: 'cool_off', holdMinutes })).toThrow(
        new RangeError(`holdMinutes must be a positive integer for cool_off, got ${holdMinutes}`),
      );
    }
  });

  it('uses {minutes} as the only placeholder, and only in hold notices', () => {
    for (const lang of SUPPORTED_LANGUAGES) {
      for (const scamType of SCAM_TYPES) {
        for (const text of Object.values(WARNING_TEXTS[lang][scamType])) {
          for (const field of Object.values(text)) expect(field).not.toMatch(/[{}]/);
        }
      }
      for (const notice of Object.values(HOLD_NOTICES[lang])) {
        expect(notice.message.match(/\{\w+\}/g)).toEqual(['{minutes}']);
        expect(notice.voiceScript.match(/\{\w+\}/g)).toEqual(['{minutes}']);
      }
    }
  });
});

describe('pickLanguage', () => {
  const table: { accept: string | undefined; explicit: string | undefined; fallback: Language; want: Language }[] = [
    // no information: fallback
    { accept: undefined, explicit: undefined, fallback: 'zh', want: 'zh' },
    { accept: undefined, explicit: undefined, fallback: 'en', want: 'en' },
    { accept: '', explicit: undefined, fallback: 'en', want: 'en' },
    // explicit wins when it is supported
    { accept: 'en-US,en;q=0.9', explicit: 'zh', fallback: 'en', want: 'zh' },
    { accept: 'en', explicit: 'zh-CN', fallback: 'en', want: 'zh' },
    { accept: 'en', explicit: 'zh-Hans', fallback: 'en', want: 'zh' },
    { accept: 'en', explicit: 'zh-Hans-CN', fallback: 'en', want: 'zh' },
    { accept: 'en', explicit: 'zh_CN', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: 'en', fallback: 'zh', want: 'en' },
    { accept: 'zh-CN', explicit: 'EN-us', fallback: 'zh', want: 'en' },
    { accept: 'zh-CN', explicit: ' en ', fallback: 'zh', want: 'en' },
    // invalid or unsupported explicit is ignored
    { accept: 'zh-CN', explicit: 'fr', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: '', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: '*', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: 'english', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: 'en;q=1', fallback: 'en', want: 'zh' },
    { accept: 'zh-CN', explicit: 'en--US', fallback: 'en', want: 'zh' },
    { accept: undefined, explicit: 'de', fallback: 'zh', want: 'zh' },
    // Accept-Language: order and q-values
    { accept: 'zh-CN,zh;q=0.9,en;q=0.8', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'en-US,en;q=0.9,zh-CN;q=0.8', explicit: undefined, fallback: 'zh', want: 'en' },
    { accept: 'zh;q=0.5, en;q=0.7', explicit: undefined, fallback: 'zh', want: 'en' },
    { accept: 'en;q=0.5, zh-TW;q=0.8', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'fr-FR, de;q=0.9, zh;q=0.1', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'EN-GB', explicit: undefined, fallback: 'zh', want: 'en' },
    // equal q: the earlier range wins
    { accept: 'zh;q=0.8, en;q=0.8', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'en, zh', explicit: undefined, fallback: 'zh', want: 'en' },
    // several ranges for one language: its best q counts
    { accept: 'zh-TW;q=0.1, en;q=0.5, zh-CN;q=0.9', explicit: undefined, fallback: 'en', want: 'zh' },
    // q=0 means "not acceptable"
    { accept: 'zh;q=0, en;q=0.1', explicit: undefined, fallback: 'zh', want: 'en' },
    { accept: 'zh;q=0', explicit: undefined, fallback: 'zh', want: 'zh' },
    // wildcards: any language the header does not name, preferring the fallback
    { accept: '*', explicit: undefined, fallback: 'zh', want: 'zh' },
    { accept: '*', explicit: undefined, fallback: 'en', want: 'en' },
    { accept: 'fr, *;q=0.5', explicit: undefined, fallback: 'zh', want: 'zh' },
    { accept: 'en;q=0, *', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'zh;q=0.2, *;q=0.5', explicit: undefined, fallback: 'zh', want: 'en' },
    { accept: '*;q=0.1, zh;q=0.2', explicit: undefined, fallback: 'en', want: 'zh' },
    // unsupported or malformed: fallback, or the next usable range
    { accept: 'fr-FR, de', explicit: undefined, fallback: 'zh', want: 'zh' },
    { accept: 'en;q=abc, zh;q=0.3', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'en;q=1.5, zh;q=0.3', explicit: undefined, fallback: 'en', want: 'zh' },
    { accept: 'zh_CN, en;q=0.2', explicit: undefined, fallback: 'zh', want: 'en' },
    { accept: ';;,,, ,', explicit: undefined, fallback: 'en', want: 'en' },
    { accept: 'en; q=0.5 , zh ; q=0.4', explicit: undefined, fallback: 'zh', want: 'en' },
  ];

  it.each(table)('accept=$accept explicit=$explicit fallback=$fallback → $want', (row) => {
    expect(pickLanguage(row.accept, row.explicit, row.fallback)).toBe(row.want);
  });

  it('reads at most the first 32 ranges of a huge header', () => {
    const header = `${Array.from({ length: 10_000 }, (_, i) => `x${i}`).join(',')},zh`;
    expect(pickLanguage(header, undefined, 'en')).toBe('en');
  });
});
