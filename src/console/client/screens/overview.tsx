import type { ChartConfiguration } from 'chart.js';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Api } from '../api.ts';
import { ACTION_COLOURS, ChartView } from '../chart.tsx';
import { formatPct, formatTime, lang, t, type MessageKey } from '../i18n.ts';

/** GET /v1/overview's answer (src/http/routes/overview.ts). */
interface Overview {
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number };
  readonly decisionsPerMinute: readonly { readonly minute: string; readonly allow: number; readonly warn: number; readonly cool_off: number; readonly block: number }[];
  readonly degradedPerMinute: readonly { readonly minute: string; readonly stage: string; readonly count: number }[];
  readonly degradedNow: { readonly stages: readonly string[]; readonly pendingOnThisNode: number };
  readonly interventions: readonly {
    readonly band: 'all' | 'minor' | 'adult' | 'elderly' | 'unknown';
    readonly legitimate: number;
    readonly rates: Record<Intervention, number | null>;
    readonly budget: Record<Intervention, number>;
  }[];
  readonly latency: { readonly scores: number; readonly p50Ms: number | null; readonly p99Ms: number | null };
  readonly versions: {
    readonly rules: { readonly version: string; readonly versionId: number; readonly ruleCount: number; readonly activatedAt: string; readonly activatedBy: string };
    readonly model: { readonly name: string; readonly version: string; readonly loadedAt: string } | null;
  };
}

type Intervention = 'warn' | 'cool_off' | 'block';
const ACTIONS = ['allow', 'warn', 'cool_off', 'block'] as const;
const INTERVENTIONS: readonly Intervention[] = ['warn', 'cool_off', 'block'];
const REFRESH_MS = 10_000;
const STAGE_COLOURS = ['#7b68ee', '#20b2aa', '#cd5c5c', '#708090'];

const minuteLabel = (iso: string): string => new Date(iso).toLocaleTimeString(lang.value, { hour: '2-digit', minute: '2-digit' });

function decisionsChart(o: Overview): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: o.decisionsPerMinute.map((m) => minuteLabel(m.minute)),
      datasets: ACTIONS.map((a) => ({ label: t(`action.${a}` as MessageKey), data: o.decisionsPerMinute.map((m) => m[a]), backgroundColor: ACTION_COLOURS[a] })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  };
}

function interventionChart(o: Overview, action: Intervention): ChartConfiguration {
  const bands = o.interventions.filter((b) => b.band === 'all' || b.legitimate > 0);
  return {
    type: 'bar',
    data: {
      labels: bands.map((b) => `${t(`band.${b.band}` as MessageKey)} (${b.legitimate})`),
      datasets: [
        { type: 'bar', label: `${t(`action.${action}` as MessageKey)}: ${t('overview.rate')} %`, data: bands.map((b) => (b.rates[action] ?? 0) * 100), backgroundColor: ACTION_COLOURS[action] },
        {
          type: 'line',
          label: `${t('overview.budget')} %`,
          data: bands.map((b) => b.budget[action] * 100),
          borderColor: '#333',
          borderDash: [6, 4],
          pointStyle: 'line',
          pointRadius: 12,
          showLine: false,
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  };
}

function latencyChart(o: Overview): ChartConfiguration {
  return {
    type: 'bar',
    data: { labels: ['p50', 'p99'], datasets: [{ label: 'ms', data: [o.latency.p50Ms ?? 0, o.latency.p99Ms ?? 0], backgroundColor: ['#4a78b5', '#2c4770'] }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } } },
  };
}

function degradedChart(o: Overview): ChartConfiguration {
  const stages = [...new Set(o.degradedPerMinute.map((d) => d.stage))].sort();
  const minutes = o.decisionsPerMinute.map((m) => m.minute);
  return {
    type: 'bar',
    data: {
      labels: minutes.map(minuteLabel),
      datasets: stages.map((stage, i) => ({
        label: stage,
        data: minutes.map((m) => o.degradedPerMinute.find((d) => d.minute === m && d.stage === stage)?.count ?? 0),
        backgroundColor: STAGE_COLOURS[i % STAGE_COLOURS.length]!,
      })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, suggestedMax: 1 } } },
  };
}

export function OverviewScreen(props: { readonly api: Api }) {
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      props.api.get<Overview>('/v1/overview?minutes=60').then(
        (o) => !stopped && (setOverview(o), setError(null)),
        (e: unknown) => !stopped && setError(e instanceof Error ? e.message : String(e)),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [props.api.session.csrfToken]);
  const l = lang.value;
  const charts = useMemo(
    () =>
      overview === null
        ? null
        : {
            decisions: decisionsChart(overview),
            interventions: INTERVENTIONS.map((a) => [a, interventionChart(overview, a)] as const),
            latency: latencyChart(overview),
            degraded: degradedChart(overview),
          },
    [overview, l],
  );
  if (error !== null) return <p class="error">{t('common.error', { message: error })}</p>;
  if (overview === null || charts === null) return <p class="notice">{t('common.loading')}</p>;
  const v = overview.versions;
  const now = overview.degradedNow;
  return (
    <section class="overview" data-testid="overview">
      <h1>
        {t('overview.title')} <small>{t('overview.window', { minutes: overview.window.minutes })}</small>
      </h1>
      <div class="status-row">
        <div class={now.stages.length === 0 ? 'badge ok' : 'badge bad'} data-testid="degraded-now">
          {now.stages.length === 0 ? t('overview.normal') : `${t('overview.degradedNow')}: ${now.stages.join(', ')}`}
          {now.pendingOnThisNode > 0 && <div>{t('overview.pending', { n: now.pendingOnThisNode })}</div>}
        </div>
        <div class="versions" data-testid="versions">
          <div>
            {t('overview.rulesVersion', { version: v.rules.version, id: v.rules.versionId, count: v.rules.ruleCount, at: formatTime(v.rules.activatedAt), by: v.rules.activatedBy })}
          </div>
          <div>{v.model === null ? t('overview.noModel') : t('overview.modelVersion', { name: v.model.name, version: v.model.version, at: formatTime(v.model.loadedAt) })}</div>
        </div>
      </div>
      <div class="panel wide">
        <h2>{t('overview.decisions')}</h2>
        <ChartView config={charts.decisions} label={t('overview.decisions')} testId="chart-decisions" height={260} />
      </div>
      <div class="panel wide">
        <h2>{t('overview.interventions')}</h2>
        <div class="grid3">
          {charts.interventions.map(([a, config]) => (
            <div>
              <h3>
                {t(`action.${a}` as MessageKey)}: {formatPct(overview.interventions.find((b) => b.band === 'all')!.rates[a])} / {formatPct(overview.interventions.find((b) => b.band === 'all')!.budget[a])}
              </h3>
              <ChartView config={config} label={`${t('overview.interventions')}: ${t(`action.${a}` as MessageKey)}`} testId={`chart-interventions-${a}`} />
            </div>
          ))}
        </div>
      </div>
      <div class="grid2">
        <div class="panel">
          <h2>{t('overview.latency', { scores: overview.latency.scores })}</h2>
          <ChartView config={charts.latency} label={t('overview.latency', { scores: overview.latency.scores })} testId="chart-latency" height={140} />
        </div>
        <div class="panel">
          <h2>{t('overview.degraded')}</h2>
          <ChartView config={charts.degraded} label={t('overview.degraded')} testId="chart-degraded" height={140} />
        </div>
      </div>
    </section>
  );
}
