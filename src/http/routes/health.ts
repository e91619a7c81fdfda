import type { FastifyInstance } from 'fastify';

export interface CheckResult {
  readonly ready: boolean;
  readonly detail: string;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<CheckResult>;
}

export interface HealthDeps {
  readonly checks: readonly ReadinessCheck[];
  /** readiness answers within this: a check that has not answered by then failed (STORE_DEADLINE_MS) */
  readonly deadlineMs: number;
  /** the Prometheus exposition text */
  readonly metrics: () => string;
}

/** One check raced against the deadline; a throw or a late answer is "not ready" with the reason. */
async function runCheck(check: ReadinessCheck, deadlineMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, detail: `no answer within ${deadlineMs} ms (STORE_DEADLINE_MS)` }), deadlineMs);
  });
  try {
    return await Promise.race([check.check().catch((err: Error): CheckResult => ({ ready: false, detail: err.message })), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  const { checks, deadlineMs, metrics } = deps;
  app.get(
    '/metrics',
    { config: { public: true }, schema: { summary: 'Prometheus metrics: decisions by action and age band, degraded decisions, rule hits, score latency', tags: ['ops'] } },
    async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics()),
  );

  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness: the process is up', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { config: { public: true }, schema: { summary: 'Readiness: Redis, the SQL store and the model answer within STORE_DEADLINE_MS and a rule set is loaded (503 naming the failing check otherwise)', tags: ['ops'] } },
    async (_request, reply) => {
      const results = await Promise.all(checks.map(async (c) => [c.name, await runCheck(c, deadlineMs)] as const));
      const ready = results.every(([, r]) => r.ready);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
    },
  );
}
