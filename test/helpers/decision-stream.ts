import type { Redis } from 'ioredis';
import type { FeatureValue } from '../../src/features/catalogue.ts';

/**
 * The feature vector the decision of a transfer was made on, from the app's decision stream
 * (written after the response, so it is polled for up to a second).
 */
export async function streamFeatures(app: { redis: Redis; prefix: string }, transferId: string): Promise<FeatureValue[]> {
  for (let i = 0; i < 100; i++) {
    const entries = await app.redis.xrange(`${app.prefix}{decisions}`, '-', '+');
    const entry = entries.find(([, f]) => f[1] === transferId);
    if (entry !== undefined) return JSON.parse(entry[1][entry[1].indexOf('features') + 1]!) as FeatureValue[];
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no stream entry for ${transferId}`);
}
