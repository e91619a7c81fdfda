/**
 * The transfer event of the README's example (DESIGN §3's fields, all present), as a fresh
 * object each call; `over` replaces top-level fields.
 */
export function exampleTransfer(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transferId: 't-1',
    occurredAt: '2026-11-21T03:10:00Z',
    amount: 48000,
    currency: 'CNY',
    channel: 'app',
    payer: { accountId: 'p-1', birthYear: 1950, accountCreatedAt: '2015-01-01T00:00:00Z', deviceId: 'd-9', timeZone: 'Asia/Shanghai' },
    payee: { accountId: 'q-7', accountCreatedAt: '2026-11-19T00:00:00Z', name: 'Someone' },
    context: { newDevice: true, onCall: true, remoteAccess: false, payeePasted: true, memo: 'safe account' },
    ...over,
  };
}
