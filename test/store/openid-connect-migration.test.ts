/**
 * Migration 0007 (OpenID Connect) on each engine, from a database at 0006 holding data:
 * clients get the ID token defaults, people no e-mail, a session keeps its end as both its
 * idle and its absolute end, grants have no nonce; signing keys become one active key per
 * algorithm.
 */
import { NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { SigningKeyRecord } from '../../src/store/store.js';
import { tempStore, TEST_ENGINE } from '../helpers/harness.js';

const now = 1_800_000_000_000;

function key(kid: string, alg: string, createdAt: number): SigningKeyRecord {
  return { kid, alg, publicJwk: '{}', privateKey: 'plain.{}', createdAt, retiredAt: null };
}

describe(`migration 0007 (OpenID Connect) on ${TEST_ENGINE}`, () => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void> = async () => {};

  afterEach(async () => {
    await cleanup();
  });

  it('keeps every row of a database at 0006 and gives them the defaults', async () => {
    ({ store, url, cleanup } = await tempStore());
    await store.migrations(async (m) => {
      expect((await m.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
      expect((await m.migrateTo('0006_one_signing_key')).error).toBeUndefined();
    });
    const db = store.db;
    await sql`insert into clients (id, name, secret_hash, redirect_uris, scopes, grant_types, pkce_required, created_at, disabled_at)
      values ('c1', 'App', null, '["https://app.example/cb"]', '["PATIENT"]', '["authorization_code"]', 1, 1, null)`.execute(
      db,
    );
    await sql`insert into people values ('p1', 'alice', 'Alice', 'x', '["PATIENT"]', 1, null)`.execute(db);
    await sql`insert into grants (id, person_id, client_id, scope, created_at, expires_at, revoked_at)
      values ('g1', 'p1', 'c1', 'PATIENT', 1, ${now}, null)`.execute(db);
    await sql`insert into sign_in_sessions values ('h-session', 'p1', ${now - 1000}, ${now + 5000})`.execute(db);
    await sql`insert into signing_keys values ('k1', 'ES256', '{}', 'plain.{}', 1, null)`.execute(db);
    await store.close();

    store = await openStore(url);
    expect(await store.getClient('c1')).toMatchObject({
      idTokenAlg: 'RS256',
      skipConsent: false,
      postLogoutRedirectUris: [],
    });
    expect((await store.getPerson('p1'))?.email).toBeNull();
    expect(await store.getSignInSession('h-session', now)).toEqual({
      hash: 'h-session',
      personId: 'p1',
      createdAt: now - 1000,
      expiresAt: now + 5000,
      maxExpiresAt: now + 5000,
    });
    const lookup = await sql<{ nonce: string | null }>`select nonce from grants where id = 'g1'`.execute(store.db);
    expect(lookup.rows[0]?.nonce).toBeNull();
  });

  it('allows one active signing key per algorithm: a second ES256 is refused, an RS256 beside it is stored', async () => {
    ({ store, url, cleanup } = await tempStore());
    expect(await store.addFirstSigningKey(key('es-1', 'ES256', now))).toBe(true);
    await expect(
      sql`insert into signing_keys values ('es-2', 'ES256', '{}', 'plain.{}', ${now + 1}, null)`.execute(store.db),
    ).rejects.toThrow();
    await sql`insert into signing_keys values ('rs-1', 'RS256', '{}', 'plain.{}', ${now + 2}, null)`.execute(store.db);
    // Retired keys of the same algorithm do not count.
    await sql`insert into signing_keys values ('es-0', 'ES256', '{}', 'plain.{}', ${now - 10}, ${now - 5})`.execute(
      store.db,
    );
    expect((await store.listSigningKeys()).map((k) => k.kid).sort()).toEqual(['es-0', 'es-1', 'rs-1']);
  });

  it('moves a session idle end forward, never past its absolute end, and not once it is over', async () => {
    ({ store, url, cleanup } = await tempStore());
    await sql`insert into clients (id, name, secret_hash, redirect_uris, scopes, grant_types, pkce_required, created_at, disabled_at)
      values ('c1', 'App', null, '[]', '["PATIENT"]', '[]', 1, 1, null)`.execute(store.db);
    await sql`insert into people (id, username, display_name, password_hash, roles, created_at, disabled_at)
      values ('p1', 'alice', 'Alice', 'x', '["PATIENT"]', 1, null)`.execute(store.db);
    await store.createSignInSession({
      hash: 's',
      personId: 'p1',
      createdAt: now,
      expiresAt: now + 1000,
      maxExpiresAt: now + 3000,
    });
    expect(await store.touchSignInSession('s', now + 500, now + 2000)).toBe(true);
    expect((await store.getSignInSession('s', now + 1500))?.expiresAt).toBe(now + 2000);
    expect(await store.touchSignInSession('s', now + 1900, now + 9000)).toBe(true);
    expect((await store.getSignInSession('s', now + 1900))?.expiresAt).toBe(now + 3000);
    expect(await store.getSignInSession('s', now + 3000)).toBeUndefined();
    expect(await store.touchSignInSession('s', now + 3000, now + 9000)).toBe(false);
    expect(await store.touchSignInSession('unknown', now, now + 9000)).toBe(false);
  });
});
