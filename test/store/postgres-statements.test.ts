/**
 * How the store talks to PostgreSQL: hot statements go out as named prepared statements
 * (parsed once per connection); they name their columns, so a migration that adds a
 * column while an instance runs does not break the statements it has prepared; a
 * statement whose result type changed under it costs one failed call and a fresh
 * connection, not a broken instance; waits for a pool connection are counted.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import { rows } from '../../src/store/executor.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import { statement } from '../../src/store/prepared.js';
import type { GrantRecord } from '../../src/store/store.js';
import { addClient, addUser, tempPostgresUrl, TEST_ENGINE } from '../helpers/harness.js';

const now = Date.now();

describe.skipIf(TEST_ENGINE !== 'postgres')('the store on PostgreSQL', () => {
  let store: KyselyStore;
  let drop: () => Promise<void>;
  let clientId: string;
  let personId: string;
  const code = { hash: hashSecret(newSecret()), refresh: hashSecret(newSecret()), access: hashSecret(newSecret()) };

  beforeEach(async () => {
    const temp = await tempPostgresUrl();
    drop = temp.drop;
    // One connection: what one call prepared, the next finds.
    store = await openStore(temp.url, { poolSize: 1 });
    clientId = (await addClient(store)).client.id;
    personId = (await addUser(store, 'alice', ['PATIENT'])).id;
    const grant: GrantRecord = {
      id: newId(),
      personId,
      clientId,
      scope: 'PATIENT',
      authTime: null,
      sessionId: null,
      createdAt: now,
      expiresAt: now + 3_600_000,
      revokedAt: null,
      nonce: null,
    };
    await store.createGrantWithCode(grant, {
      hash: code.hash,
      grantId: grant.id,
      redirectUri: null,
      codeChallenge: null,
      expiresAt: now + 60_000,
      consumedAt: null,
    });
    const access = {
      hash: code.access,
      grantId: grant.id,
      scope: 'PATIENT',
      format: 'opaque' as const,
      jti: null,
      createdAt: now,
      expiresAt: now + 600_000,
    };
    const refresh = {
      hash: code.refresh,
      grantId: grant.id,
      scope: 'PATIENT',
      expiresAt: grant.expiresAt,
      retiredAt: null,
    };
    expect(await store.consumeAuthorizationCode(code.hash, now, access, refresh)).toBe('ok');
  });
  afterEach(async () => {
    await store.close();
    await drop();
  });

  /** Every lookup of a token request and an API call. */
  const hotReads = async () => ({
    client: await store.getClient(clientId),
    person: await store.getPerson(personId),
    code: await store.findAuthorizationCode(code.hash),
    refresh: await store.findRefreshToken(code.refresh),
    access: await store.findAccessToken(code.access),
  });

  const prepared = async (): Promise<string[]> => {
    const query = sql<{ name: string }>`select name from pg_prepared_statements order by name`;
    const found = await store.exec.read(() => rows(statement({ compile: () => query.compile(store.db) })));
    return found.map((r) => r.name);
  };

  it('sends hot statements as named ones, prepared once on the connection', async () => {
    await hotReads();
    const first = await prepared();
    expect(first.filter((n) => n.startsWith('tessera_')).length).toBeGreaterThanOrEqual(5);
    await hotReads();
    expect(await prepared()).toEqual(first);
  });

  it('keeps working when a migration adds columns while it runs', async () => {
    const before = await hotReads();
    for (const table of ['clients', 'people', 'grants', 'authorization_codes', 'refresh_tokens', 'access_tokens']) {
      await sql`alter table ${sql.table(table)} add column added_later text`.execute(store.db);
    }
    expect(await hotReads()).toEqual(before);
  });

  it("replaces the connection when a prepared statement's result type changed under it", async () => {
    const before = await store.findAccessToken(code.access);
    await sql`alter table access_tokens alter column scope type varchar(500)`.execute(store.db);
    // PostgreSQL refuses the prepared statement on the connection that prepared it once…
    await store.findAccessToken(code.access).catch(() => undefined);
    // …and the next call runs on a new connection.
    expect(await store.findAccessToken(code.access)).toEqual(before);
    expect(await store.findAccessToken(code.access)).toEqual(before);
  });

  it('counts the waits for a pool connection', async () => {
    store.poolWaits?.take();
    await Promise.all(Array.from({ length: 8 }, () => store.getClient(clientId)));
    const report = store.poolWaits?.take();
    expect(report).toMatchObject({ acquired: 8, open: 1 });
    expect(report?.waited).toBeGreaterThanOrEqual(1);
    expect(report?.maxWaitMs).toBeGreaterThanOrEqual(0);
    // Nothing happened since: nothing to report.
    expect(store.poolWaits?.take()).toBeUndefined();
  });
});
