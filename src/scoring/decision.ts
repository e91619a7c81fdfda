import type { AgeBand } from '../features/catalogue.ts';
import { renderFactor, type ModelFactor, type RenderedFactor } from '../model/contributions.ts';
import type { Action } from './actions.ts';
import { renderGuardianNotice, type GuardianBlock, type GuardianNotice } from '../i18n/guardian-notice.ts';
import type { ScamType } from './scam-types.ts';
import type { Language } from '../i18n/language.ts';
import { renderWarning, type Warning } from '../i18n/render-warning.ts';

/**
 * A decision as stored (language-neutral and compact: rule ids, no texts), and its rendering
 * for one response language. An idempotent replay re-renders the stored decision,
 * so asking again in another language gives the same decision in that language.
 */

/** A rule hit as stored: ids and numbers only (reasons are rendered from the rule set). */
export interface StoredHit {
  readonly ruleId: string;
  readonly score: number;
  readonly action: Action;
  readonly scamType: ScamType;
}

/** The human reason of a rule of a given rule set version, in both languages. */
export type ReasonLookup = (rulesVersion: string, ruleId: string) => { readonly reason: string; readonly reasonZh: string | null };

export interface TimingsUs {
  readonly validate: number;
  readonly features: number;
  readonly rules: number;
  readonly model: number;
  readonly decision: number;
  /** awaiting the decision's write (absent where nothing was recorded, and in the stored copy) */
  readonly record?: number;
  /** rendering and serialising the reply (absent in the stored copy) */
  readonly render?: number;
  /** from the start of the body's validation to its serialised reply (the stored copy: to the decision) */
  readonly total: number;
}

export interface StoredDecision {
  readonly transferId: string;
  readonly action: Action;
  readonly riskScore: number;
  readonly ruleScore: number;
  readonly modelScore: number | null;
  /** the largest signed contributions behind modelScore (empty below MODEL_EXPLAIN_FROM or without a score) */
  readonly modelFactors: readonly ModelFactor[];
  readonly scamType: ScamType | null;
  readonly segment: AgeBand | null;
  readonly hits: readonly StoredHit[];
  readonly shadowHits: readonly StoredHit[];
  /** rules that failed to evaluate: an explicit reason, never a silent false */
  readonly ruleErrors: readonly { readonly ruleId: string; readonly message: string }[];
  readonly degraded: readonly string[];
  /** the guardian limit that blocked this transfer, null when none did */
  readonly guardian: GuardianBlock | null;
  readonly rulesVersion: string;
  readonly modelVersion: string | null;
  readonly holdMinutes: number;
  readonly decidedAt: string;
  readonly timingsUs: TimingsUs;
}

export interface RenderedHit {
  readonly ruleId: string;
  /** stable machine-readable reason code (the rule id) */
  readonly reasonCode: string;
  /** human reason in the response language */
  readonly reason: string;
  readonly score: number;
  readonly action: Action;
  readonly scamType: ScamType;
}

export interface DecisionResponse extends Omit<StoredDecision, 'hits' | 'shadowHits' | 'holdMinutes' | 'modelFactors'> {
  readonly hits: readonly RenderedHit[];
  readonly modelFactors: readonly RenderedFactor[];
  readonly shadowHits: readonly RenderedHit[];
  readonly warning: Warning | null;
  /** for a transfer a guardian limit blocked: why, in words a child understands */
  readonly notice: GuardianNotice | null;
  readonly language: Language;
}

function renderHit(h: StoredHit, lang: Language, version: string, reasons: ReasonLookup): RenderedHit {
  const r = reasons(version, h.ruleId);
  return {
    ruleId: h.ruleId,
    reasonCode: h.ruleId,
    reason: lang === 'zh' && r.reasonZh !== null ? r.reasonZh : r.reason,
    score: h.score,
    action: h.action,
    scamType: h.scamType,
  };
}

function renderHits(hits: readonly StoredHit[], lang: Language, version: string, reasons: ReasonLookup): RenderedHit[] {
  const out: RenderedHit[] = [];
  for (const h of hits) out.push(renderHit(h, lang, version, reasons));
  return out;
}

/**
 * The response body. Runs on every score, so the object is built field by field rather than
 * by rest/spread copies (a runtime call per copy in V8). The fields keep the order of the
 * stored decision with hits, shadowHits and modelFactors moved to the end, as decisions have
 * always been rendered; a field an older stored decision lacks is undefined here and, as
 * before, absent from the JSON.
 */
export function renderDecision(d: StoredDecision, lang: Language, reasons: ReasonLookup): DecisionResponse {
  const warning =
    (d.action === 'warn' || d.action === 'cool_off') && d.scamType !== null
      ? renderWarning({ scamType: d.scamType, segment: d.segment, action: d.action, lang, holdMinutes: d.holdMinutes })
      : null;
  // decisions stored before factors existed have none
  const factors = d.modelFactors ?? [];
  return {
    transferId: d.transferId,
    action: d.action,
    riskScore: d.riskScore,
    ruleScore: d.ruleScore,
    modelScore: d.modelScore,
    scamType: d.scamType,
    segment: d.segment,
    ruleErrors: d.ruleErrors,
    degraded: d.degraded,
    guardian: d.guardian,
    rulesVersion: d.rulesVersion,
    modelVersion: d.modelVersion,
    decidedAt: d.decidedAt,
    timingsUs: d.timingsUs,
    hits: renderHits(d.hits, lang, d.rulesVersion, reasons),
    shadowHits: renderHits(d.shadowHits, lang, d.rulesVersion, reasons),
    modelFactors: factors.length === 0 ? [] : factors.map((f) => renderFactor(f, lang)),
    warning,
    notice: d.guardian === null ? null : renderGuardianNotice(d.guardian, lang),
    language: lang,
  };
}
