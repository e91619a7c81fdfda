import { exitOnStartFailure, serve } from '../serve.ts';

/**
 * `npm run api`: an API node of a deployment (src/server-role.ts): scores and answers every
 * route; the lifecycle worker runs in `npm run worker`, the decision sink in `npm run sink`.
 * Needs REDIS_URL (or REDIS_CLUSTER_NODES) and DATABASE_URL, shared with them.
 */
serve('api').catch(exitOnStartFailure);
