/**
 * The code and refresh grants over a real store, counting the store's use-once writes. On
 * PostgreSQL a request that will get tokens is answered from the statement that looks its
 * credential up (no second write); every request the grant refuses leaves the credential
 * as it was, on both engines — so that a claim made in SQL can never spend a code or a
 * refresh token on a request the handler answers with an error. The tokens the response
 * carries are the ones stored, whichever path stored them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import { authorizationCodeGrant } from '../../src/oauth/grants/authorization-code.js';
import type { GrantDeps, GrantHandler } from '../../src/oauth/grants/grant.js';
import { refreshTokenGrant } from '../../src/oauth/grants/refresh-token.js';
import { paramsFrom } from '../../src/oauth/params.js';
import { opaqueAccessTokens, tokenService, type TokenResponse } from '../../src/oauth/token-service.js';
import { DEFAULT_LIFETIMES, hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { ClientRecord, GrantRecord } from '../../src/store/store.js';
import { addClient, addUser, pkcePair, tempStore, TEST_ENGINE } from '../helpers/harness.js';

const REDIRECT = 'https://app.example/cb';
const eager = TEST_ENGINE === 'postgres';

describe(`code and refresh grants: one statement where the engine can, never a spent credential on a refusal (${TEST_ENGINE})`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let client: ClientRecord;
  let other: ClientRecord;
  let strict: ClientRecord;
  let personId: string;
  const writes = { consume: 0, rotate: 0 };
  const tokens = tokenService(DEFAULT_LIFETIMES, [opaqueAccessTokens]);

  beforeEach(async () => {
    const temp = await tempStore();
    store = temp.store;
    cleanup = temp.cleanup;
    client = (await addClient(store, { redirectUris: [REDIRECT, `${REDIRECT}2`] })).client;
    other = (await addClient(store, { name: 'Other' })).client;
    strict = (await addClient(store, { name: 'Strict', pkce: 'required' })).client;
    personId = (await addUser(store, 'alice', ['PATIENT'])).id;
    writes.consume = writes.rotate = 0;
  });
  afterEach(async () => {
    await cleanup();
  });

  /** The store, counting the use-once writes the handlers make after their lookup. */
  function deps(): GrantDeps {
    return {
      store: {
        claimsEagerly: store.claimsEagerly,
        claimAuthorizationCode: (h, c) => store.claimAuthorizationCode(h, c),
        claimRefreshToken: (h, c) => store.claimRefreshToken(h, c),
        consumeAuthorizationCode: (...a) => {
          writes.consume++;
          return store.consumeAuthorizationCode(...a);
        },
        rotateRefreshToken: (...a) => {
          writes.rotate++;
          return store.rotateRefreshToken(...a);
        },
        revokeGrant: (...a) => store.revokeGrant(...a),
        createGrantWithAccessToken: (...a) => store.createGrantWithAccessToken(...a),
        getPerson: (id) => store.getPerson(id),
      },
      tokens,
      issuer: 'https://as.example',
      now: Date.now(),
    };
  }

  async function newCode(
    of: ClientRecord,
    binding: { redirectUri: string | null; challenge: string | null },
  ): Promise<{ code: string; grant: GrantRecord }> {
    const now = Date.now();
    const grant: GrantRecord = {
      id: newId(),
      personId,
      clientId: of.id,
      scope: 'PATIENT',
      authTime: now,
      sessionId: null,
      createdAt: now,
      expiresAt: now + 3_600_000,
      revokedAt: null,
      nonce: null,
    };
    const code = newSecret();
    await store.createGrantWithCode(grant, {
      hash: hashSecret(code),
      grantId: grant.id,
      redirectUri: binding.redirectUri,
      codeChallenge: binding.challenge,
      expiresAt: now + 60_000,
      consumedAt: null,
    });
    return { code, grant };
  }

  async function run(handler: GrantHandler, as: ClientRecord, params: Record<string, string | undefined>) {
    try {
      return { response: (await handler.handle(paramsFrom(params), as, deps())).response };
    } catch (err) {
      if (err instanceof OAuthError) return { error: err.description };
      throw err;
    }
  }

  /** The response's tokens are stored and live. */
  async function expectStored(response: TokenResponse) {
    expect((await store.findAccessToken(hashSecret(response.access_token)))?.token.scope).toBe(response.scope);
    const refresh = await store.findRefreshToken(hashSecret(response.refresh_token!));
    expect(refresh?.token.retiredAt).toBeNull();
  }

  it('a matching code exchange is one statement on PostgreSQL, the ordinary write on SQLite', async () => {
    const pkce = pkcePair();
    const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: pkce.challenge });
    const { response } = await run(authorizationCodeGrant, client, {
      code,
      redirect_uri: REDIRECT,
      code_verifier: pkce.verifier,
    });
    expect(response?.scope).toBe('PATIENT');
    await expectStored(response!);
    expect(writes.consume).toBe(eager ? 0 : 1);
    // And spent: presented again, it is a replay.
    const again = await run(authorizationCodeGrant, client, {
      code,
      redirect_uri: REDIRECT,
      code_verifier: pkce.verifier,
    });
    expect(again.error).toMatch(/already been used/);
  });

  it('a code bound to no redirect_uri, exchanged with a registered one, takes the ordinary write', async () => {
    const { code } = await newCode(client, { redirectUri: null, challenge: null });
    const { response } = await run(authorizationCodeGrant, client, { code, redirect_uri: `${REDIRECT}2` });
    await expectStored(response!);
    expect(writes.consume).toBe(1);
  });

  const refusals: Array<[string, () => Promise<{ code: string; as: ClientRecord; params: Record<string, string> }>]> = [
    [
      'another client',
      async () => {
        const pkce = pkcePair();
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: pkce.challenge });
        return { code, as: other, params: { redirect_uri: REDIRECT, code_verifier: pkce.verifier } };
      },
    ],
    [
      'another redirect_uri',
      async () => {
        const pkce = pkcePair();
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: pkce.challenge });
        return { code, as: client, params: { redirect_uri: `${REDIRECT}2`, code_verifier: pkce.verifier } };
      },
    ],
    [
      'an unregistered redirect_uri for a code bound to none',
      async () => {
        const { code } = await newCode(client, { redirectUri: null, challenge: null });
        return { code, as: client, params: { redirect_uri: 'https://evil.example/cb' } };
      },
    ],
    [
      'a wrong verifier',
      async () => {
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: pkcePair().challenge });
        return { code, as: client, params: { redirect_uri: REDIRECT, code_verifier: pkcePair().verifier } };
      },
    ],
    [
      'a malformed verifier whose S256 is the challenge',
      async () => {
        const verifier = 'short';
        const { createHash } = await import('node:crypto');
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge });
        return { code, as: client, params: { redirect_uri: REDIRECT, code_verifier: verifier } };
      },
    ],
    [
      'no verifier for a code with a challenge',
      async () => {
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: pkcePair().challenge });
        return { code, as: client, params: { redirect_uri: REDIRECT } };
      },
    ],
    [
      'a verifier for a code without a challenge',
      async () => {
        const { code } = await newCode(client, { redirectUri: REDIRECT, challenge: null });
        return { code, as: client, params: { redirect_uri: REDIRECT, code_verifier: pkcePair().verifier } };
      },
    ],
    [
      'no PKCE from a client that must use it',
      async () => {
        const { code } = await newCode(strict, { redirectUri: REDIRECT, challenge: null });
        return { code, as: strict, params: { redirect_uri: REDIRECT } };
      },
    ],
    [
      'an openid code whose person was disabled',
      async () => {
        const pkce = pkcePair();
        const { code, grant } = await newCode(client, { redirectUri: REDIRECT, challenge: pkce.challenge });
        await store.db.updateTable('grants').set({ scope: 'PATIENT openid' }).where('id', '=', grant.id).execute();
        await store.db.updateTable('people').set({ disabled_at: Date.now() }).where('id', '=', personId).execute();
        return { code, as: client, params: { redirect_uri: REDIRECT, code_verifier: pkce.verifier } };
      },
    ],
  ];

  it.each(refusals)('a refused code exchange leaves the code unused: %s', async (_case, setUp) => {
    const { code, as, params } = await setUp();
    const before = await store.findAuthorizationCode(hashSecret(code));
    const outcome = await run(authorizationCodeGrant, as, { code, ...params });
    expect(outcome.error).toBeDefined();
    expect(await store.findAuthorizationCode(hashSecret(code))).toEqual(before);
    expect(before?.code.consumedAt).toBeNull();
    expect(await store.db.selectFrom('access_tokens').select('hash').execute()).toEqual([]);
  });

  async function refreshTokenFor(
    of: ClientRecord,
    grantOver: { expires_at?: number; revoked_at?: number; scope?: string } = {},
  ) {
    const pkce = pkcePair();
    const { code, grant } = await newCode(of, { redirectUri: REDIRECT, challenge: pkce.challenge });
    const { response } = await run(authorizationCodeGrant, of, {
      code,
      redirect_uri: REDIRECT,
      code_verifier: pkce.verifier,
    });
    if (Object.keys(grantOver).length)
      await store.db.updateTable('grants').set(grantOver).where('id', '=', grant.id).execute();
    writes.consume = 0;
    return response!.refresh_token!;
  }

  it('a refresh without a scope is one statement on PostgreSQL; a narrowing one takes the ordinary write', async () => {
    const token = await refreshTokenFor(client);
    const first = await run(refreshTokenGrant, client, { refresh_token: token });
    await expectStored(first.response!);
    expect(writes.rotate).toBe(eager ? 0 : 1);
    expect((await store.findRefreshToken(hashSecret(token)))?.token.retiredAt).not.toBeNull();
    const narrowed = await run(refreshTokenGrant, client, {
      refresh_token: first.response!.refresh_token!,
      scope: 'PATIENT',
    });
    await expectStored(narrowed.response!);
    expect(writes.rotate).toBe(eager ? 1 : 2);
  });

  const refreshRefusals: Array<[string, () => Promise<{ token: string; as: ClientRecord }>]> = [
    ['another client', async () => ({ token: await refreshTokenFor(client), as: other })],
    [
      'its grant ended',
      async () => ({ token: await refreshTokenFor(client, { expires_at: Date.now() - 1 }), as: client }),
    ],
    [
      'its grant revoked',
      async () => ({ token: await refreshTokenFor(client, { revoked_at: Date.now() - 1 }), as: client }),
    ],
    [
      'an openid grant whose person was disabled',
      async () => {
        const token = await refreshTokenFor(client, { scope: 'PATIENT openid' });
        await store.db.updateTable('people').set({ disabled_at: Date.now() }).where('id', '=', personId).execute();
        await store.db
          .updateTable('refresh_tokens')
          .set({ scope: 'PATIENT openid' })
          .where('hash', '=', hashSecret(token))
          .execute();
        return { token, as: client };
      },
    ],
  ];

  it.each(refreshRefusals)('a refused refresh leaves the refresh token live: %s', async (_case, setUp) => {
    const { token, as } = await setUp();
    const outcome = await run(refreshTokenGrant, as, { refresh_token: token });
    expect(outcome.error).toBeDefined();
    expect((await store.findRefreshToken(hashSecret(token)))?.token.retiredAt).toBeNull();
    expect(writes.rotate).toBe(0);
  });
});
