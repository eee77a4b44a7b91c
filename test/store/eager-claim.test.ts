/**
 * A code or refresh token looked up and claimed in one statement (PostgreSQL): the claim
 * happens only when nothing would make the grant handler refuse the request, and the
 * lookup it returns is the credential as it was before. Each case that the handler refuses
 * must leave the credential unused and store no token: a claim there would spend a code or
 * a refresh token on a request that is answered with an error. SQLite only looks up
 * (`claimed` false), and its credential is redeemed by the ordinary use-once write.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { CodeClaim, EagerClaim, GrantRecord } from '../../src/store/store.js';
import { addClient, addUser, pkcePair, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const now = 1_800_000_000_000;
const REDIRECT = 'https://app.example/cb';
const eager = TEST_ENGINE === 'postgres';

describe(`a credential looked up and claimed in one statement (${TEST_ENGINE})`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let url: string;
  let clientId: string;
  let otherClientId: string;
  let personId: string;
  const pkce = pkcePair();

  beforeEach(async () => {
    const temp = await tempStore();
    store = temp.store;
    url = temp.url;
    cleanup = temp.cleanup;
    clientId = (await addClient(store)).client.id;
    otherClientId = (await addClient(store, { name: 'Other' })).client.id;
    personId = (await addUser(store, 'alice', ['PATIENT'])).id;
  });
  afterEach(async () => {
    await cleanup();
  });

  const newGrant = (over: Partial<GrantRecord> = {}): GrantRecord => ({
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
    ...over,
  });

  /** A code on a new grant; returns its hash. */
  async function code(
    over: {
      grant?: Partial<GrantRecord>;
      redirectUri?: string | null;
      challenge?: string | null;
      expiresAt?: number;
    } = {},
  ): Promise<{ hash: string; grant: GrantRecord }> {
    const grant = newGrant(over.grant);
    const hash = hashSecret(newSecret());
    await store.createGrantWithCode(grant, {
      hash,
      grantId: grant.id,
      redirectUri: over.redirectUri === undefined ? REDIRECT : over.redirectUri,
      codeChallenge: over.challenge === undefined ? pkce.challenge : over.challenge,
      expiresAt: over.expiresAt ?? now + 60_000,
      consumedAt: null,
    });
    return { hash, grant };
  }

  const tokens = (withRefresh = true) => ({
    accessHash: hashSecret(newSecret()),
    accessExpiresAt: now + 600_000,
    refreshHash: withRefresh ? hashSecret(newSecret()) : null,
  });

  const codeClaim = (over: Partial<CodeClaim> = {}): CodeClaim => ({
    now,
    clientId,
    ...tokens(),
    redirectUri: REDIRECT,
    codeChallenge: pkce.challenge,
    ...over,
  });

  async function tokenRows() {
    const access = await store.db.selectFrom('access_tokens').selectAll().execute();
    const refresh = await store.db.selectFrom('refresh_tokens').selectAll().execute();
    return { access, refresh };
  }

  it('claims a code the request matches, stores the tokens with the grant’s scope, and returns the code as it was', async () => {
    const { hash, grant } = await code();
    const claim = codeClaim();
    expect(store.claimsEagerly).toBe(eager);
    const { found, claimed } = await store.claimAuthorizationCode(hash, claim);
    expect(claimed).toBe(eager);
    expect(found?.code).toMatchObject({ hash, grantId: grant.id, consumedAt: null, redirectUri: REDIRECT });
    expect(found?.grant).toEqual(grant);
    // The same lookup as findAuthorizationCode gives (before the claim).
    expect((await store.findAuthorizationCode(hash))?.code.consumedAt).toBe(eager ? now : null);
    const rows = await tokenRows();
    if (!eager) {
      expect(rows.access).toEqual([]);
      expect(rows.refresh).toEqual([]);
      return;
    }
    expect(rows.access).toHaveLength(1);
    expect(rows.access[0]).toMatchObject({
      hash: claim.accessHash,
      grant_id: grant.id,
      scope: 'PATIENT read',
      format: 'opaque',
      jti: null,
    });
    expect(Number(rows.access[0]!.created_at)).toBe(now);
    expect(Number(rows.access[0]!.expires_at)).toBe(claim.accessExpiresAt);
    expect(rows.refresh).toHaveLength(1);
    expect(rows.refresh[0]).toMatchObject({
      hash: claim.refreshHash,
      grant_id: grant.id,
      scope: 'PATIENT read',
      retired_at: null,
    });
    expect(Number(rows.refresh[0]!.expires_at)).toBe(grant.expiresAt);
    // The tokens are found like any others.
    expect((await store.findAccessToken(claim.accessHash))?.token.grantId).toBe(grant.id);
  });

  it('claims a code without PKCE or redirect_uri when the request sends neither', async () => {
    const { hash } = await code({ redirectUri: null, challenge: null });
    const { claimed } = await store.claimAuthorizationCode(hash, codeClaim({ redirectUri: null, codeChallenge: null }));
    expect(claimed).toBe(eager);
  });

  it('stores no refresh token when none is asked for, or when the grant has no time left', async () => {
    const first = await code();
    expect((await store.claimAuthorizationCode(first.hash, codeClaim({ refreshHash: null }))).claimed).toBe(eager);
    // A grant whose session ended while its code is still valid: an access token only.
    const ended = await code({ grant: { expiresAt: now } });
    expect((await store.claimAuthorizationCode(ended.hash, codeClaim())).claimed).toBe(eager);
    const rows = await tokenRows();
    expect(rows.access).toHaveLength(eager ? 2 : 0);
    expect(rows.refresh).toEqual([]);
  });

  // Every request the handler refuses (authorization-code.ts), and the one it sends to the
  // ordinary path (a redirect_uri where the code was issued without one).
  const refusedCodes: Array<[string, () => Promise<{ hash: string; claim: CodeClaim }>]> = [
    ['another client', async () => ({ hash: (await code()).hash, claim: codeClaim({ clientId: otherClientId }) })],
    ['expired', async () => ({ hash: (await code({ expiresAt: now })).hash, claim: codeClaim() })],
    ['grant revoked', async () => ({ hash: (await code({ grant: { revokedAt: now - 1 } })).hash, claim: codeClaim() })],
    [
      'other redirect_uri',
      async () => ({ hash: (await code()).hash, claim: codeClaim({ redirectUri: `${REDIRECT}x` }) }),
    ],
    [
      'no redirect_uri for a code bound to one',
      async () => ({ hash: (await code()).hash, claim: codeClaim({ redirectUri: null }) }),
    ],
    [
      'a redirect_uri for a code bound to none',
      async () => ({ hash: (await code({ redirectUri: null })).hash, claim: codeClaim() }),
    ],
    [
      'other verifier',
      async () => ({ hash: (await code()).hash, claim: codeClaim({ codeChallenge: pkcePair().challenge }) }),
    ],
    [
      'no verifier for a code with a challenge',
      async () => ({ hash: (await code()).hash, claim: codeClaim({ codeChallenge: null }) }),
    ],
    [
      'a verifier for a code without a challenge',
      async () => ({ hash: (await code({ challenge: null })).hash, claim: codeClaim() }),
    ],
    [
      'the person disabled',
      async () => {
        const { hash } = await code();
        await store.db
          .updateTable('people')
          .set({ disabled_at: now - 1 })
          .where('id', '=', personId)
          .execute();
        return { hash, claim: codeClaim() };
      },
    ],
    [
      'the person removed',
      async () => {
        const grant = newGrant({ personId: (await addUser(store, 'bob', ['PATIENT'])).id });
        const { hash } = await code({ grant });
        await store.db.deleteFrom('people').where('username', '=', 'bob').execute();
        return { hash, claim: codeClaim() };
      },
    ],
    [
      'used already',
      async () => {
        const { hash } = await code();
        await store.db
          .updateTable('authorization_codes')
          .set({ consumed_at: now - 1 })
          .where('hash', '=', hash)
          .execute();
        return { hash, claim: codeClaim() };
      },
    ],
  ];

  it.each(refusedCodes)('never claims a code for a request it cannot take: %s', async (_case, setUp) => {
    const { hash, claim } = await setUp();
    const before = await store.findAuthorizationCode(hash);
    const { found, claimed } = await store.claimAuthorizationCode(hash, claim);
    expect(claimed).toBe(false);
    expect(found).toEqual(before);
    expect(await store.findAuthorizationCode(hash)).toEqual(before);
    expect(await tokenRows()).toEqual({ access: [], refresh: [] });
  });

  it('finds nothing, claims nothing for an unknown code', async () => {
    expect(await store.claimAuthorizationCode(hashSecret(newSecret()), codeClaim())).toEqual({
      found: undefined,
      claimed: false,
    });
  });

  it('only looks the code up without a claim', async () => {
    const { hash } = await code();
    expect(await store.claimAuthorizationCode(hash, undefined)).toEqual({
      found: await store.findAuthorizationCode(hash),
      claimed: false,
    });
    expect((await store.findAuthorizationCode(hash))?.code.consumedAt).toBeNull();
  });

  /** A refresh token of scope `PATIENT` on a grant of `PATIENT read` (narrowed before). */
  async function refreshToken(
    over: { grant?: Partial<GrantRecord>; expiresAt?: number; retiredAt?: number | null } = {},
  ): Promise<{ hash: string; grant: GrantRecord }> {
    const grant = newGrant(over.grant);
    const hash = hashSecret(newSecret());
    await store.createGrantWithAccessToken(grant, {
      hash: hashSecret(newSecret()),
      grantId: grant.id,
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: now - 1000,
      expiresAt: now + 1000,
    });
    await store.db
      .insertInto('refresh_tokens')
      .values({
        hash,
        grant_id: grant.id,
        scope: 'PATIENT',
        expires_at: over.expiresAt ?? grant.expiresAt,
        retired_at: over.retiredAt ?? null,
      })
      .execute();
    return { hash, grant };
  }

  const refreshClaim = (over: Partial<EagerClaim> = {}): EagerClaim => ({ now, clientId, ...tokens(), ...over });

  it('claims a live refresh token and stores the new tokens with the token’s own scope', async () => {
    const { hash, grant } = await refreshToken();
    const claim = refreshClaim();
    const { found, claimed } = await store.claimRefreshToken(hash, claim);
    expect(claimed).toBe(eager);
    expect(found?.token).toMatchObject({ hash, scope: 'PATIENT', retiredAt: null });
    expect(found?.grant).toEqual(grant);
    expect((await store.findRefreshToken(hash))?.token.retiredAt).toBe(eager ? now : null);
    if (!eager) return;
    const access = await store.findAccessToken(claim.accessHash);
    expect(access?.token).toMatchObject({ grantId: grant.id, scope: 'PATIENT', expiresAt: claim.accessExpiresAt });
    const next = await store.findRefreshToken(claim.refreshHash!);
    expect(next?.token).toMatchObject({
      grantId: grant.id,
      scope: 'PATIENT',
      expiresAt: grant.expiresAt,
      retiredAt: null,
    });
  });

  const refusedRefresh: Array<[string, () => Promise<{ hash: string; claim: EagerClaim }>]> = [
    [
      'another client',
      async () => ({ hash: (await refreshToken()).hash, claim: refreshClaim({ clientId: otherClientId }) }),
    ],
    ['retired', async () => ({ hash: (await refreshToken({ retiredAt: now - 1 })).hash, claim: refreshClaim() })],
    ['expired', async () => ({ hash: (await refreshToken({ expiresAt: now })).hash, claim: refreshClaim() })],
    [
      'grant ended',
      async () => ({ hash: (await refreshToken({ grant: { expiresAt: now } })).hash, claim: refreshClaim() }),
    ],
    [
      'grant revoked',
      async () => ({ hash: (await refreshToken({ grant: { revokedAt: now - 1 } })).hash, claim: refreshClaim() }),
    ],
    [
      'the person disabled',
      async () => {
        const { hash } = await refreshToken();
        await store.db
          .updateTable('people')
          .set({ disabled_at: now - 1 })
          .where('id', '=', personId)
          .execute();
        return { hash, claim: refreshClaim() };
      },
    ],
  ];

  it.each(refusedRefresh)('never claims a refresh token for a request it cannot take: %s', async (_case, setUp) => {
    const { hash, claim } = await setUp();
    const before = await store.findRefreshToken(hash);
    const { found, claimed } = await store.claimRefreshToken(hash, claim);
    expect(claimed).toBe(false);
    expect(found).toEqual(before);
    expect(await store.findRefreshToken(hash)).toEqual(before);
    expect(await store.findAccessToken(claim.accessHash)).toBeUndefined();
    expect(await store.findRefreshToken(claim.refreshHash!)).toBeUndefined();
  });

  // On PostgreSQL the claims asked in one event-loop turn go out as one statement
  // (turn-batch.ts): each request must still get exactly what it would get alone.
  const statementsFor = async <T>(work: () => Promise<T>): Promise<{ result: T; statements: number | undefined }> => {
    store.poolWaits?.take();
    const result = await work();
    return { result, statements: store.poolWaits?.take()?.acquired };
  };

  it('answers the claims of one turn each as if alone, in one statement', async () => {
    const codes = await Promise.all([code(), code(), code(), code()]);
    const refused = await code();
    const refreshes = await Promise.all([refreshToken(), refreshToken()]);
    const claims = codes.map(() => codeClaim());
    const refusedClaim = codeClaim({ clientId: otherClientId });
    const refreshClaims = refreshes.map(() => refreshClaim());
    const before = await store.findAuthorizationCode(refused.hash);
    const { result, statements } = await statementsFor(() =>
      Promise.all([
        Promise.all(codes.map(({ hash }, i) => store.claimAuthorizationCode(hash, claims[i]))),
        store.claimAuthorizationCode(refused.hash, refusedClaim),
        store.claimAuthorizationCode(hashSecret(newSecret()), codeClaim()),
        Promise.all(refreshes.map(({ hash }, i) => store.claimRefreshToken(hash, refreshClaims[i]))),
      ]),
    );
    const [claimedCodes, refusedResult, unknown, claimedRefreshes] = result;
    claimedCodes.forEach((r, i) => {
      expect(r.claimed).toBe(eager);
      expect(r.found?.code).toMatchObject({ hash: codes[i]!.hash, consumedAt: null });
      expect(r.found?.grant).toEqual(codes[i]!.grant);
    });
    expect(refusedResult).toEqual({ found: before, claimed: false });
    expect(unknown).toEqual({ found: undefined, claimed: false });
    claimedRefreshes.forEach((r, i) => {
      expect(r.claimed).toBe(eager);
      expect(r.found?.token).toMatchObject({ hash: refreshes[i]!.hash, retiredAt: null });
    });
    if (!eager) return;
    // One statement for the codes, one for the refresh tokens.
    expect(statements).toBe(2);
    for (const [i, claim] of claims.entries()) {
      expect((await store.findAccessToken(claim.accessHash))?.grant.id).toBe(codes[i]!.grant.id);
      expect((await store.findRefreshToken(claim.refreshHash!))?.grant.id).toBe(codes[i]!.grant.id);
    }
    for (const [i, claim] of refreshClaims.entries()) {
      expect((await store.findAccessToken(claim.accessHash))?.token.scope).toBe('PATIENT');
      expect((await store.findRefreshToken(claim.refreshHash!))?.grant.id).toBe(refreshes[i]!.grant.id);
    }
    expect(await store.findAccessToken(refusedClaim.accessHash)).toBeUndefined();
    expect(await store.findAuthorizationCode(refused.hash)).toEqual(before);
  });

  it.each([
    ['before', true],
    ['after', false],
  ])('claims a code for the request it matches when a refused one for the same code comes %s it', async (_, first) => {
    const { hash } = await code();
    const good = codeClaim();
    const bad = codeClaim({ clientId: otherClientId });
    const [a, b] = await Promise.all([
      store.claimAuthorizationCode(hash, first ? bad : good),
      store.claimAuthorizationCode(hash, first ? good : bad),
    ]);
    const [forBad, forGood] = first ? [a, b] : [b, a];
    expect(forGood.claimed).toBe(eager);
    expect(forBad.claimed).toBe(false);
    const rows = await tokenRows();
    expect(rows.access.map((r) => r.hash)).toEqual(eager ? [good.accessHash] : []);
  });

  it('matches bindings with quotes, backslashes, commas, braces or the word NULL when claims share a statement', async () => {
    const odd = ['https://app.example/cb?a="x",{y}', 'https://app.example/cb\\z', 'NULL'];
    const codes = await Promise.all(odd.map((redirectUri) => code({ redirectUri })));
    const claims = odd.map((redirectUri) => codeClaim({ redirectUri }));
    const results = await Promise.all(codes.map(({ hash }, i) => store.claimAuthorizationCode(hash, claims[i])));
    expect(results.map((r) => r.claimed)).toEqual(odd.map(() => eager));
    expect(results.map((r) => r.found?.code.redirectUri)).toEqual(odd);
  });

  it('of 20 claims of one code in one statement, one wins and only its tokens are stored', async () => {
    const { hash } = await code();
    const claims = Array.from({ length: 20 }, () => codeClaim());
    const { result, statements } = await statementsFor(() =>
      Promise.all(claims.map((claim) => store.claimAuthorizationCode(hash, claim))),
    );
    const winners = claims.filter((_, i) => result[i]!.claimed);
    expect(winners).toHaveLength(eager ? 1 : 0);
    if (eager) expect(statements).toBe(1);
    const rows = await tokenRows();
    expect(rows.access.map((r) => r.hash)).toEqual(winners.map((w) => w.accessHash));
    expect(rows.refresh.map((r) => r.hash)).toEqual(winners.map((w) => w.refreshHash));
    expect(result.every((r) => r.found?.code.consumedAt === null)).toBe(true);
  });

  it('of 50 claims of one code from two connections, one wins and only its tokens are stored', async () => {
    const other = await openStore(url);
    try {
      const { hash } = await code();
      const claims = Array.from({ length: 50 }, () => codeClaim());
      const results = await Promise.all(
        claims.map((claim, i) => (i % 2 ? other : store).claimAuthorizationCode(hash, claim)),
      );
      const winners = results.flatMap((r, i) => (r.claimed ? [claims[i]!] : []));
      expect(winners).toHaveLength(eager ? 1 : 0);
      const rows = await tokenRows();
      expect(rows.access.map((r) => r.hash)).toEqual(winners.map((w) => w.accessHash));
      expect(rows.refresh.map((r) => r.hash)).toEqual(winners.map((w) => w.refreshHash));
      // Every racer saw the code: those that lost to a racer still in flight saw it unused.
      expect(results.every((r) => r.found?.code.hash === hash)).toBe(true);
    } finally {
      await other.close();
    }
  });
});
