import type { FastifyInstance } from 'fastify';

export interface CheckResult {
  readonly ready: boolean;
  readonly detail: string;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<CheckResult>;
}

export function healthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[], metrics: () => string): void {
  app.get(
    '/metrics',
    { config: { public: true }, schema: { summary: 'Prometheus metrics: decisions by action and age band, degraded decisions, rule hits, score latency', tags: ['ops'] } },
    async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics()),
  );

  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness: the process is up', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { config: { public: true }, schema: { summary: 'Readiness: Redis reachable and a rule set loaded (503 otherwise)', tags: ['ops'] } },
    async (_request, reply) => {
      const results = await Promise.all(
        checks.map(async (c) => {
          const r = await c.check().catch((err: Error): CheckResult => ({ ready: false, detail: err.message }));
          return [c.name, r] as const;
        }),
      );
      const ready = results.every(([, r]) => r.ready);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
    },
  );
}
