/**
 * Scam typologies used by rules (`scam_type`), warnings, the case library and the simulator.
 * `mule` marks a payee that looks like a money-mule account rather than a victim story.
 */
export const SCAM_TYPES = [
  'impersonation', // police, bank, government or platform staff
  'investment',
  'part_time_job', // order brushing, paid tasks
  'romance',
  'fake_refund', // fake customer service promising a refund
  'purchase', // goods that never arrive
  'mule',
  'account_takeover',
  'other',
] as const;
export type ScamType = (typeof SCAM_TYPES)[number];

export function isScamType(s: unknown): s is ScamType {
  return typeof s === 'string' && (SCAM_TYPES as readonly string[]).includes(s);
}
