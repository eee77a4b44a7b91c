/**
 * The data model of migration 0004, on each engine: grants without a person, access
 * tokens with their format, `jti` and issue time, the attempt counter, and the migration
 * itself from a database at 0003 holding data.
 */
import { NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { AccessTokenRecord, GrantRecord, RefreshTokenRecord } from '../../src/store/store.js';
import { addClient, countSignInAttempt, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const now = 1_800_000_000_000;
const window = { batchSize: 10, signInFailureWindowMs: 60_000 };

describe(`grants and tokens of migration 0004 on ${TEST_ENGINE}`, () => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void>;
  let clientId: string;

  beforeEach(async () => {
    ({ store, url, cleanup } = await tempStore());
    clientId = (await addClient(store)).client.id;
  });
  afterEach(async () => {
    await cleanup();
  });

  const personless = (expiresAt = now + 3_600_000): GrantRecord => ({
    id: newId(),
    personId: null,
    clientId,
    scope: 'PATIENT openid',
    authTime: null,
    sessionId: null,
    createdAt: now,
    expiresAt,
    revokedAt: null,
    nonce: null,
  });
  const access = (g: GrantRecord, expiresAt = now + 600_000): AccessTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: g.id,
    scope: g.scope,
    format: 'jwt',
    jti: newId(),
    createdAt: now,
    expiresAt,
  });
  const refresh = (g: GrantRecord): RefreshTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: g.id,
    scope: g.scope,
    expiresAt: now + 3_600_000,
    retiredAt: null,
  });

  it('counts 60 parallel sign-in attempts as exactly 1..60', async () => {
    const counts = await Promise.all(Array.from({ length: 60 }, () => countSignInAttempt(store, 'burst', now, 60_000)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await store.countSignInFailures('burst', now, 60_000)).toBe(60);
    // A window that has passed starts over, this attempt included.
    expect(await countSignInAttempt(store, 'burst', now + 60_000, 60_000)).toBe(1);
  });

  it('serves a grant without a person through every store method', async () => {
    const g = personless();
    const code = {
      hash: hashSecret(newSecret()),
      grantId: g.id,
      redirectUri: null,
      codeChallenge: null,
      expiresAt: now + 60_000,
      consumedAt: null,
    };
    await store.createGrantWithCode(g, code);
    expect((await store.findAuthorizationCode(code.hash))?.grant).toEqual(g);
    const first = access(g);
    const r = refresh(g);
    expect(await store.consumeAuthorizationCode(code.hash, now, first, r)).toBe('ok');
    const found = await store.findAccessToken(first.hash);
    expect(found).toEqual({
      token: first,
      grant: { id: g.id, personId: null, clientId, revokedAt: null },
      person: null,
      client: { id: clientId, disabledAt: null },
    });
    expect((await store.findRefreshToken(r.hash))?.token).toEqual(r);
    const next = access(g);
    expect(await store.rotateRefreshToken(r.hash, now + 1, next, refresh(g))).toBe('ok');
    expect(await store.rotateRefreshToken(r.hash, now + 2, access(g), null)).toBe('replayed');

    const implicit = personless();
    const token = { ...access(implicit), format: 'opaque' as const, jti: null };
    await store.createGrantWithAccessToken(implicit, token);
    expect((await store.findAccessToken(token.hash))?.token).toEqual(token);
    await store.revokeGrant(implicit.id, now + 5);
    expect((await store.findAccessToken(token.hash))?.grant.revokedAt).toBe(now + 5);

    // Purged like any other once expired.
    const old = personless(now - 1);
    await store.createGrantWithAccessToken(old, access(old, now - 1));
    const counts = await store.purgeExpired(now, window);
    expect(counts.grants).toBe(1);
    expect(counts.access_tokens).toBe(1);

    // Removing the client takes its grants and everything issued under them.
    expect(await store.removeClient(clientId)).toBe(true);
    expect(await store.findAccessToken(next.hash)).toBeUndefined();
    expect(await store.findAuthorizationCode(code.hash)).toBeUndefined();
    const left = await sql<{ n: number | string }>`select count(*) as n from grants`.execute(store.db);
    expect(Number(left.rows[0]?.n)).toBe(0);
  });

  it('migrates a database at 0003 with data: rows, indexes and ON DELETE CASCADE survive', async () => {
    // A new database, migrated only to 0003.
    await cleanup();
    ({ store, url, cleanup } = await tempStore());
    // Every migration undone, then up to 0003: the tables as 0001 made them.
    await store.migrations(async (m) => {
      expect((await m.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
      expect((await m.migrateTo('0003_expiry_indexes')).error).toBeUndefined();
    });
    const db = store.db;
    await sql`insert into clients values ('c1', 'App', null, '[]', '["PATIENT"]', '[]', 1, 1, null)`.execute(db);
    await sql`insert into people values ('p1', 'alice', 'Alice', 'x', '["PATIENT"]', 1, null)`.execute(db);
    await sql`insert into grants values ('g1', 'p1', 'c1', 'PATIENT', 1, ${now}, null)`.execute(db);
    await sql`insert into authorization_codes values ('h-code', 'g1', null, null, ${now}, null)`.execute(db);
    await sql`insert into access_tokens values ('h-access', 'g1', 'PATIENT', ${now})`.execute(db);
    await sql`insert into refresh_tokens values ('h-refresh', 'g1', 'PATIENT', ${now}, null)`.execute(db);
    await store.close();

    store = await openStore(url);
    const found = await store.findAccessToken('h-access');
    expect(found?.token).toEqual({
      hash: 'h-access',
      grantId: 'g1',
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: now - 600_000,
      expiresAt: now,
    });
    expect(found?.grant).toEqual({ id: 'g1', personId: 'p1', clientId: 'c1', revokedAt: null });
    expect((await store.findAuthorizationCode('h-code'))?.grant).toMatchObject({
      id: 'g1',
      personId: 'p1',
      authTime: null,
      sessionId: null,
    });
    expect(found?.person?.username).toBe('alice');
    expect((await store.findAuthorizationCode('h-code'))?.grant.id).toBe('g1');

    const indexes =
      TEST_ENGINE === 'postgres'
        ? await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'grants'`.execute(
            store.db,
          )
        : await sql<{
            name: string;
          }>`select name from sqlite_master where type = 'index' and tbl_name = 'grants'`.execute(store.db);
    expect(indexes.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['grants_person_id', 'grants_client_id', 'grants_expires_at', 'grants_revoked_at']),
    );
    // A scope is a space-delimited set now, longer than the old varchar(32).
    const long = { ...personless(), clientId: 'c1', scope: 'PATIENT '.repeat(10).trim() };
    await store.createGrantWithAccessToken(long, access(long));

    // The foreign keys still cascade from people and from clients.
    expect(await store.removePerson('alice')).toBe(true);
    expect(await store.findAccessToken('h-access')).toBeUndefined();
    expect(await store.findRefreshToken('h-refresh')).toBeUndefined();
    expect(await store.findAuthorizationCode('h-code')).toBeUndefined();
    expect(await store.removeClient('c1')).toBe(true);
    const left = await sql<{ n: number | string }>`select count(*) as n from grants`.execute(store.db);
    expect(Number(left.rows[0]?.n)).toBe(0);
  });
});
