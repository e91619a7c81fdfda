import { describe, expect, it } from 'vitest';
import { build, Lifetime } from '../../src/lifetime.ts';

const quiet = { error: () => undefined };

describe('Lifetime', () => {
  it('begins loops only on start(), in registration order, and closes the entry point first, then the rest last-registered first', async () => {
    const events: string[] = [];
    const lifetime = new Lifetime(quiet);
    lifetime.opened('connection', 'c', (v) => events.push(`close ${v}`));
    lifetime.loop('sink', () => events.push('start sink'), () => events.push('stop sink'));
    lifetime.opened('session', 's', (v) => events.push(`close ${v}`));
    lifetime.loop('watch', () => events.push('start watch'), () => events.push('stop watch'));
    lifetime.entryPoint('server', () => events.push('drain server'));
    expect(events).toEqual([]);
    await lifetime.start();
    await lifetime.start();
    expect(events).toEqual(['start sink', 'start watch']);
    await Promise.all([lifetime.close(), lifetime.close()]);
    expect(events.slice(2)).toEqual(['drain server', 'stop watch', 'close s', 'stop sink', 'close c']);
  });

  it('closes every part when one fails to close, logging the failure', async () => {
    const events: string[] = [];
    const logged: unknown[] = [];
    const lifetime = new Lifetime({ error: (obj) => logged.push(obj) });
    lifetime.opened('first', 1, () => events.push('close first'));
    lifetime.opened('broken', 2, () => {
      throw new Error('cannot');
    });
    lifetime.opened('last', 3, () => events.push('close last'));
    await lifetime.close();
    expect(events).toEqual(['close last', 'close first']);
    expect(logged).toEqual([expect.objectContaining({ part: 'broken' })]);
  });

  it('closes what a failed build had opened, and rethrows', async () => {
    const events: string[] = [];
    await expect(
      build(quiet, async (lifetime) => {
        lifetime.opened('connection', 'c', (v) => events.push(`close ${v}`));
        lifetime.loop('sink', () => events.push('start sink'), () => events.push('stop sink'));
        throw new Error('the model directory is a file');
      }),
    ).rejects.toThrow('the model directory is a file');
    expect(events).toEqual(['stop sink', 'close c']);
  });

  it('begins no loop once close() was called', async () => {
    const events: string[] = [];
    const lifetime = new Lifetime(quiet);
    lifetime.loop('sink', () => events.push('start sink'));
    await lifetime.close();
    await lifetime.start();
    expect(events).toEqual([]);
  });

  it('lists the parts in closing order for a shutdown with a deadline, each closing once', async () => {
    let closes = 0;
    const lifetime = new Lifetime(quiet);
    lifetime.opened('connection', 'c', () => closes++);
    lifetime.entryPoint('server', () => undefined);
    const parts = lifetime.closingOrder();
    expect(parts.map((p) => p.name)).toEqual(['server', 'connection']);
    await parts[1]!.close();
    await lifetime.close();
    expect(closes).toBe(1);
  });
});
