import type { Config } from './config.ts';
import type { LifecycleDeps } from './cooling/lifecycle.ts';
import type { RegistrationTimes } from './cooling/registration.ts';
import type { FeatureStoreOptions } from './features/feature-store.ts';
import { enginePolicy } from './scoring/decide.ts';
import type { ScoreServiceDeps } from './scoring/score-service.ts';

/**
 * What the capabilities that read more than their own slice are handed, picked from the
 * composed Config (src/config.ts) by name: each gets its slice plus the few values of other
 * slices it needs, never the whole object. For the wiring places (src/app.ts, src/cli, bench
 * and tests), which alone import src/config.ts.
 */

/** The feature store's scripts: the velocity state's bounds, idempotency and the decision stream's bound. */
export function featureStoreOptions(config: Config): FeatureStoreOptions {
  return {
    idempotencyTtlSeconds: config.scoring.idempotencyTtlSeconds,
    pairTtlDays: config.features.pairTtlDays,
    distinctCap: config.features.distinctCap,
    reportHalfLifeHours: config.features.reportHalfLifeHours,
    decisionStreamMaxLen: config.decisions.decisionStreamMaxLen,
    claimLeaseMs: config.scoring.claimLeaseMs,
  };
}

/** A warn or cool_off's registration: how long its warning and then its idempotency last. */
export function registrationTimes(config: Config): RegistrationTimes {
  return { warningExpirySeconds: config.lifecycle.warningExpirySeconds, idempotencyTtlSeconds: config.scoring.idempotencyTtlSeconds };
}

/** The score: the scoring slice, the features' age bands, the default language, the warning expiry. */
export function scoreSettings(config: Config): Pick<ScoreServiceDeps, 'config' | 'ageBands' | 'defaultLanguage' | 'warningExpirySeconds'> {
  return {
    config: config.scoring,
    ageBands: config.features.ageBands,
    defaultLanguage: config.i18n.defaultLanguage,
    warningExpirySeconds: config.lifecycle.warningExpirySeconds,
  };
}

/** The lifecycle's slice and what it needs of the others (the API process and `npm run worker` alike). */
export function lifecycleSettings(config: Config): Pick<LifecycleDeps, 'config' | 'policy' | 'idempotencyTtlSeconds' | 'storeDeadlineMs' | 'defaultLanguage'> {
  return {
    config: config.lifecycle,
    policy: enginePolicy(config.scoring),
    idempotencyTtlSeconds: config.scoring.idempotencyTtlSeconds,
    storeDeadlineMs: config.store.storeDeadlineMs,
    defaultLanguage: config.i18n.defaultLanguage,
  };
}
