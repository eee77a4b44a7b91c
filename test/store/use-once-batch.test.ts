/**
 * The lookup-then-redeem path of codes and refresh tokens (the one JWT access tokens take:
 * a JWT is made of the grant read first). On PostgreSQL the lookups of one event-loop turn
 * go out as one query and the use-once writes as one statement (turn-batch.ts); each
 * request must still get exactly what it would get alone — `ok` for one winner per
 * credential, `replayed` for the others, `missing` for an unknown one, its own tokens
 * stored and no one else's. These tests fail the day a turn's requests stop sharing a
 * statement, or the day sharing changes an answer. SQLite runs each alone: the same
 * answers, no statement count.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { AccessTokenRecord, GrantRecord, RefreshTokenRecord } from '../../src/store/store.js';
import { addClient, addUser, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const now = 1_800_000_000_000;
const batched = TEST_ENGINE === 'postgres';

describe(`codes and refresh tokens looked up, then redeemed, several per turn (${TEST_ENGINE})`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let clientId: string;
  let personId: string;

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    clientId = (await addClient(store)).client.id;
    personId = (await addUser(store, 'alice', ['PATIENT'])).id;
  });
  afterEach(async () => {
    await cleanup();
  });

  const newGrant = (): GrantRecord => ({
    id: newId(),
    personId,
    clientId,
    scope: 'PATIENT read',
    authTime: null,
    sessionId: null,
    createdAt: now - 1000,
    expiresAt: now + 3_600_000,
    revokedAt: null,
    nonce: null,
  });

  async function code(): Promise<{ hash: string; grant: GrantRecord }> {
    const grant = newGrant();
    const hash = hashSecret(newSecret());
    await store.createGrantWithCode(grant, {
      hash,
      grantId: grant.id,
      redirectUri: null,
      codeChallenge: null,
      expiresAt: now + 60_000,
      consumedAt: null,
    });
    return { hash, grant };
  }

  /** A refresh token on a grant that a code was redeemed for. */
  async function refreshToken(): Promise<{ hash: string; grant: GrantRecord }> {
    const { hash: codeHash, grant } = await code();
    const refresh = refreshRecord(grant);
    expect(await store.consumeAuthorizationCode(codeHash, now, jwt(grant), refresh)).toBe('ok');
    return { hash: refresh.hash, grant };
  }

  /** A JWT access token's record: its hash, its own jti, and a scope that needs escaping in an array literal. */
  const jwt = (grant: GrantRecord, scope = grant.scope): AccessTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    scope,
    format: 'jwt',
    jti: newSecret(),
    createdAt: now,
    expiresAt: now + 600_000,
  });
  const refreshRecord = (grant: GrantRecord): RefreshTokenRecord => ({
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    scope: grant.scope,
    expiresAt: grant.expiresAt,
    retiredAt: null,
  });

  /** The result of `work` and how many pool connections it took (PostgreSQL: one per statement). */
  async function statementsFor<T>(work: () => Promise<T>): Promise<{ result: T; statements: number | undefined }> {
    store.poolWaits?.take();
    const result = await work();
    return { result, statements: store.poolWaits?.take()?.acquired };
  }

  it('answers the lookups of one turn, codes and refresh tokens, each as if alone', async () => {
    const codes = await Promise.all([code(), code(), code()]);
    const refreshes = await Promise.all([refreshToken(), refreshToken()]);
    const alone = [];
    for (const { hash } of codes) alone.push(await store.findAuthorizationCode(hash));
    const aloneRefresh = [];
    for (const { hash } of refreshes) aloneRefresh.push(await store.findRefreshToken(hash));
    expect(alone.map((found) => found?.grant.id)).toEqual(codes.map((c) => c.grant.id));

    const unknown = hashSecret(newSecret());
    const { result, statements } = await statementsFor(() =>
      Promise.all([
        Promise.all([...codes.map((c) => c.hash), unknown, codes[0]!.hash].map((h) => store.findAuthorizationCode(h))),
        Promise.all([...refreshes.map((r) => r.hash), unknown].map((h) => store.findRefreshToken(h))),
      ]),
    );
    expect(result[0]).toEqual([...alone, undefined, alone[0]]);
    expect(result[1]).toEqual([...aloneRefresh, undefined]);
    // One query for the six code lookups, one for the three refresh token lookups.
    if (batched) expect(statements).toBe(2);
  });

  it('redeems the codes and refresh tokens of one turn each as if alone, in one statement each', async () => {
    const codes = await Promise.all([code(), code(), code(), code()]);
    const refreshes = await Promise.all([refreshToken(), refreshToken()]);
    const issued = codes.map(({ grant }) => ({
      // Scopes an array literal must quote or escape: the parameters travel as arrays.
      access: jwt(grant, 'PATIENT read "x",{y}\\z NULL'),
      refresh: refreshRecord(grant),
    }));
    const rotated = refreshes.map(({ grant }) => ({ access: jwt(grant), refresh: refreshRecord(grant) }));
    const unknownAccess = jwt(codes[0]!.grant);

    const { result, statements } = await statementsFor(() =>
      Promise.all([
        Promise.all(
          codes.map(({ hash }, i) => store.consumeAuthorizationCode(hash, now, issued[i]!.access, issued[i]!.refresh)),
        ),
        store.consumeAuthorizationCode(hashSecret(newSecret()), now, unknownAccess, null),
        Promise.all(
          refreshes.map(({ hash }, i) => store.rotateRefreshToken(hash, now, rotated[i]!.access, rotated[i]!.refresh)),
        ),
      ]),
    );
    expect(result).toEqual([['ok', 'ok', 'ok', 'ok'], 'missing', ['ok', 'ok']]);
    // One statement for the five codes, one for the two refresh tokens.
    if (batched) expect(statements).toBe(2);

    for (const [i, { access, refresh }] of [...issued, ...rotated].entries()) {
      const grant = [...codes, ...refreshes][i]!.grant;
      const found = await store.findAccessToken(access.hash);
      expect(found?.token).toEqual(access);
      expect(found?.grant.id).toBe(grant.id);
      expect((await store.findRefreshToken(refresh.hash))?.token).toEqual(refresh);
    }
    expect(await store.findAccessToken(unknownAccess.hash)).toBeUndefined();
    for (const { hash } of codes) expect((await store.findAuthorizationCode(hash))?.code.consumedAt).toBe(now);
    for (const { hash } of refreshes) expect((await store.findRefreshToken(hash))?.token.retiredAt).toBe(now);
  });

  it('of 20 redemptions of one code in one turn, one wins, the others are replays, and only its tokens are stored', async () => {
    const { hash, grant } = await code();
    const issued = Array.from({ length: 20 }, () => ({ access: jwt(grant), refresh: refreshRecord(grant) }));
    const { result, statements } = await statementsFor(() =>
      Promise.all(issued.map(({ access, refresh }) => store.consumeAuthorizationCode(hash, now, access, refresh))),
    );
    expect(result.filter((r) => r === 'ok')).toHaveLength(1);
    expect(result.filter((r) => r === 'replayed')).toHaveLength(19);
    if (batched) expect(statements).toBe(1);
    const winner = issued[result.indexOf('ok')]!;
    const access = await store.db.selectFrom('access_tokens').select('hash').execute();
    const refresh = await store.db.selectFrom('refresh_tokens').select('hash').execute();
    expect(access.map((r) => r.hash)).toEqual([winner.access.hash]);
    expect(refresh.map((r) => r.hash)).toEqual([winner.refresh.hash]);
  });

  it('of 20 rotations of one refresh token in one turn, one wins and the others are replays', async () => {
    const { hash, grant } = await refreshToken();
    const issued = Array.from({ length: 20 }, () => ({ access: jwt(grant), refresh: refreshRecord(grant) }));
    const result = await Promise.all(
      issued.map(({ access, refresh }) => store.rotateRefreshToken(hash, now, access, refresh)),
    );
    expect(result.filter((r) => r === 'ok')).toHaveLength(1);
    expect(result.filter((r) => r === 'replayed')).toHaveLength(19);
    const winner = issued[result.indexOf('ok')]!;
    for (const { access, refresh } of issued) {
      const won = access === winner.access;
      expect(await store.findAccessToken(access.hash)).toEqual(won ? expect.anything() : undefined);
      expect(await store.findRefreshToken(refresh.hash)).toEqual(won ? expect.anything() : undefined);
    }
  });

  it('fails only the request that cannot be stored when it shares a turn with others', async () => {
    const [good, bad] = await Promise.all([code(), code()]);
    const goodAccess = jwt(good.grant);
    // Its token names a grant that does not exist: the insert breaks the foreign key.
    const badAccess = { ...jwt(bad.grant), grantId: newId() };
    const [a, b] = await Promise.allSettled([
      store.consumeAuthorizationCode(good.hash, now, goodAccess, null),
      store.consumeAuthorizationCode(bad.hash, now, badAccess, null),
    ]);
    expect(a).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(b.status).toBe('rejected');
    expect((await store.findAccessToken(goodAccess.hash))?.grant.id).toBe(good.grant.id);
    // Nothing of the failed request was kept: its code is still unused.
    expect((await store.findAuthorizationCode(bad.hash))?.code.consumedAt).toBeNull();
    expect(await store.findAccessToken(badAccess.hash)).toBeUndefined();
  });
});
