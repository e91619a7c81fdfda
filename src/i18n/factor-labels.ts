import { featureSpec, WINDOWS } from '../features/catalogue.ts';
import type { Language } from './warnings.ts';

/**
 * Short names of the model's features for factor phrases, in English and Simplified Chinese.
 * English is derived from the catalogue description (parenthetical notes and the trailing
 * "before this one" dropped), so a new feature gets a phrase without an edit here; Chinese
 * needs an entry (a unit test checks every model feature has one), and falls back to the
 * English phrase until it has.
 */

const WINDOW_ZH: Readonly<Record<string, string>> = { '1h': '1小时', '24h': '24小时', '7d': '7天', '30d': '30天' };

const ZH: Readonly<Record<string, string>> = {
  amount: '转账金额',
  hour_of_day: '付款人当地时间（时）',
  'payer.age': '付款人年龄',
  'payer.age_band': '付款人年龄段',
  'payer.account_age_days': '付款人账户注册天数',
  'payee.account_age_days': '收款人账户注册天数',
  'context.new_device': '付款人使用新设备',
  'context.on_call': '付款时正在通话',
  'context.remote_access': '付款时开启了远程控制或屏幕共享',
  'context.payee_pasted': '收款账户是粘贴输入的',
  'payer.avg_amount_30d': '付款人近30天平均转账金额',
  'payer.amount_to_avg_30d': '本笔金额是付款人30天平均金额的倍数',
  'payer.seconds_since_last': '距付款人上一笔转账的秒数',
  'payer.distinct_payees_24h': '付款人近24小时转给的不同收款人数',
  'payee.first_seen': '首次向该收款人转账',
  'payee.paid_before_count': '此前向该收款人转账的次数',
  'payee.days_since_first_paid': '距首次向该收款人转账的天数',
  'payee.out_sum_1h': '收款人近1小时转出金额',
  'payee.out_sum_24h': '收款人近24小时转出金额',
  'payee.pass_through_24h': '收款人24小时内资金转出比例',
  'payee.distinct_payers_24h': '收款人近24小时的不同付款人数',
  'payee.new_payers_24h': '收款人近24小时新增付款人数',
  'device.new_for_payer': '付款人首次使用该设备',
  'device.distinct_payers_24h': '该设备近24小时的不同付款人数',
  'payee.report_count': '收款人被举报次数',
  'payee.distinct_reporters': '举报该收款人的不同用户数',
  'payee.hours_since_last_report': '距收款人最近一次被举报的小时数',
  ...Object.fromEntries(
    WINDOWS.flatMap((w) => [
      [`payer.out_count_${w.suffix}`, `付款人近${WINDOW_ZH[w.suffix]}转出笔数`],
      [`payer.out_sum_${w.suffix}`, `付款人近${WINDOW_ZH[w.suffix]}转出金额`],
      [`payee.in_count_${w.suffix}`, `收款人近${WINDOW_ZH[w.suffix]}收款笔数`],
      [`payee.in_sum_${w.suffix}`, `收款人近${WINDOW_ZH[w.suffix]}收款金额`],
    ]),
  ),
};

const VALUE_ZH: Readonly<Record<string, string>> = { minor: '未成年', adult: '成年', elderly: '老年' };

/** The English phrase derived from a catalogue description. */
export function englishLabel(description: string): string {
  return description
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/,\s*before this (one|transfer)$/, '')
    .trim();
}

/** Whether `feature` has its own Chinese name (else factorLabel falls back to English). */
export function hasChineseLabel(feature: string): boolean {
  return Object.prototype.hasOwnProperty.call(ZH, feature);
}

export function factorLabel(feature: string, lang: Language): string {
  if (lang === 'zh' && hasChineseLabel(feature)) return ZH[feature]!;
  const spec = featureSpec(feature);
  return spec ? englishLabel(spec.description) : feature;
}

/** A closed-set string value (payer.age_band) as words. */
export function valueLabel(_feature: string, value: string, lang: Language): string {
  return lang === 'zh' ? (VALUE_ZH[value] ?? value) : value;
}
