/**
 * Use-once credentials redeemed from two connections at once (two stores on one
 * database, as two instances would be): of a burst split between them exactly one
 * redemption wins and only its tokens are stored (RFC 6749 §4.1.2 and §10.4,
 * RFC 9700 §4.14.2). On PostgreSQL each redemption is one statement (a data-modifying
 * CTE); on SQLite a few statements in one transaction. The same cases hold for both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { AccessTokenRecord, GrantRecord, RefreshTokenRecord, UseOnceResult } from '../../src/store/store.js';
import { addClient, addUser, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const PER_CONNECTION = 25;

describe(`use-once credentials from two connections (${TEST_ENGINE})`, () => {
  let a: KyselyStore;
  let b: KyselyStore;
  let cleanup: () => Promise<void>;
  let grant: GrantRecord;
  const now = 1_800_000_000_000;

  beforeEach(async () => {
    const temp = await tempStore();
    a = temp.store;
    b = await openStore(temp.url);
    cleanup = async () => {
      await b.close();
      await temp.cleanup();
    };
    const { client } = await addClient(a);
    const person = await addUser(a, 'alice', ['PATIENT']);
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

  const access = (): AccessTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    scope: 'PATIENT',
    format: 'opaque',
    jti: null,
    createdAt: now,
    expiresAt: now + 600_000,
  });
  const refresh = (): RefreshTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    scope: 'PATIENT',
    expiresAt: grant.expiresAt,
    retiredAt: null,
  });

  const newCode = (redirectUri: string | null) => ({
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    redirectUri,
    codeChallenge: null,
    expiresAt: now + 60_000,
    consumedAt: null,
  });

  /** What each racer tried to store, and what the store answered. */
  interface Attempt {
    access: AccessTokenRecord;
    refresh: RefreshTokenRecord;
    result: UseOnceResult;
  }

  async function burst(
    use: (store: KyselyStore, access: AccessTokenRecord, refresh: RefreshTokenRecord) => Promise<UseOnceResult>,
  ): Promise<Attempt[]> {
    const racers = Array.from({ length: 2 * PER_CONNECTION }, (_, i) => ({
      store: i % 2 === 0 ? a : b,
      access: access(),
      refresh: refresh(),
    }));
    return Promise.all(
      racers.map(async (r) => ({
        access: r.access,
        refresh: r.refresh,
        result: await use(r.store, r.access, r.refresh),
      })),
    );
  }

  /** Exactly one winner, whose tokens are stored; no loser's token exists anywhere. */
  async function expectOneWinner(attempts: Attempt[]): Promise<Attempt> {
    const winners = attempts.filter((x) => x.result === 'ok');
    expect(winners).toHaveLength(1);
    expect(attempts.filter((x) => x.result === 'replayed')).toHaveLength(attempts.length - 1);
    const winner = winners[0] as Attempt;
    for (const x of attempts) {
      const mine = x === winner;
      // Read through the other connection too: what one stored is committed for all.
      expect((await b.findAccessToken(x.access.hash)) !== undefined).toBe(mine);
      expect((await a.findRefreshToken(x.refresh.hash)) !== undefined).toBe(mine);
    }
    return winner;
  }

  it('a code redeemed from both connections at once: one winner, only its tokens stored', async () => {
    const code = newCode('https://app.example/cb');
    await a.createGrantWithCode(grant, code);
    const attempts = await burst((store, at, rt) => store.consumeAuthorizationCode(code.hash, now + 1, at, rt));
    await expectOneWinner(attempts);
    expect((await b.findAuthorizationCode(code.hash))?.code.consumedAt).toBe(now + 1);
    // An unknown code is missing, not replayed, on both connections.
    const unknown = hashSecret(newSecret());
    expect(await a.consumeAuthorizationCode(unknown, now, access(), null)).toBe('missing');
    expect(await b.consumeAuthorizationCode(unknown, now, access(), null)).toBe('missing');
  });

  it('a redemption without a refresh token stores the access token only', async () => {
    const code = newCode(null);
    await a.createGrantWithCode(grant, code);
    const at = access();
    expect(await b.consumeAuthorizationCode(code.hash, now, at, null)).toBe('ok');
    expect((await a.findAccessToken(at.hash))?.grant.id).toBe(grant.id);
    const rows = await a.db.selectFrom('refresh_tokens').select('hash').where('grant_id', '=', grant.id).execute();
    expect(rows).toEqual([]);
  });

  it('a retired refresh token presented while its successor is issued: one rotation, the family revoked exactly once', async () => {
    const code = newCode(null);
    await a.createGrantWithCode(grant, code);
    const first = refresh();
    expect(await a.consumeAuthorizationCode(code.hash, now, access(), first)).toBe('ok');

    const attempts = await burst((store, at, rt) => store.rotateRefreshToken(first.hash, now + 2, at, rt));
    const winner = await expectOneWinner(attempts);
    expect((await b.findRefreshToken(first.hash))?.token.retiredAt).toBe(now + 2);

    // Every loser presented a retired token: each revokes the grant (the token endpoint's
    // reuse rule), from both connections at once. One of them revokes it; the rest find it
    // revoked already and leave its time alone.
    const losers = attempts.filter((x) => x !== winner);
    const revoked = await Promise.all(losers.map((_, i) => (i % 2 === 0 ? a : b).revokeGrant(grant.id, now + 3 + i)));
    expect(revoked.filter(Boolean)).toHaveLength(1);
    const revokedAt = (await a.findRefreshToken(winner.refresh.hash))?.grant.revokedAt;
    expect(revokedAt).toBe(now + 3 + revoked.indexOf(true));
    // The successor the winner was given belongs to the revoked family.
    expect((await b.findAccessToken(winner.access.hash))?.grant.revokedAt).toBe(revokedAt);
    expect(await a.revokeGrant(grant.id, now + 99)).toBe(false);
  });
});
