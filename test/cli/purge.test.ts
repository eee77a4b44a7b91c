/**
 * `tessera purge` and the sweep built into `tessera serve`, black-box: the
 * REAL built command (`npm test` builds it first) on a SQLite file seeded with expired
 * and live rows; what is checked is what an operator sees — stdout, stderr, exit code —
 * and what is left in the database.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import { openStore } from '../../src/store/open.js';
import { addClient, addTestUser } from '../helpers/harness.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { startServer, tempDb } from '../helpers/server-process.js';

type Table =
  | 'grants'
  | 'authorization_codes'
  | 'access_tokens'
  | 'refresh_tokens'
  | 'pending_authorizations'
  | 'sign_in_sessions'
  | 'sign_in_failures';
const TABLES: Table[] = [
  'grants',
  'authorization_codes',
  'access_tokens',
  'refresh_tokens',
  'pending_authorizations',
  'sign_in_sessions',
  'sign_in_failures',
];

/** Seeds expired rows of every kind (and one live grant with live tokens); returns what purge should report. */
async function seed(db: string) {
  const store = await openStore(db);
  try {
    const now = Date.now();
    const { client } = await addClient(store);
    const person = await addTestUser(store, 'alice', ['PATIENT']);
    const grant = async (expiresAt: number) => {
      const id = newId();
      await store.db
        .insertInto('grants')
        .values({
          id,
          person_id: person.id,
          client_id: client.id,
          scope: 'PATIENT',
          created_at: now - 5000,
          expires_at: expiresAt,
          revoked_at: null,
        })
        .execute();
      return id;
    };
    const tokens = async (grantId: string, expiresAt: number) => {
      await store.db
        .insertInto('authorization_codes')
        .values({
          hash: hashSecret(newSecret()),
          grant_id: grantId,
          redirect_uri: null,
          code_challenge: null,
          expires_at: expiresAt,
          consumed_at: null,
        })
        .execute();
      await store.db
        .insertInto('access_tokens')
        .values({
          hash: hashSecret(newSecret()),
          grant_id: grantId,
          scope: 'PATIENT',
          format: 'opaque',
          created_at: 0,
          expires_at: expiresAt,
        })
        .execute();
    };
    const live = await grant(now + 3_600_000);
    await tokens(live, now + 3_600_000);
    await store.db
      .insertInto('refresh_tokens')
      .values({
        hash: hashSecret(newSecret()),
        grant_id: live,
        scope: 'PATIENT',
        expires_at: now + 3_600_000,
        retired_at: now - 1000,
      })
      .execute();
    for (let i = 0; i < 3; i++) {
      const expired = await grant(now - 1000 - i);
      await tokens(expired, now - 2000 - i);
      await store.db
        .insertInto('refresh_tokens')
        .values({
          hash: hashSecret(newSecret()),
          grant_id: expired,
          scope: 'PATIENT',
          expires_at: now - 1000 - i,
          retired_at: null,
        })
        .execute();
    }
    for (let i = 0; i < 2; i++) {
      await store.createPendingAuthorization({
        id: newId(),
        clientId: client.id,
        request: '{}',
        browserHash: hashSecret(newSecret()),
        personId: null,
        createdAt: now - 10_000,
        expiresAt: now - 1000,
      });
      await store.createSignInSession({
        hash: hashSecret(newSecret()),
        personId: person.id,
        createdAt: now - 10_000,
        expiresAt: now - 1000,
        maxExpiresAt: now - 1000,
      });
    }
    await store.db
      .insertInto('sign_in_failures')
      // Lapsed: the throttle's window (12 hours) has passed since its last attempt.
      .values({
        key: hashSecret(newSecret()),
        window_started_at: now - 13 * 60 * 60_000,
        failures: 2,
        user_key: 'a username',
        wait_until: 0,
      })
      .execute();
    await store.db
      .insertInto('sign_in_failures')
      .values({
        key: hashSecret(newSecret()),
        window_started_at: now - 60_000,
        failures: 2,
        user_key: 'a username',
        wait_until: 0,
      })
      .execute();
  } finally {
    await store.close();
  }
  return {
    pending_authorizations: 2,
    sign_in_sessions: 2,
    sign_in_failures: 1,
    authorization_codes: 3,
    access_tokens: 3,
    refresh_tokens: 3,
    grants: 3,
  };
}

/** Rows left in each expiring table. */
async function remaining(db: string): Promise<Record<Table, number>> {
  const store = await openStore(db, { migrate: false });
  try {
    const counts = {} as Record<Table, number>;
    for (const table of TABLES) {
      const row = await store.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      counts[table] = Number(row.n);
    }
    return counts;
  } finally {
    await store.close();
  }
}

/** What is left after everything expired has gone: the live grant, its code, access token and retired refresh token, one recent failure count. */
const LIVE_ONLY: Record<Table, number> = {
  grants: 1,
  authorization_codes: 1,
  access_tokens: 1,
  refresh_tokens: 1,
  pending_authorizations: 0,
  sign_in_sessions: 0,
  sign_in_failures: 1,
};

describe('tessera purge', () => {
  let temp: ReturnType<typeof tempDb>;
  beforeEach(() => {
    temp = tempDb();
  });
  afterEach(() => {
    temp.cleanup();
  });

  it('deletes everything expired, in batches, and prints the counts', async () => {
    const expected = await seed(temp.db);
    // Batches of one row: purge keeps going until nothing expired is left.
    const result = await runCliInProcess(['purge', '--batch-size', '1'], { db: temp.db });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^pending authorizations deleted: +2$/m);
    expect(result.stdout).toMatch(/^sign-in sessions deleted: +2$/m);
    expect(result.stdout).toMatch(/^sign-in failure counts deleted: +1$/m);
    expect(result.stdout).toMatch(/^authorization codes deleted: +3$/m);
    expect(result.stdout).toMatch(/^access tokens deleted: +3$/m);
    expect(result.stdout).toMatch(/^refresh tokens deleted: +3$/m);
    expect(result.stdout).toMatch(/^grants deleted: +3$/m);
    expect(result.stdout.trim().split('\n')).toHaveLength(Object.keys(expected).length);
    expect(await remaining(temp.db)).toEqual(LIVE_ONLY);
  });

  it('--json prints the counts as one JSON object; a second run finds nothing', async () => {
    const expected = await seed(temp.db);
    const first = await runCliInProcess(['purge', '--json'], { db: temp.db });
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout.endsWith('\n')).toBe(true);
    expect(JSON.parse(first.stdout)).toEqual(expected);
    const second = await runCliInProcess(['purge', '--json', '--batch-size', '1000'], { db: temp.db });
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, 0])));
    expect(await remaining(temp.db)).toEqual(LIVE_ONLY);
  });

  it.each([['0'], ['abc'], ['-3'], ['2.5'], ['100001']])(
    'refuses --batch-size %s with one line and exit 2',
    async (size) => {
      const expected = await seed(temp.db);
      const result = await runCliInProcess(['purge', '--batch-size', size], { db: temp.db });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`tessera: batch size must be a whole number from 1 to 100000, not '${size}'\n`);
      // Nothing was deleted.
      expect((await remaining(temp.db)).grants).toBe(expected.grants + 1);
    },
  );

  it('refuses a database it cannot open with one line and exit 2', async () => {
    const result = await runCliInProcess(['purge'], { db: 'mysql://nowhere' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^tessera: database URL 'mysql:\/\/nowhere' is not understood/);
  });
});

describe('the sweep in tessera serve', () => {
  let temp: ReturnType<typeof tempDb>;
  beforeEach(() => {
    temp = tempDb();
  });
  afterEach(() => {
    temp.cleanup();
  });

  it('deletes expired data by itself and logs the counts at debug', async () => {
    await seed(temp.db);
    const server = await startServer({ db: temp.db, args: ['--sweep-interval', '1'], logLevel: 'debug' });
    try {
      await vi.waitFor(async () => expect(await remaining(temp.db)).toEqual(LIVE_ONLY), {
        timeout: 10_000,
        interval: 200,
      });
      await vi.waitFor(
        () =>
          expect(server.stderr()).toMatch(
            /"purged":\{"pending_authorizations":2,.*"grants":3\}.*"msg":"swept expired data"/,
          ),
        {
          timeout: 5000,
        },
      );
    } finally {
      const { code } = await server.stop();
      expect(code).toBe(0);
    }
  });

  it('--sweep-interval 0 turns it off', async () => {
    await seed(temp.db);
    const server = await startServer({ db: temp.db, args: ['--sweep-interval', '0'] });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await remaining(temp.db)).grants).toBe(4);
    } finally {
      await server.stop();
    }
  });

  it.each([
    [['--sweep-interval', 'soon'], {}, 'soon'],
    [['--sweep-interval', '86401'], {}, '86401'],
    [[], { TESSERA_SWEEP_INTERVAL: '-5' }, '-5'],
  ])('refuses %j %j with one line and exit 2', async (args, env, shown) => {
    const result = await runCliInProcess(['serve', '--port', '0', ...args], { db: temp.db, env });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `tessera: sweep interval must be a whole number of seconds from 0 (no sweep) to 86400, not '${shown}'\n`,
    );
  });
});
