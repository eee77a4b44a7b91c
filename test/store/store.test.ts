/**
 * The Store contract, on a real database file. Written once against the interface so
 * that each engine runs the same cases (the PostgreSQL issue adds its entry here).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore, parseDatabaseUrl, StoreOpenError } from '../../src/store/open.js';
import type { AccessTokenRecord, GrantRecord, RefreshTokenRecord } from '../../src/store/store.js';
import { addClient, addUser, countSignInAttempt, tempStore, TEST_ENGINE } from '../helpers/harness.js';

// One engine per vitest project: SQLite always, PostgreSQL when configured (vitest.config.ts).
const engines = [{ name: TEST_ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite', open: tempStore }];

for (const engine of engines) {
  describe(`Store on ${engine.name}`, () => {
    let store: KyselyStore;
    let cleanup: () => Promise<void>;
    let grant: GrantRecord & { personId: string };
    const now = 1_800_000_000_000;

    beforeEach(async () => {
      ({ store, cleanup } = await engine.open());
      const { client } = await addClient(store);
      const person = await addUser(store, 'alice', ['PATIENT']);
      grant = {
        id: newId(),
        personId: person.id,
        clientId: client.id,
        scope: 'PATIENT',
        authTime: null,
        sessionId: null,
        createdAt: now,
        expiresAt: now + 3_600_000,
        revokedAt: null,
        nonce: null,
      };
    });
    afterEach(async () => {
      await cleanup();
    });

    const access = (g: GrantRecord): AccessTokenRecord => ({
      hash: hashSecret(newSecret()),
      grantId: g.id,
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: 0,
      expiresAt: now + 600_000,
    });
    const refresh = (g: GrantRecord): RefreshTokenRecord => ({
      hash: hashSecret(newSecret()),
      grantId: g.id,
      scope: 'PATIENT',
      expiresAt: g.expiresAt,
      retiredAt: null,
    });
    const code = (g: GrantRecord) => ({
      hash: hashSecret(newSecret()),
      grantId: g.id,
      redirectUri: 'https://app.example/cb',
      codeChallenge: null,
      expiresAt: now + 60_000,
      consumedAt: null,
    });

    it('round-trips clients and people', async () => {
      const [client] = await store.listClients();
      expect(client).toMatchObject({
        name: 'Test App',
        redirectUris: ['https://app.example/cb'],
        scopes: ['PATIENT', 'CLINICIAN', 'TEAMCOORD'],
      });
      expect(await store.getClient(client!.id)).toEqual(client);
      const alice = await store.getPersonByUsername('alice');
      expect(alice).toMatchObject({ username: 'alice', roles: ['PATIENT'], disabledAt: null });
      expect(alice!.passwordHash).toMatch(/^scrypt\$/);
      expect(await store.getPerson(alice!.id)).toEqual(alice);
    });

    it('refuses a second person with the same username', async () => {
      const again = await store.createPerson({ ...(await store.getPersonByUsername('alice'))!, id: newId() });
      expect(again).toBe(false);
    });

    it('consumes a code exactly once, storing the tokens with it', async () => {
      const c = code(grant);
      await store.createGrantWithCode(grant, c);
      const first = access(grant);
      expect(await store.consumeAuthorizationCode(c.hash, now, first, refresh(grant))).toBe('ok');
      expect(await store.consumeAuthorizationCode(c.hash, now, access(grant), refresh(grant))).toBe('replayed');
      expect(await store.consumeAuthorizationCode(hashSecret('nope'), now, access(grant), null)).toBe('missing');
      expect((await store.findAuthorizationCode(c.hash))?.code.consumedAt).toBe(now);
      expect((await store.findAccessToken(first.hash))?.person?.username).toBe('alice');
    });

    it('lets only one of many concurrent consumers win', async () => {
      const c = code(grant);
      await store.createGrantWithCode(grant, c);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.consumeAuthorizationCode(c.hash, now, access(grant), refresh(grant))),
      );
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'replayed')).toHaveLength(19);
    });

    it('rotates a refresh token once; the loser sees replayed', async () => {
      const c = code(grant);
      await store.createGrantWithCode(grant, c);
      const r1 = refresh(grant);
      await store.consumeAuthorizationCode(c.hash, now, access(grant), r1);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.rotateRefreshToken(r1.hash, now, access(grant), refresh(grant))),
      );
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect((await store.findRefreshToken(r1.hash))?.token.retiredAt).toBe(now);
    });

    it('revokes a grant: its tokens report the revocation', async () => {
      const token = access(grant);
      await store.createGrantWithAccessToken(grant, token);
      await store.revokeGrant(grant.id, now + 5);
      expect((await store.findAccessToken(token.hash))?.grant.revokedAt).toBe(now + 5);
    });

    it('revokes one access token: the others of its grant, its refresh token and the grant live on', async () => {
      const c = code(grant);
      await store.createGrantWithCode(grant, c);
      const first = access(grant);
      const r1 = refresh(grant);
      await store.consumeAuthorizationCode(c.hash, now, first, r1);
      const second = access(grant);
      expect(await store.rotateRefreshToken(r1.hash, now, second, refresh(grant))).toBe('ok');

      expect(await store.revokeAccessToken(first.hash)).toBe(true);
      expect(await store.findAccessToken(first.hash)).toBeUndefined();
      expect((await store.findAccessToken(second.hash))?.grant.revokedAt).toBeNull();
      expect((await store.findRefreshToken(r1.hash))?.grant.revokedAt).toBeNull();
      // Once gone, it is gone: a second revocation and an unknown hash find nothing.
      expect(await store.revokeAccessToken(first.hash)).toBe(false);
      expect(await store.revokeAccessToken(hashSecret('nope'))).toBe(false);
    });

    it('revokes the same access token from 20 parallel calls: exactly one finds it', async () => {
      const token = access(grant);
      await store.createGrantWithAccessToken(grant, token);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.revokeAccessToken(token.hash)));
      expect(results.filter((r) => r)).toHaveLength(1);
      expect(await store.findAccessToken(token.hash)).toBeUndefined();
    });

    it('keeps the first revocation time of a grant revoked twice', async () => {
      const token = access(grant);
      await store.createGrantWithAccessToken(grant, token);
      await Promise.all([store.revokeGrant(grant.id, now + 5), store.revokeGrant(grant.id, now + 5)]);
      await store.revokeGrant(grant.id, now + 9);
      expect((await store.findAccessToken(token.hash))?.grant.revokedAt).toBe(now + 5);
    });

    it('takes a pending authorization once and hides expired ones', async () => {
      const pending = {
        id: newSecret(),
        clientId: grant.clientId,
        request: '{}',
        browserHash: hashSecret('b'),
        personId: null,
        createdAt: now,
        expiresAt: now + 1000,
      };
      await store.createPendingAuthorization(pending);
      expect(await store.getPendingAuthorization(pending.id, now + 1000)).toBeUndefined();
      expect(await store.setPendingAuthorizationPerson(pending.id, grant.personId)).toBe(true);
      const [a, b] = await Promise.all([
        store.takePendingAuthorization(pending.id, now),
        store.takePendingAuthorization(pending.id, now),
      ]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      expect((a ?? b)?.personId).toBe(grant.personId);
    });

    it('ends sign-in sessions and revokes grants when a person is disabled', async () => {
      await store.createGrantWithAccessToken(grant, access(grant));
      const session = {
        hash: hashSecret('s'),
        personId: grant.personId,
        createdAt: now,
        expiresAt: now + 1000,
        maxExpiresAt: now + 1000,
      };
      await store.createSignInSession(session);
      expect(await store.getSignInSession(session.hash, now)).toEqual(session);
      expect(await store.setPersonDisabled('alice', now)).toBe(true);
      expect(await store.getSignInSession(session.hash, now)).toBeUndefined();
      expect(
        (
          await store.findAccessToken(
            (await store.db.selectFrom('access_tokens').select('hash').executeTakeFirstOrThrow()).hash,
          )
        )?.grant.revokedAt,
      ).toBe(now);
      expect(await store.setPersonDisabled('nobody', now)).toBe(false);
    });

    it('deletes everything issued to a removed client', async () => {
      await store.createGrantWithAccessToken(grant, access(grant));
      expect(await store.removeClient(grant.clientId)).toBe(true);
      expect(await store.db.selectFrom('grants').selectAll().execute()).toHaveLength(0);
      expect(await store.db.selectFrom('access_tokens').selectAll().execute()).toHaveLength(0);
      expect(await store.removeClient(grant.clientId)).toBe(false);
    });

    it('counts sign-in attempts in a window that lasts from the last one counted', async () => {
      const counts = [];
      for (let i = 0; i < 3; i++) counts.push(await countSignInAttempt(store, 'k', now + i * 1000, 10_000));
      expect(counts).toEqual([1, 2, 3]);
      expect(await store.countSignInFailures('k', now + 11_999, 10_000)).toBe(3);
      expect(await store.countSignInFailures('k', now + 12_000, 10_000)).toBe(0);
      expect(await countSignInAttempt(store, 'k', now + 12_000, 10_000)).toBe(1);
      const racing = await Promise.all(Array.from({ length: 10 }, () => countSignInAttempt(store, 'r', now, 10_000)));
      expect(Math.max(...racing)).toBe(10);
      await store.clearSignInFailures('k');
      expect(await store.countSignInFailures('k', now + 12_000, 10_000)).toBe(0);
    });

    it("reads, decides and writes both sign-in counts at once; lists and clears one username's", async () => {
      const keys = { address: 'alice from 192.0.2.1', username: 'alice' };
      const seen: unknown[] = [];
      // A refusal writes nothing.
      const refused = await store.updateSignInCounts(keys, now, 60_000, (counts) => {
        seen.push(counts);
        return { result: 'refused' };
      });
      expect(refused).toBe('refused');
      const written = { address: { failures: 4, waitUntil: now + 5_000 }, username: { failures: 7, waitUntil: 0 } };
      await store.updateSignInCounts(keys, now, 60_000, (counts) => {
        seen.push(counts);
        return { write: written, result: undefined };
      });
      await store.updateSignInCounts(keys, now + 1, 60_000, (counts) => {
        seen.push(counts);
        return { result: undefined };
      });
      const fresh = { address: { failures: 0, waitUntil: 0 }, username: { failures: 0, waitUntil: 0 } };
      expect(seen).toEqual([fresh, fresh, written]);
      // Lapsed a window after the last counted attempt: fresh again.
      await store.updateSignInCounts(keys, now + 60_000, 60_000, (counts) => {
        seen.push(counts);
        return { result: undefined };
      });
      expect(seen[3]).toEqual(fresh);

      await countSignInAttempt(store, 'bob', now, 60_000);
      expect(
        (await store.listSignInCounts('alice', now + 1, 60_000)).sort((a, b) => Number(a.address) - Number(b.address)),
      ).toEqual([
        { address: false, failures: 7, waitUntil: 0, lastAttemptAt: now },
        { address: true, failures: 4, waitUntil: now + 5_000, lastAttemptAt: now },
      ]);
      expect(await store.listSignInCounts('alice', now + 60_000, 60_000)).toEqual([]);
      // The right password: the address's count goes, the username's takes the attempt back.
      await store.clearSignInFailures(keys.address, keys.username);
      expect(await store.listSignInCounts('alice', now + 1, 60_000)).toEqual([
        { address: false, failures: 6, waitUntil: 0, lastAttemptAt: now },
      ]);
      expect(await store.clearSignInCounts('alice')).toBe(1);
      expect(await store.listSignInCounts('alice', now + 1, 60_000)).toEqual([]);
      expect(await store.clearSignInCounts('alice')).toBe(0);
      expect(await store.countSignInFailures('bob', now, 60_000)).toBe(1);
    });

    it('keeps the first value of a setting', async () => {
      expect(await store.putSettingIfAbsent('k', 'one')).toBe('one');
      expect(await store.putSettingIfAbsent('k', 'two')).toBe('one');
      expect(await store.getSetting('missing')).toBeUndefined();
    });

    it('stores only hashes of secrets', async () => {
      const c = code(grant);
      await store.createGrantWithCode(grant, c);
      const rows = await store.db.selectFrom('authorization_codes').select('hash').execute();
      expect(rows[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });
}

describe('opening a database', () => {
  it('parses database URLs and refuses others with one line', () => {
    expect(parseDatabaseUrl('sqlite:./x.db')).toEqual({ engine: 'sqlite', path: './x.db' });
    expect(parseDatabaseUrl('sqlite:///tmp/x.db')).toEqual({ engine: 'sqlite', path: '/tmp/x.db' });
    expect(parseDatabaseUrl('postgres://u@h/db')).toEqual({ engine: 'postgres', url: 'postgres://u@h/db' });
    expect(() => parseDatabaseUrl('mysql://x')).toThrow(StoreOpenError);
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(/names no file/);
  });

  it('reports a database that cannot be created as StoreOpenError', async () => {
    await expect(openStore('sqlite:/proc/nope/tessera.db')).rejects.toThrow(StoreOpenError);
  });

  it('migrates a fresh file once; a second run applies nothing', async () => {
    const { store, cleanup } = await tempStore();
    expect(await store.migrate()).toEqual([]);
    await cleanup();
  });
});
