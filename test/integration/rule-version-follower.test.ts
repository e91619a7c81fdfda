import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeActiveRuleFiles } from '../../src/rules/versions/active-rule-files.ts';
import { loadRuleDir } from '../../src/rules/language/load-rule-dir.ts';
import { RuleVersionFollower } from '../../src/rules/versions/rule-version-follower.ts';
import { RuleVersions } from '../../src/rules/versions/rule-versions.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import { makeKeys, SCRIPTS } from '../../src/store/keys.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { FIXTURE_RULES, testApp, startedApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

/**
 * The standalone worker follows the active rule version through Redis alone
 * (src/rules/versions/rule-version-follower.ts): the files an API node stores beside the pointer.
 */
type TestApp = Awaited<ReturnType<typeof testApp>>;

const BASIC = readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8');
const basicWith = (score: number) => [{ name: 'basic.yaml', text: BASIC.replace('score: 40', `score: ${score}`) }];
const versionOf = (files: { name: string; text: string }[]): string => {
  const r = compileRuleSetFromText(files);
  if (!r.ok) throw new Error('test files do not compile');
  return r.ruleSet.version;
};
const FIXTURE_VERSION = versionOf(basicWith(40));

interface Line {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

const opened: { follower: RuleVersionFollower; redis: Redis; subscriber: Redis }[] = [];

/** A follower as the worker starts one, on its own two connections, logging into `lines`. */
async function follow(prefix: string, opts: { pollMs?: number; dir?: string } = {}) {
  const redis = new Redis(redisUrl());
  const subscriber = new Redis(redisUrl());
  const lines: Line[] = [];
  const dir = opts.dir ?? FIXTURE_RULES;
  const log = {
    info: (_o: object, msg: string) => lines.push({ level: 'info', msg }),
    warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }),
    error: (_o: object, msg: string) => lines.push({ level: 'error', msg }),
  };
  try {
    const follower = await RuleVersionFollower.start({
      redis,
      subscriber,
      keys: makeKeys(prefix),
      pollMs: opts.pollMs ?? 600_000,
      log,
      fallback: () => loadRuleDir(dir),
      fallbackDir: dir,
    });
    opened.push({ follower, redis, subscriber });
    return { follower, lines, redis, subscriber };
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    throw err;
  }
}

afterEach(async () => {
  for (const { follower, redis, subscriber } of opened.splice(0)) {
    await follower.close();
    await subscriber.quit();
    await redis.quit();
  }
});

describe('a follower on the prefix of an API node', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ RULES_POLL_MS: '100' });
  });
  afterAll(async () => {
    await app?.close();
  });
  const publish = async (score: number, comment: string) => {
    const res = await app.server.inject({ method: 'PUT', url: '/v1/rules', payload: { files: basicWith(score), comment, author: 'alice' } });
    expect(res.statusCode).toBe(201);
    return res.json().version as { id: number; contentVersion: string };
  };

  it('starts on the version the node announced, and switches on the next publish through the message', async () => {
    const { follower, lines } = await follow(app.prefix); // no poll within the test: only the message can switch it
    expect(follower.version).toEqual({ generation: 1, versionId: 1 });
    expect(follower.rules.current.version).toBe(app.rules.current.version);
    expect(lines).toEqual([{ level: 'info', msg: 'serving rule version 1 from Redis' }]);

    const v2 = await publish(45, 'raise');
    await until(() => follower.version?.versionId === v2.id, 'the follower to load version 2');
    expect(follower.rules.current.version).toBe(v2.contentVersion);
    expect(follower.rules.current).not.toBe(app.rules.current); // compiled here, from the stored text
    expect(follower.rules.current.rules.find((r) => r.id === 'large-to-new-payee')!.score).toBe(45);
    expect(lines.at(-1)).toEqual({ level: 'info', msg: `rule version ${v2.id} active in this process` });
  });

  it('switches through its poll when it missed the message', async () => {
    const { follower, subscriber } = await follow(app.prefix, { pollMs: 100 });
    await subscriber.unsubscribe(makeKeys(app.prefix).rulesChannel()); // deaf from here on
    const before = follower.version!.versionId;
    const v = await publish(46, 'raise again');
    expect(v.id).toBeGreaterThan(before);
    await until(() => follower.version?.versionId === v.id, 'the poll to load the new version');
    expect(follower.rules.current.version).toBe(v.contentVersion);
  });

  it('follows a rollback as well (a version it has seen before)', async () => {
    const { follower } = await follow(app.prefix);
    const res = await app.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: 'undo', author: 'bob' } });
    expect(res.statusCode).toBe(200);
    await until(() => follower.version?.versionId === 1, 'the follower to roll back');
    expect(follower.rules.current.version).toBe(FIXTURE_VERSION);
    expect(follower.version!.generation).toBe(app.ruleVersions.active.pointer.generation);
  });
});

describe('a pointer raised without files (a node of an older build)', () => {
  const db = testSql('pglite');
  let sql: SqlStore;
  let app: TestApp;
  beforeAll(async () => {
    sql = await db.open();
    app = await startedApp({ RULES_POLL_MS: '100' }, { sql });
  });
  afterAll(async () => {
    await app?.close();
    await sql?.close();
  });

  it('gets its files from the next API node that switches to it', async () => {
    const { follower, lines } = await follow(app.prefix, { pollMs: 50 });
    const keys = makeKeys(app.prefix);
    // a writer that announces nothing, then only the pointer moves (as an older build does it)
    const silent = await RuleVersions.open(
      { sql, clock: Date.now, fourEyes: false, onSwitch: () => undefined, log: { info: () => undefined, warn: () => undefined, error: () => undefined } },
      { ok: false, errors: [] },
      'unused',
    );
    const published = await silent.versions.publish(basicWith(48), 'dave', 'from an older build');
    const pointer = silent.versions.active.pointer;
    await app.redis.set(keys.rulesPointer(), `${pointer.generation}:${pointer.versionId}`);
    // the API node's poll loads it from SQL and stores its files (rules-pointer.lua returns 2)
    await until(() => follower.version?.versionId === published.version.id, 'the follower to get the repaired files');
    expect(follower.rules.current.version).toBe(published.version.contentVersion);
    expect(JSON.parse((await app.redis.get(keys.rulesActiveFiles()))!)).toEqual({
      generation: pointer.generation,
      versionId: published.version.id,
      files: basicWith(48),
    });
    // while it waited (polling every 50 ms) it said so at most once, never once per poll
    expect(lines.filter((l) => l.msg.includes('but Redis holds the files of')).length).toBeLessThanOrEqual(1);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('a stored version this process cannot use', () => {
  const prefix = `test-follow-${randomUUID()}:`;
  const keys = makeKeys(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    const found = await redis.keys(`${prefix}*`);
    if (found.length > 0) await redis.del(...found);
    await redis.quit();
  });
  /** what an API node's announce does, by hand */
  const store = async (generation: number, versionId: number, payload: string) => {
    await redis.set(keys.rulesActiveFiles(), payload);
    await redis.set(keys.rulesPointer(), `${generation}:${versionId}`);
  };

  it('keeps the served rule set when the payload is unreadable or its rules do not compile, then takes the next good one', async () => {
    await store(1, 1, encodeActiveRuleFiles({ generation: 1, versionId: 1, files: basicWith(40) }));
    const { follower, lines } = await follow(prefix);
    const served = follower.rules.current;
    expect(served.version).toBe(FIXTURE_VERSION);

    await store(2, 2, '{"generation":2,"versionId":2,"files":"basic.yaml"');
    await follower.check();
    await follower.check(); // a second poll of the same payload logs nothing new
    expect(follower.rules.current).toBe(served);
    expect(follower.version).toEqual({ generation: 1, versionId: 1 });
    expect(lines.slice(1).map((l) => l.level)).toEqual(['error']);
    expect(lines[1]!.msg.startsWith(`the stored rule version in ${keys.rulesActiveFiles()} is unreadable (not JSON: `)).toBe(true);
    expect(lines[1]!.msg.endsWith(`); keeping rule version 1 (${FIXTURE_VERSION})`)).toBe(true);

    await store(3, 3, JSON.stringify({ generation: 3, versionId: 3, files: [{ name: 'basic.yaml', text: 42 }] }));
    await follower.check();
    expect(follower.rules.current).toBe(served);
    expect(lines.at(-1)).toEqual({
      level: 'error',
      msg: `the stored rule version in ${keys.rulesActiveFiles()} is unreadable (files.0 is not {name, text} with two strings); keeping rule version 1 (${FIXTURE_VERSION})`,
    });

    const broken = [{ name: 'basic.yaml', text: BASIC.replace('amount >= 10000', 'amount >= "x"') }];
    await store(4, 4, encodeActiveRuleFiles({ generation: 4, versionId: 4, files: broken }));
    await follower.check();
    await follower.check();
    expect(follower.rules.current).toBe(served);
    const compileErrors = lines.filter((l) => l.msg.startsWith('rule version 4 does not compile'));
    expect(compileErrors).toHaveLength(1);
    expect(compileErrors[0]!.level).toBe('error');
    expect(compileErrors[0]!.msg).toMatch(new RegExp(`^rule version 4 does not compile with this build; keeping rule version 1 \\(${FIXTURE_VERSION}\\):\\nbasic\\.yaml:5:\\d+ .+`));

    await store(5, 5, encodeActiveRuleFiles({ generation: 5, versionId: 5, files: basicWith(47) }));
    await follower.check();
    expect(follower.version).toEqual({ generation: 5, versionId: 5 });
    expect(follower.rules.current.version).toBe(versionOf(basicWith(47)));
  });

  it('falls back to the rule files when the stored version does not compile at start', async () => {
    const broken = [{ name: 'basic.yaml', text: 'not: [a rule list' }];
    await store(6, 6, encodeActiveRuleFiles({ generation: 6, versionId: 6, files: broken }));
    const { follower, lines } = await follow(prefix);
    expect(follower.version).toBeNull();
    expect(follower.rules.current.version).toBe(FIXTURE_VERSION);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.msg).toMatch(/^the stored rule version 6 does not compile with this build; serving the rule files in (.+) until a version is announced\nbasic\.yaml:1:\d+ /);
    expect(lines[0]!.msg).toContain(`serving the rule files in ${FIXTURE_RULES} until`);
    await follower.check(); // the same broken version is not compiled or logged again
    expect(lines).toHaveLength(1);
  });
});

describe('no version announced yet', () => {
  it('serves the rule files of RULES_DIR and says so, then switches when an API node announces', async () => {
    const prefix = `test-follow-${randomUUID()}:`;
    const { follower, lines } = await follow(prefix, { pollMs: 600_000 });
    expect(follower.version).toBeNull();
    expect(follower.rules.current.version).toBe(FIXTURE_VERSION);
    expect(lines).toEqual([
      { level: 'warn', msg: `no API node has announced a rule version in Redis yet; serving the rule files in ${FIXTURE_RULES} until a version is announced` },
    ]);
    await follower.check(); // nothing to follow: nothing changes, nothing logged
    expect([follower.version, lines.length]).toEqual([null, 1]);

    const app = await startedApp({ REDIS_KEY_PREFIX: prefix });
    try {
      await until(() => follower.version !== null, 'the follower to take the announced version');
      expect(follower.version).toEqual({ generation: 1, versionId: 1 });
      expect(follower.rules.current.version).toBe(app.rules.current.version);
    } finally {
      await app.close();
      const redis = new Redis(redisUrl());
      const found = await redis.keys(`${prefix}*`);
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
    }
  });

  it('close() waits for a check under way, and a check asked for afterwards reads nothing', async () => {
    const prefix = `test-follow-${randomUUID()}:`;
    const { follower, redis } = await follow(prefix, { pollMs: 600_000 });
    let finished = false;
    void follower.check().then(() => {
      finished = true;
    });
    await follower.close();
    expect(finished).toBe(true);
    let reads = 0;
    const get = redis.get.bind(redis);
    redis.get = ((...args: Parameters<typeof redis.get>) => {
      reads++;
      return get(...args);
    }) as typeof redis.get;
    await follower.check();
    expect(reads).toBe(0);
  });

  it('refuses to start when the rule files are invalid too, saying both', async () => {
    const prefix = `test-follow-${randomUUID()}:`;
    const missing = path.join(FIXTURE_RULES, 'no-such-dir');
    await expect(follow(prefix, { dir: missing })).rejects.toThrow(
      `no API node has announced a rule version in Redis yet\nand the rule set in ${missing} is invalid:\n`,
    );
  });
});

describe('rules-pointer.lua stores the files with the pointer, forward only', () => {
  const prefix = `test-follow-${randomUUID()}:`;
  const keys = makeKeys(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.del(keys.rulesPointer(), keys.rulesActiveFiles());
    await redis.quit();
  });
  const announce = (generation: number, versionId: number, force = false) =>
    redis.eval(
      SCRIPTS.rulesPointer.lua,
      SCRIPTS.rulesPointer.numberOfKeys,
      keys.rulesPointer(),
      keys.rulesActiveFiles(),
      generation,
      versionId,
      keys.rulesChannel(),
      force ? '1' : '0',
      encodeActiveRuleFiles({ generation, versionId, files: basicWith(versionId) }),
    );
  const stored = async () => [await redis.get(keys.rulesPointer()), JSON.parse((await redis.get(keys.rulesActiveFiles())) ?? 'null')?.versionId];

  it('sets both, ignores a late older announcement, repairs missing files, and lets the SQL store force it down', async () => {
    expect(await announce(2, 20)).toBe(1);
    expect(await stored()).toEqual(['2:20', 20]);
    expect(await announce(1, 10)).toBe(0); // late: nothing changes
    expect(await stored()).toEqual(['2:20', 20]);
    expect(await announce(2, 20)).toBe(0); // already there
    await redis.set(keys.rulesPointer(), '3:30'); // raised by a build that writes no files
    expect(await announce(2, 20)).toBe(0);
    expect(await announce(3, 30)).toBe(2); // the files of exactly that version: stored
    expect(await stored()).toEqual(['3:30', 30]);
    expect(await announce(3, 30)).toBe(0);
    expect(await announce(1, 10, true)).toBe(1);
    expect(await stored()).toEqual(['1:10', 10]);
  });
});
