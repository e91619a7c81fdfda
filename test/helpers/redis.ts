/**
 * The Redis every test shares: the server test/global-setup.ts started (or REDIS_URL when it
 * was set). Tests keep apart by key prefix or random names, never by FLUSHALL.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** set by test/global-setup.ts */
    redisUrl: string;
  }
}

export function redisUrl(): string {
  const url = inject('redisUrl') ?? process.env.REDIS_URL;
  if (!url) {
    throw new Error('no test Redis: test/global-setup.ts did not run (is it in vitest.config.ts globalSetup?)');
  }
  return url;
}
