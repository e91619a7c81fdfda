import { useEffect, useState } from 'preact/hooks';
import { can, type Api } from '../api.ts';
import { formatPct, t, type MessageKey } from '../i18n.ts';
import { lang } from '../i18n.ts';
import { RuleFileView, type RuleError } from '../rule-file-view.tsx';

interface ActiveRules {
  readonly version: { readonly id: number; readonly contentVersion: string };
  readonly rules: readonly {
    readonly id: string;
    readonly description: string;
    readonly descriptionZh: string | null;
    readonly when: string;
    readonly score: number;
    readonly action: string;
    readonly scamType: string;
    readonly mode: 'active' | 'shadow';
  }[];
  readonly files: readonly { readonly name: string; readonly text: string }[];
}

interface Performance {
  readonly window: { readonly from: string; readonly to: string };
  readonly rules: readonly { readonly ruleId: string; readonly hits: number; readonly precision: number | null; readonly flagged: boolean; readonly flagReason: string | null }[];
}

interface Validation {
  readonly valid: boolean;
  readonly errors: readonly (RuleError & { readonly field?: string })[];
  readonly ruleCount: number;
}

const DAY_MS = 86_400_000;

/** Every rule with its text, score, action, shadow flag and recent hits; the files in a code view. */
export function RulesScreen(props: { readonly api: Api }) {
  const { api } = props;
  const [rules, setRules] = useState<ActiveRules | null>(null);
  const [perf, setPerf] = useState<Performance | null>(null);
  const [error, setError] = useState<string | null>(null);
  const writable = can(api.session, 'rules:write');
  useEffect(() => {
    api.get<ActiveRules>('/v1/rules').then(setRules, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    api.get<Performance>('/v1/rules/performance').then(setPerf, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [api.session.csrfToken]);
  void lang.value;
  if (error !== null) return <p class="error">{t('common.error', { message: error })}</p>;
  if (rules === null) return <p class="notice">{t('common.loading')}</p>;
  const hitsOf = (id: string) => perf?.rules.find((r) => r.ruleId === id);
  const days = perf === null ? 0 : Math.round((Date.parse(perf.window.to) - Date.parse(perf.window.from)) / DAY_MS);
  return (
    <section class="rules" data-testid="rules">
      <h1>
        {t('rules.title')} <small>{t('rules.version', { id: rules.version.id, version: rules.version.contentVersion })}</small>
      </h1>
      {!writable && (
        <p class="notice" data-testid="read-only">
          {t('rules.readOnly')}
        </p>
      )}
      <table class="rule-table" data-testid="rule-table">
        <thead>
          <tr>
            <th>{t('rules.id')}</th>
            <th>{t('rules.when')}</th>
            <th>{t('rules.score')}</th>
            <th>{t('rules.action')}</th>
            <th>{t('rules.mode')}</th>
            <th>{t('rules.hits', { days })}</th>
            <th>{t('rules.precision')}</th>
          </tr>
        </thead>
        <tbody>
          {rules.rules.map((r) => {
            const p = hitsOf(r.id);
            return (
              <tr data-testid={`rule-${r.id}`} class={r.mode === 'shadow' ? 'shadow' : ''}>
                <td>
                  <strong>{r.id}</strong>
                  <div class="muted">{lang.value === 'zh-CN' && r.descriptionZh !== null ? r.descriptionZh : r.description}</div>
                </td>
                <td>
                  <code>{r.when}</code>
                </td>
                <td class="num">{r.score}</td>
                <td>
                  <span class={`action ${r.action}`}>{t(`action.${r.action}` as MessageKey)}</span>
                </td>
                <td>{r.mode === 'shadow' ? <span class="tag">{t('rules.shadow')}</span> : t('rules.active')}</td>
                <td class="num" data-testid={`hits-${r.id}`}>
                  {p?.hits ?? 0}
                  {p?.flagged === true && (
                    <span class="flag" title={p.flagReason ?? ''}>
                      {' '}
                      ⚑ {t('rules.flagged')}
                    </span>
                  )}
                </td>
                <td class="num">{formatPct(p?.precision ?? null)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>{t('rules.files')}</h2>
      {rules.files.map((f) => (
        <RuleFile api={api} name={f.name} text={f.text} files={rules.files} writable={writable} />
      ))}
    </section>
  );
}

/** A rule file; with rules:write it can be edited and checked (POST /v1/rules/validate, nothing stored). */
function RuleFile(props: { readonly api: Api; readonly name: string; readonly text: string; readonly files: ActiveRules['files']; readonly writable: boolean }) {
  const [text, setText] = useState(props.text);
  const [result, setResult] = useState<Validation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const check = () => {
    const files = props.files.map((f) => (f.name === props.name ? { name: f.name, text } : f));
    props.api.send<Validation>('POST', '/v1/rules/validate', { files }).then(
      (r) => (setResult(r), setError(null)),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  const errors = (result?.errors ?? []).filter((e) => e.file === null || e.file === props.name);
  return (
    <div class="rule-file">
      <h3>{props.name}</h3>
      <RuleFileView text={props.text} editable={props.writable} errors={errors} onChange={setText} testId={`file-${props.name}`} />
      {props.writable && (
        <div class="actions">
          <button type="button" onClick={check} data-testid={`check-${props.name}`}>
            {t('rules.check')}
          </button>
          {result !== null && (
            <span class={result.valid ? 'ok' : 'error'} data-testid={`check-result-${props.name}`}>
              {result.valid
                ? t('rules.valid', { count: result.ruleCount })
                : `${t('rules.invalid', { count: result.errors.length })}: ${result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('; ')}`}
            </span>
          )}
          {error !== null && <span class="error">{error}</span>}
        </div>
      )}
    </div>
  );
}
