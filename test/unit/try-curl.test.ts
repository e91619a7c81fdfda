import { describe, expect, it } from 'vitest';
import { parseTransferEvent } from '../../src/features/transfer-event.ts';
import { KEY_PLACEHOLDER, tryCurl } from '../../src/try-curl.ts';

const NOW = Date.parse('2027-03-04T05:06:07.000Z');
const base = 'http://127.0.0.1:3000';

/** The JSON body of the command: what follows -d, in single quotes. */
function body(command: string): unknown {
  const m = /-d '([^']*)'$/.exec(command);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

describe('the Try: command printed at start-up (issue 19)', () => {
  it('scores a valid event named by the given transfer id at the current time', () => {
    const command = tryCurl({ base, transferId: 'try-abc', nowMs: NOW, apiKeysOn: false });
    expect(command).toBe(
      `curl -s ${base}/v1/transfers/score -H 'content-type: application/json' -d '` +
        '{"transferId":"try-abc","occurredAt":"2027-03-04T05:06:07.000Z","amount":48000,"currency":"CNY",' +
        '"payer":{"accountId":"p-1","birthYear":1950,"timeZone":"Asia/Shanghai"},' +
        '"payee":{"accountId":"q-7","accountCreatedAt":"2027-03-03T05:06:07.000Z"},' +
        `"context":{"onCall":true,"payeePasted":true}}'`,
    );
    const parsed = parseTransferEvent(body(command));
    expect(parsed.success).toBe(true);
  });

  it('names another transfer on another start, so a restart is no 409', () => {
    const first = body(tryCurl({ base, transferId: 'try-1', nowMs: NOW, apiKeysOn: false }));
    const later = body(tryCurl({ base, transferId: 'try-2', nowMs: NOW + 60_000, apiKeysOn: false }));
    expect(first).toMatchObject({ transferId: 'try-1', occurredAt: '2027-03-04T05:06:07.000Z' });
    expect(later).toMatchObject({ transferId: 'try-2', occurredAt: '2027-03-04T05:07:07.000Z' });
  });

  it('with API keys on, sends an Authorization header with a placeholder for the key', () => {
    const command = tryCurl({ base, transferId: 'try-abc', nowMs: NOW, apiKeysOn: true });
    expect(command.startsWith(`curl -s ${base}/v1/transfers/score -H "Authorization: Bearer ${KEY_PLACEHOLDER}" -H 'content-type: application/json' -d '`)).toBe(true);
    expect(KEY_PLACEHOLDER).toBe('<your key>');
    expect(tryCurl({ base, transferId: 'try-abc', nowMs: NOW, apiKeysOn: false })).not.toContain('Authorization');
  });
});
