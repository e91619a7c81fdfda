/**
 * The `Try:` command `npm start` prints (issue 19): one that works on every start. A fixed
 * transfer id was a 409 after a restart (the id was already scored, with another occurredAt),
 * and with API keys on it was a 401. So each start names a fresh transfer at the current time,
 * and with keys on the command carries an Authorization header with a placeholder for the
 * user's own key (never a real key: start-up output ends up in logs).
 */

export interface TryCurlInput {
  /** the listening address, e.g. http://127.0.0.1:3000 */
  readonly base: string;
  /** a transfer id not used before, e.g. `try-${randomUUID()}` */
  readonly transferId: string;
  readonly nowMs: number;
  /** API_KEYS is set: every /v1 route needs a key */
  readonly apiKeysOn: boolean;
}

export const KEY_PLACEHOLDER = '<your key>';

const DAY_MS = 86_400_000;

/** The command line, without the leading "Try:" (a shell command on one line). */
export function tryCurl({ base, transferId, nowMs, apiKeysOn }: TryCurlInput): string {
  const event = {
    transferId,
    occurredAt: new Date(nowMs).toISOString(),
    amount: 48000,
    currency: 'CNY',
    payer: { accountId: 'p-1', birthYear: 1950, timeZone: 'Asia/Shanghai' },
    payee: { accountId: 'q-7', accountCreatedAt: new Date(nowMs - DAY_MS).toISOString() },
    context: { onCall: true, payeePasted: true },
  };
  const auth = apiKeysOn ? ` -H "Authorization: Bearer ${KEY_PLACEHOLDER}"` : '';
  return `curl -s ${base}/v1/transfers/score${auth} -H 'content-type: application/json' -d '${JSON.stringify(event)}'`;
}
