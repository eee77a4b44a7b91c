/**
 * `serve`'s start-up wait (src/cli/database-wait.ts) with a fake clock: the backoff, the
 * deadline, what is retried and what is not, and the option validation.
 */
import { describe, expect, it } from 'vitest';
import { parseDbWait, parsePoolSize, waitForDatabase } from '../../src/cli/database-wait.js';
import { InvalidInputError } from '../../src/services/errors.js';
import { StoreOpenError, StoreUnavailableError } from '../../src/store/open.js';

const refused = () =>
  new StoreOpenError('cannot open the database: connection refused', {
    cause: new StoreUnavailableError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    unavailable: true,
  });

function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    spend: (ms: number) => {
      now += ms;
    },
  };
}

function logCollector() {
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  return { lines, warn: (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message }) };
}

describe('waitForDatabase', () => {
  it('retries with a doubling pause capped at 10 s, then succeeds', async () => {
    const time = fakeTime();
    const log = logCollector();
    let calls = 0;
    const result = await waitForDatabase(
      async () => {
        calls += 1;
        if (calls < 8) throw refused();
        return 'ready';
      },
      { url: 'postgres://app:secret@db:5432/tessera', waitSeconds: 60, log, now: time.now, sleep: time.sleep },
    );
    expect(result).toBe('ready');
    expect(time.sleeps).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(log.lines).toHaveLength(7);
    expect(log.lines[0]?.message).toBe(
      'database at postgres://app:***@db:5432/tessera not reachable: connection refused (is the database server running?); retrying in 0.5 s',
    );
    expect(JSON.stringify(log.lines)).not.toContain('secret');
  });

  it('gives up once --db-wait has passed, with one message that names the cause', async () => {
    const time = fakeTime();
    const log = logCollector();
    const attempt = async () => {
      time.spend(100); // each attempt takes a while
      throw refused();
    };
    const failure = await waitForDatabase(attempt, {
      url: 'postgres://db/t',
      waitSeconds: 5,
      log,
      now: time.now,
      sleep: time.sleep,
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreOpenError);
    expect((failure as Error).message).toMatch(
      /^cannot reach the database at postgres:\/\/db\/t after waiting 5 s \(\d+ attempts\): connection refused/,
    );
    // Never sleeps past the deadline.
    expect(time.now()).toBeLessThanOrEqual(5000 + 100);
    expect(time.sleeps.at(-1)).toBeLessThan(4000);
  });

  it('with --db-wait 0 tries once', async () => {
    const time = fakeTime();
    const log = logCollector();
    await expect(
      waitForDatabase(async () => Promise.reject(refused()), {
        url: 'sqlite:x.db',
        waitSeconds: 0,
        log,
        now: time.now,
        sleep: time.sleep,
      }),
    ).rejects.toThrow(/^cannot reach the database at sqlite:x\.db: connection refused/);
    expect(time.sleeps).toEqual([]);
    expect(log.lines).toEqual([]);
  });

  it.each([
    ['a permanent open error', new StoreOpenError('cannot open the database: the database does not exist')],
    ['a bad argument', new InvalidInputError('TESSERA_SECRET must be at least 32 characters')],
    ['a bug', new TypeError('x is not a function')],
  ])('does not retry %s', async (_what, err) => {
    const time = fakeTime();
    let calls = 0;
    await expect(
      waitForDatabase(
        async () => {
          calls += 1;
          throw err;
        },
        { url: 'postgres://db/t', waitSeconds: 60, log: logCollector(), now: time.now, sleep: time.sleep },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('retries a StoreUnavailableError raised after opening (reading the cookie secret)', async () => {
    const time = fakeTime();
    let calls = 0;
    const value = await waitForDatabase(
      async () => {
        calls += 1;
        if (calls === 1) throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
        return 42;
      },
      { url: 'postgres://db/t', waitSeconds: 60, log: logCollector(), now: time.now, sleep: time.sleep },
    );
    expect(value).toBe(42);
    expect(time.sleeps).toEqual([500]);
  });
});

describe('option validation', () => {
  it.each([
    ['1', 1],
    ['10', 10],
    [' 1000 ', 1000],
  ])('pool size %j is %d', (text, value) => {
    expect(parsePoolSize(text)).toBe(value);
  });
  it.each(['0', '1001', '-1', '2.5', 'ten', ''])('pool size %j is refused', (text) => {
    expect(() => parsePoolSize(text)).toThrow(InvalidInputError);
  });
  it.each([
    ['0', 0],
    ['60', 60],
    ['86400', 86400],
  ])('db wait %j is %d', (text, value) => {
    expect(parseDbWait(text)).toBe(value);
  });
  it.each(['-1', '86401', '1.5', 'soon', ''])('db wait %j is refused', (text) => {
    expect(() => parseDbWait(text)).toThrow(InvalidInputError);
  });
});
