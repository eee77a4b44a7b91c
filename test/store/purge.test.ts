/**
 * Data that expires goes away: Store.purgeExpired on a real database —
 * SQLite always, PostgreSQL in the vitest project that sets TESSERA_TEST_ENGINE — and,
 * through the real token endpoint, that what must stay (a retired refresh token of a live
 * grant) stays, so reuse is still detected after a purge. The steady-state case runs many
 * full flows with short lifetimes and shows that the tables stop growing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_THROTTLE } from '../../src/oauth/sign-in-throttle.js';
import { hashSecret, newId, newSecret, type Lifetimes } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { Database } from '../../src/store/schema.js';
import { PURGE_KINDS, type GrantRecord, type PurgeCounts } from '../../src/store/store.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  openLogin,
  postPage,
  postToken,
  tempStore,
  testApp,
  TEST_ENGINE,
  type TestApp,
} from '../helpers/harness.js';

const WINDOW_MS = DEFAULT_THROTTLE.windowSeconds * 1000;
const TABLES = [
  'clients',
  'people',
  'grants',
  'authorization_codes',
  'access_tokens',
  'refresh_tokens',
  'pending_authorizations',
  'sign_in_sessions',
  'sign_in_failures',
  'settings',
] as const satisfies ReadonlyArray<keyof Database>;
type Table = (typeof TABLES)[number];

async function rowCounts(store: KyselyStore): Promise<Record<Table, number>> {
  const counts = {} as Record<Table, number>;
  for (const table of TABLES) {
    const row = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

async function keysOf(
  store: KyselyStore,
  table: 'authorization_codes' | 'access_tokens' | 'refresh_tokens' | 'sign_in_sessions',
): Promise<string[]> {
  return (await store.db.selectFrom(table).select('hash').execute()).map((r) => r.hash).sort();
}

const zero: PurgeCounts = {
  pending_authorizations: 0,
  sign_in_sessions: 0,
  sign_in_failures: 0,
  authorization_codes: 0,
  access_tokens: 0,
  refresh_tokens: 0,
  grants: 0,
};

const engineName = TEST_ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite';

describe(`purging expired data on ${engineName}`, () => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void>;
  let clientId: string;
  let personId: string;
  const now = 1_800_000_000_000;
  const purge = (options: { batchSize?: number; maxBatches?: number; at?: number } = {}) =>
    store.purgeExpired(options.at ?? now, {
      batchSize: options.batchSize ?? 100,
      maxBatches: options.maxBatches,
      signInFailureWindowMs: WINDOW_MS,
    });

  beforeEach(async () => {
    ({ store, url, cleanup } = await tempStore());
    clientId = (await addClient(store)).client.id;
    personId = (await addTestUser(store, 'alice', ['PATIENT'])).id;
  });
  afterEach(async () => {
    await cleanup();
  });

  // Rows written directly, so that every case (even one the protocol makes rare) is covered.
  const db = () => store.db;
  async function grant(expiresAt: number, revokedAt: number | null = null): Promise<GrantRecord> {
    const g: GrantRecord = {
      id: newId(),
      personId,
      clientId,
      scope: 'PATIENT',
      authTime: null,
      sessionId: null,
      createdAt: now - 1000,
      expiresAt,
      revokedAt,
      nonce: null,
    };
    await db()
      .insertInto('grants')
      .values({
        id: g.id,
        person_id: personId,
        client_id: clientId,
        scope: 'PATIENT',
        created_at: g.createdAt,
        expires_at: expiresAt,
        revoked_at: revokedAt,
      })
      .execute();
    return g;
  }
  async function code(g: GrantRecord, expiresAt: number, consumedAt: number | null = null): Promise<string> {
    const hash = hashSecret(newSecret());
    await db()
      .insertInto('authorization_codes')
      .values({
        hash,
        grant_id: g.id,
        redirect_uri: null,
        code_challenge: null,
        expires_at: expiresAt,
        consumed_at: consumedAt,
      })
      .execute();
    return hash;
  }
  async function access(g: GrantRecord, expiresAt: number): Promise<string> {
    const hash = hashSecret(newSecret());
    await db()
      .insertInto('access_tokens')
      .values({ hash, grant_id: g.id, scope: 'PATIENT', format: 'opaque', created_at: 0, expires_at: expiresAt })
      .execute();
    return hash;
  }
  async function refresh(g: GrantRecord, expiresAt: number, retiredAt: number | null = null): Promise<string> {
    const hash = hashSecret(newSecret());
    await db()
      .insertInto('refresh_tokens')
      .values({ hash, grant_id: g.id, scope: 'PATIENT', expires_at: expiresAt, retired_at: retiredAt })
      .execute();
    return hash;
  }
  async function pending(expiresAt: number): Promise<string> {
    const id = newId();
    await store.createPendingAuthorization({
      id,
      clientId,
      request: '{}',
      browserHash: hashSecret(newSecret()),
      personId: null,
      createdAt: now - 1000,
      expiresAt,
    });
    return id;
  }
  async function session(expiresAt: number): Promise<string> {
    const hash = hashSecret(newSecret());
    await store.createSignInSession({ hash, personId, createdAt: now - 1000, expiresAt, maxExpiresAt: expiresAt });
    return hash;
  }
  async function failure(windowStartedAt: number): Promise<string> {
    const key = hashSecret(newSecret());
    await db()
      .insertInto('sign_in_failures')
      .values({ key, window_started_at: windowStartedAt, failures: 3, user_key: key, wait_until: 0 })
      .execute();
    return key;
  }

  it('deletes every kind of expired row and keeps every live one', async () => {
    const hour = 3_600_000;
    // A live grant: its expired codes (used or not), expired access tokens and an expired
    // refresh token that was never used go; its live code and tokens stay, and so do its
    // retired refresh tokens — even one past its own expiry — because they detect reuse.
    const live = await grant(now + hour);
    const liveCode = await code(live, now + 60_000);
    await code(live, now - 1, now - 30_000);
    await code(live, now);
    const liveAccess = await access(live, now + 600_000);
    await access(live, now - 1);
    const liveRefresh = await refresh(live, now + hour);
    const retired = await refresh(live, now + hour, now - 5000);
    const retiredPastItsExpiry = await refresh(live, now - 1, now - 10_000);
    await refresh(live, now - 1);

    // An expired grant: everything of it goes.
    const expired = await grant(now);
    await code(expired, now - hour, now - hour);
    await access(expired, now);
    await refresh(expired, now, now - hour);
    await refresh(expired, now);

    // A revoked grant with an access token that has not expired yet: its refresh tokens go
    // (none can be used), the grant waits for the access token to expire.
    const revokedWaiting = await grant(now + hour, now - 1000);
    const waitingAccess = await access(revokedWaiting, now + 60_000);
    await refresh(revokedWaiting, now + hour);
    await refresh(revokedWaiting, now + hour, now - 1000);
    // A revoked grant with nothing unexpired: it goes, with all of it.
    const revokedDone = await grant(now + hour, now - 1000);
    await access(revokedDone, now - 1);
    await code(revokedDone, now - 60_000, now - 90_000);
    await refresh(revokedDone, now + hour);

    const livePending = await pending(now + 1);
    await pending(now);
    const liveSession = await session(now + 1);
    await session(now - 1);
    const recentFailure = await failure(now - 1000);
    const failureAlmostOver = await failure(now - WINDOW_MS + 1);
    await failure(now - WINDOW_MS);

    expect(await purge()).toEqual({
      pending_authorizations: 1,
      sign_in_sessions: 1,
      sign_in_failures: 1,
      authorization_codes: 4,
      access_tokens: 3,
      refresh_tokens: 6,
      grants: 2,
    });

    expect((await db().selectFrom('grants').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(
      [live.id, revokedWaiting.id].sort(),
    );
    expect(await keysOf(store, 'authorization_codes')).toEqual([liveCode]);
    expect(await keysOf(store, 'access_tokens')).toEqual([liveAccess, waitingAccess].sort());
    expect(await keysOf(store, 'refresh_tokens')).toEqual([liveRefresh, retired, retiredPastItsExpiry].sort());
    expect(await keysOf(store, 'sign_in_sessions')).toEqual([liveSession]);
    expect((await db().selectFrom('pending_authorizations').select('id').execute()).map((r) => r.id)).toEqual([
      livePending,
    ]);
    expect((await db().selectFrom('sign_in_failures').select('key').execute()).map((r) => r.key).sort()).toEqual(
      [recentFailure, failureAlmostOver].sort(),
    );
    // What is left still works, and the throttle still counts what it should.
    expect((await store.findRefreshToken(retired))?.token.retiredAt).toBe(now - 5000);
    expect(await store.getSignInSession(liveSession, now)).toBeDefined();
    expect(await store.countSignInFailures(failureAlmostOver, now, WINDOW_MS)).toBe(3);

    // Nothing more to do; once the waiting access token expires the revoked grant goes too.
    expect(await purge()).toEqual(zero);
    expect(await purge({ at: now + 60_000 })).toMatchObject({ access_tokens: 1, grants: 1 });
    expect(await store.findAccessToken(waitingAccess)).toBeUndefined();
    // Clients, people and settings are never purged.
    expect(await rowCounts(store)).toMatchObject({ clients: 1, people: 1 });
  });

  it('deletes in batches of batchSize, at most maxBatches of each kind per call', async () => {
    const live = await grant(now + 3_600_000);
    for (let i = 0; i < 5; i++) {
      await pending(now - i);
      await session(now - i);
      await failure(now - WINDOW_MS - i);
      await code(live, now - i);
      await access(live, now - i);
      await refresh(live, now - i);
      await grant(now - i);
    }
    const each = (n: number) => Object.fromEntries(PURGE_KINDS.map((kind) => [kind, n]));

    expect(await purge({ batchSize: 1, maxBatches: 2 })).toEqual(each(2));
    expect(await rowCounts(store)).toMatchObject({
      pending_authorizations: 3,
      sign_in_sessions: 3,
      sign_in_failures: 3,
      authorization_codes: 3,
      access_tokens: 3,
      refresh_tokens: 3,
      grants: 4,
    });
    expect(await purge({ batchSize: 2, maxBatches: 1 })).toEqual(each(2));
    expect(await purge({ batchSize: 1, maxBatches: 1 })).toEqual(each(1));
    expect(await purge({ batchSize: 1 })).toEqual(zero);
    expect(await rowCounts(store)).toMatchObject({ ...each(0), grants: 1 });
    expect(
      await store.purgeExpired(now, { batchSize: 0, signInFailureWindowMs: WINDOW_MS }).catch((e: Error) => e.message),
    ).toMatch(/batchSize/);
  });

  it('stops between batches once its signal is aborted', async () => {
    for (let i = 0; i < 5; i++) await pending(now - i);
    const abort = new AbortController();
    abort.abort();
    expect(
      await store.purgeExpired(now, { batchSize: 1, signInFailureWindowMs: WINDOW_MS, signal: abort.signal }),
    ).toEqual(zero);
    expect((await rowCounts(store)).pending_authorizations).toBe(5);
  });

  it('is safe when several purges run at once: each expired row is deleted exactly once', async () => {
    const n = 150;
    const live = await grant(now + 3_600_000);
    const liveKeys = {
      code: await code(live, now + 60_000),
      access: await access(live, now + 60_000),
      retired: await refresh(live, now + 3_600_000, now - 1),
    };
    const range = Array.from({ length: n }, (_, i) => i);
    const hash = () => hashSecret(newSecret());
    await db()
      .insertInto('pending_authorizations')
      .values(
        range.map((i) => ({
          id: newId(),
          client_id: clientId,
          request: '{}',
          browser_hash: hash(),
          person_id: null,
          created_at: 0,
          expires_at: now - i,
        })),
      )
      .execute();
    await db()
      .insertInto('sign_in_sessions')
      .values(
        range.map((i) => ({
          hash: hash(),
          person_id: personId,
          created_at: 0,
          expires_at: now - i,
          max_expires_at: now - i,
        })),
      )
      .execute();
    await db()
      .insertInto('sign_in_failures')
      // Addresses' counts (their user_key another row's key), where failure() makes usernames'.
      .values(
        range.map((i) => ({
          key: hash(),
          window_started_at: now - WINDOW_MS - i,
          failures: 1,
          user_key: 'a username',
          wait_until: 0,
        })),
      )
      .execute();
    await db()
      .insertInto('authorization_codes')
      .values(
        range.map((i) => ({
          hash: hash(),
          grant_id: live.id,
          redirect_uri: null,
          code_challenge: null,
          expires_at: now - i,
          consumed_at: null,
        })),
      )
      .execute();
    await db()
      .insertInto('access_tokens')
      .values(
        range.map((i) => ({
          hash: hash(),
          grant_id: live.id,
          scope: 'PATIENT',
          format: 'opaque',
          created_at: 0,
          expires_at: now - i,
        })),
      )
      .execute();
    await db()
      .insertInto('refresh_tokens')
      .values(
        range.map((i) => ({
          hash: hash(),
          grant_id: live.id,
          scope: 'PATIENT',
          expires_at: now - i,
          retired_at: null,
        })),
      )
      .execute();
    await db()
      .insertInto('grants')
      .values(
        range.map((i) => ({
          id: newId(),
          person_id: personId,
          client_id: clientId,
          scope: 'PATIENT',
          created_at: 0,
          expires_at: now - i,
          revoked_at: null,
        })),
      )
      .execute();

    // Three "instances": separate connections (a separate pool on PostgreSQL) to one database.
    const others = [await openStore(url), await openStore(url)];
    try {
      const results = await Promise.all(
        [store, ...others].map((s) => s.purgeExpired(now, { batchSize: 7, signInFailureWindowMs: WINDOW_MS })),
      );
      for (const kind of PURGE_KINDS) {
        expect(
          results.reduce((sum, r) => sum + r[kind], 0),
          kind,
        ).toBe(n);
      }
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
    expect(await purge()).toEqual(zero);
    expect(await rowCounts(store)).toMatchObject({
      pending_authorizations: 0,
      sign_in_sessions: 0,
      sign_in_failures: 0,
      authorization_codes: 1,
      access_tokens: 1,
      refresh_tokens: 1,
      grants: 1,
    });
    expect(await keysOf(store, 'authorization_codes')).toEqual([liveKeys.code]);
    expect(await keysOf(store, 'access_tokens')).toEqual([liveKeys.access]);
    expect(await keysOf(store, 'refresh_tokens')).toEqual([liveKeys.retired]);
  });
});

describe(`purging behind the real token endpoint on ${engineName}`, () => {
  let t: TestApp;
  /** The app's clock: testApp's advance() moves it; purges must use the same time. */
  let offset: number;
  const appNow = () => Date.now() + offset;
  const advance = (ms: number) => {
    offset += ms;
    t.advance(ms);
  };
  const purgeNow = () => t.store.purgeExpired(appNow(), { batchSize: 50, signInFailureWindowMs: WINDOW_MS });

  afterEach(async () => {
    await t.close();
  });

  async function setUp(lifetimes: Partial<Lifetimes>) {
    t = await testApp({ lifetimes });
    offset = 0;
    const { client, secret } = await addClient(t.store);
    await addTestUser(t.store, 'alice', ['PATIENT']);
    const auth = basic(client.id, secret as string);
    const query = { response_type: 'code', client_id: client.id, scope: 'PATIENT', state: 's' };
    return { auth, query };
  }

  it('keeps a retired refresh token of a live grant: reuse still revokes the family after a purge', async () => {
    const { auth, query } = await setUp({ code: 60, accessToken: 60 });
    const code = await codeThroughPages(t.app, { query });
    const first = await postToken(t.app, { grant_type: 'authorization_code', code }, { authorization: auth });
    expect(first.statusCode).toBe(200);
    const second = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: first.json().refresh_token },
      { authorization: auth },
    );
    expect(second.statusCode).toBe(200);

    // The code and both access tokens expire; the grant (30 days) does not.
    advance(120_000);
    expect(await purgeNow()).toEqual({ ...zero, authorization_codes: 1, access_tokens: 2 });
    expect(await rowCounts(t.store)).toMatchObject({
      grants: 1,
      refresh_tokens: 2,
      access_tokens: 0,
      authorization_codes: 0,
    });

    // The retired refresh token is still known: presenting it again revokes the grant, so
    // the current refresh token stops working too.
    const reuse = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: first.json().refresh_token },
      { authorization: auth },
    );
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringMatching(/already been used/),
    });
    const current = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: second.json().refresh_token },
      { authorization: auth },
    );
    expect(current.statusCode).toBe(400);
    expect(current.json()).toMatchObject({ error: 'invalid_grant' });

    // The revoked grant has no unexpired token left: the next purge takes it and its tokens.
    expect(await purgeNow()).toEqual({ ...zero, refresh_tokens: 2, grants: 1 });
    expect(await rowCounts(t.store)).toMatchObject({ grants: 0, refresh_tokens: 0 });
  });

  it('keeps the database from growing under a steady load of full flows', async () => {
    // Each round runs its flows, then five minutes pass and a purge runs. With sessions of
    // ten minutes and the sign-in failure window of fifteen, rows live at most three
    // rounds; without the purge every table would grow with every round.
    const rounds = 10;
    const flowsPerRound = 20;
    const { auth, query } = await setUp({
      code: 60,
      accessToken: 300,
      grant: 600,
      pendingAuthorization: 120,
      sessionIdle: 300,
      sessionMax: 300,
    });
    const history: Array<Record<Table, number>> = [];
    const created: Partial<Record<Table, number>> = {};
    const note = (table: Table, n = 1) => {
      created[table] = (created[table] ?? 0) + n;
    };
    let lastRefresh = '';

    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < flowsPerRound; i++) {
        const code = await codeThroughPages(t.app, { query: { ...query, state: `${round}-${i}` } });
        const tokens = await postToken(t.app, { grant_type: 'authorization_code', code }, { authorization: auth });
        expect(tokens.statusCode).toBe(200);
        const refreshed = await postToken(
          t.app,
          { grant_type: 'refresh_token', refresh_token: tokens.json().refresh_token },
          { authorization: auth },
        );
        expect(refreshed.statusCode).toBe(200);
        lastRefresh = refreshed.json().refresh_token as string;
        note('pending_authorizations');
        note('sign_in_sessions');
        note('grants');
        note('authorization_codes');
        note('access_tokens', 2);
        note('refresh_tokens', 2);
      }
      // One person gives up at the sign-in page; another mistypes a username.
      await openLogin(t.app, { ...query, state: `abandoned-${round}` });
      note('pending_authorizations');
      const wrong = await openLogin(t.app, { ...query, state: `wrong-${round}` });
      const refused = await postPage(
        t.app,
        '/login',
        { request: wrong.request, csrf: wrong.csrf, username: `nobody-${round}`, password: 'not it' },
        wrong.jar,
      );
      expect(refused.statusCode).toBe(303);
      note('pending_authorizations');
      // Two counts: the username's and its address's.
      note('sign_in_failures', 2);

      advance(300_000);
      await purgeNow();
      history.push(await rowCounts(t.store));
    }

    const perRound = (table: Table) => (created[table] ?? 0) / rounds;
    const last = history[history.length - 1] as Record<Table, number>;
    // Sign-in failure counts last the throttle's window (hours, far more than these rounds):
    // every one is kept until then, and then none.
    expect(history.map((h) => h.sign_in_failures)).toEqual(history.map((_, i) => 2 * (i + 1)));
    for (const table of TABLES.filter((name) => name !== 'sign_in_failures')) {
      const counts = history.map((h) => h[table]);
      // A bound that does not depend on the number of rounds…
      expect(Math.max(...counts), `${table}: ${counts.join(' ')}`).toBeLessThanOrEqual(
        Math.max(2 * perRound(table), 2),
      );
      // …and no growth once the first rows have had time to expire.
      expect(last[table], `${table}: ${counts.join(' ')}`).toBeLessThanOrEqual(history[2]![table]);
    }
    // Far more was written than is left.
    expect(created.grants).toBe(rounds * flowsPerRound);
    expect(last.grants).toBeLessThanOrEqual(flowsPerRound);
    expect(last.refresh_tokens).toBeLessThanOrEqual(2 * flowsPerRound);
    expect(last).toMatchObject({
      clients: 1,
      people: 1,
      authorization_codes: 0,
      access_tokens: 0,
      sign_in_sessions: 0,
    });

    // What the purge left is live: the last round's refresh token still works.
    const again = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: lastRefresh },
      { authorization: auth },
    );
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ scope: 'PATIENT' });

    advance(WINDOW_MS);
    await purgeNow();
    expect((await rowCounts(t.store)).sign_in_failures).toBe(0);
  }, 300_000);
});
