/**
 * Migration 0013 on each engine: a JWT access token's `jti` is stored and read back, but
 * no index covers it — an index on 256 random bits that nothing looks up by cost a page
 * write per issued JWT. Fails the day an index on `jti` comes back; `down` restores 0004's
 * unique index, and `up` drops it again.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { GrantRecord } from '../../src/store/store.js';
import { addClient, addUser, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const now = 1_800_000_000_000;

/** The columns each index of access_tokens covers, by index name. */
async function accessTokenIndexes(store: KyselyStore): Promise<Record<string, string>> {
  if (TEST_ENGINE === 'postgres') {
    const { rows } = await sql<{ name: string; definition: string }>`
      select indexname as name, indexdef as definition from pg_indexes
      where tablename = 'access_tokens' and schemaname = current_schema()`.execute(store.db);
    return Object.fromEntries(rows.map((r) => [r.name, r.definition]));
  }
  const { rows } = await sql<{ name: string; definition: string | null }>`
    select name, sql as definition from sqlite_master where type = 'index' and tbl_name = 'access_tokens'`.execute(
    store.db,
  );
  // SQLite's own index for the primary key has no SQL: name its column.
  return Object.fromEntries(rows.map((r) => [r.name, r.definition ?? 'primary key (hash)']));
}

describe(`access tokens' jti after migration 0013 on ${TEST_ENGINE}`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('keeps every index of access_tokens but none on jti', async () => {
    const indexes = await accessTokenIndexes(store);
    expect(Object.values(indexes).filter((definition) => /jti/i.test(definition))).toEqual([]);
    // The lookups' and the sweeper's indexes are still there.
    expect(Object.keys(indexes)).toEqual(expect.arrayContaining(['access_tokens_expires_at']));
    expect(Object.values(indexes).some((definition) => /\(\s*"?hash"?\s*\)/.test(definition))).toBe(true);
  });

  it("stores and reads back each JWT's own jti", async () => {
    const { client } = await addClient(store);
    const person = await addUser(store, 'alice', ['PATIENT']);
    const grant: GrantRecord = {
      id: newId(),
      personId: person.id,
      clientId: client.id,
      scope: 'PATIENT',
      authTime: now,
      sessionId: null,
      createdAt: now,
      expiresAt: now + 3_600_000,
      revokedAt: null,
      nonce: null,
    };
    const jwt = (jti: string) => ({
      hash: hashSecret(newSecret()),
      grantId: grant.id,
      scope: 'PATIENT',
      format: 'jwt' as const,
      jti,
      createdAt: now,
      expiresAt: now + 600_000,
    });
    const first = jwt(newSecret());
    await store.createGrantWithAccessToken(grant, first);
    const other = { ...grant, id: newId() };
    const second = { ...jwt(newSecret()), grantId: other.id };
    await store.createGrantWithAccessToken(other, second);
    expect((await store.findAccessToken(first.hash))?.token.jti).toBe(first.jti);
    expect((await store.findAccessToken(second.hash))?.token.jti).toBe(second.jti);
  });

  it('down restores the unique index of 0004, up drops it again', async () => {
    await store.migrations(async (m) => {
      expect((await m.migrateTo('0012_client_notify')).error).toBeUndefined();
    });
    const restored = await accessTokenIndexes(store);
    expect(restored.access_tokens_jti).toMatch(/unique/i);
    expect(await store.migrate()).toEqual(['0013_jti_unindexed']);
    expect(Object.keys(await accessTokenIndexes(store))).not.toContain('access_tokens_jti');
  });
});
