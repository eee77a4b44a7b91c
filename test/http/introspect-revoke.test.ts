/**
 * Introspection (RFC 7662), revocation (RFC 7009) and the client_credentials grant
 * (RFC 6749 §4.4) on the real app: every error with its status and headers, every way a
 * token stops being active — each answered exactly `{"active":false}` —, what a revocation
 * ends and what it leaves alone, and parallel bursts on one token.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, newSecret } from '../../src/oauth/tokens.js';
import type { NewClient } from '../../src/services/clients.js';
import type { PersonRecord } from '../../src/store/store.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  form,
  ISSUER,
  pkcePair,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const INTROSPECT = '/oauth2/introspect';
const REVOKE = '/oauth2/revoke';
const INACTIVE = '{"active":false}';

type Confidential = 'app' | 'other' | 'rs' | 'svc';

let t: TestApp;
let alice: PersonRecord;
const secrets = new Map<string, string>();

beforeEach(async () => {
  t = await testApp();
  for (const name of ['records.read', 'records.write']) {
    await t.store.createApiScope({ name, description: `The ${name} scope`, createdAt: Date.now() });
  }
  for (const [id, input] of [
    ['app', { redirectUris: [CB] }],
    ['other', { redirectUris: [CB] }],
    ['rs', { resourceServer: true, redirectUris: [] }],
    ['pub', { public: true, redirectUris: [CB] }],
    ['svc', { redirectUris: [], grants: ['client_credentials'], scopes: ['records.read', 'records.write'] }],
  ] as Array<[string, Partial<NewClient>]>) {
    const { secret } = await addClient(t.store, { id, ...input });
    if (secret) secrets.set(id, secret);
  }
  alice = await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
});
afterEach(async () => {
  await t.close();
  secrets.clear();
});

const basicOf = (id: Confidential): string => basic(id, secrets.get(id) as string);

interface Tokens {
  access_token: string;
  refresh_token: string;
  scope: string;
}

/** A code flow through the pages for `clientId`, then the code exchanged (PKCE; a public client sends only its id). */
async function tokensFor(clientId: 'app' | 'other' | 'pub'): Promise<Tokens & { code: string }> {
  const { verifier, challenge } = pkcePair();
  const code = await codeThroughPages(t.app, {
    query: { response_type: 'code', client_id: clientId, code_challenge: challenge, code_challenge_method: 'S256' },
  });
  const res = await exchange(clientId, code, verifier);
  expect(res.statusCode).toBe(200);
  return { ...(res.json() as Tokens), code };
}

function exchange(clientId: string, code: string, verifier: string): Promise<LightMyRequestResponse> {
  return clientId === 'pub'
    ? postToken(t.app, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId })
    : postToken(
        t.app,
        { grant_type: 'authorization_code', code, code_verifier: verifier },
        { authorization: basicOf(clientId as Confidential) },
      );
}

function refresh(clientId: Confidential, refreshToken: string): Promise<LightMyRequestResponse> {
  return postToken(
    t.app,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    { authorization: basicOf(clientId) },
  );
}

function post(
  url: string,
  body: Record<string, string | string[] | undefined>,
  authorization?: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': contentType, ...(authorization !== undefined && { authorization }) },
    payload: form(body),
  });
}

const introspect = (caller: Confidential, token: string, extra: Record<string, string> = {}) =>
  post(INTROSPECT, { token, ...extra }, basicOf(caller));

const revoke = (caller: Confidential | 'pub', token: string, extra: Record<string, string> = {}) =>
  caller === 'pub'
    ? post(REVOKE, { token, client_id: 'pub', ...extra })
    : post(REVOKE, { token, ...extra }, basicOf(caller));

function me(token: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
}

function expectNoStore(res: LightMyRequestResponse): void {
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
}

/** Exactly `{"active":false}`, 200, JSON, no-store: nothing more is told (RFC 7662 §2.2). */
function expectInactive(res: LightMyRequestResponse): void {
  expect(res.statusCode).toBe(200);
  expectNoStore(res);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.body).toBe(INACTIVE);
}

function expectActive(res: LightMyRequestResponse): Record<string, unknown> {
  expect(res.statusCode).toBe(200);
  expectNoStore(res);
  const body = res.json() as Record<string, unknown>;
  expect(body.active).toBe(true);
  return body;
}

/** 200 with an empty body and no-store (RFC 7009 §2.2). */
function expectRevoked(res: LightMyRequestResponse): void {
  expect(res.statusCode).toBe(200);
  expectNoStore(res);
  expect(res.body).toBe('');
}

function expectError(res: LightMyRequestResponse, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expectNoStore(res);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.json().error).toBe(error);
  if (status === 401) expect(String(res.headers['www-authenticate'])).toMatch(/^Basic /);
  else expect(res.headers['www-authenticate']).toBeUndefined();
}

/**
 * Through the store's own write, which on PostgreSQL also drops the client's cached record
 * at once (src/store/client-cache.ts); a bare UPDATE would be seen only once the database's
 * notice arrives, a moment later.
 */
async function disableClient(id: string): Promise<void> {
  expect(await t.store.setClientDisabled(id, Date.now())).toBe(true);
}

describe('errors at both endpoints (RFC 7662 §2.3, RFC 7009 §2.2.1)', () => {
  const appSecret = () => secrets.get('app') as string;
  it.each<[string, () => Record<string, string | string[]>, () => string | undefined, number, string]>([
    ['no client authentication', () => ({}), () => undefined, 401, 'invalid_client'],
    ['a wrong secret (Basic)', () => ({}), () => basic('app', 'wrong'), 401, 'invalid_client'],
    [
      'a wrong secret (body)',
      () => ({ client_id: 'app', client_secret: 'wrong' }),
      () => undefined,
      401,
      'invalid_client',
    ],
    ['an unknown client', () => ({}), () => basic('nobody', 'x'), 401, 'invalid_client'],
    [
      'Basic and client_secret at once',
      () => ({ client_secret: appSecret() }),
      () => basicOf('app'),
      400,
      'invalid_request',
    ],
    ['a Bearer Authorization header', () => ({}), () => 'Bearer abc', 400, 'invalid_request'],
    ['no token', () => ({ token: [] }), () => basicOf('app'), 400, 'invalid_request'],
    ['an empty token', () => ({ token: '' }), () => basicOf('app'), 400, 'invalid_request'],
    ['the token twice', () => ({ token: ['a', 'b'] }), () => basicOf('app'), 400, 'invalid_request'],
    [
      'token_type_hint twice',
      () => ({ token_type_hint: ['access_token', 'refresh_token'] }),
      () => basicOf('app'),
      400,
      'invalid_request',
    ],
    [
      'client_id twice',
      () => ({ client_id: ['app', 'app'], client_secret: appSecret() }),
      () => undefined,
      400,
      'invalid_request',
    ],
    ['a token over 4 KiB', () => ({ token: 'a'.repeat(4097) }), () => basicOf('app'), 400, 'invalid_request'],
  ])('%s', async (_name, extra, authorization, status, error) => {
    const { access_token } = await tokensFor('app');
    for (const url of [INTROSPECT, REVOKE]) {
      const res = await post(url, { token: access_token, ...extra() }, authorization());
      expectError(res, status, error);
    }
    // Nothing was revoked by the refused requests.
    expectActive(await introspect('app', access_token));
  });

  it('refuses a body that is not form-encoded', async () => {
    for (const url of [INTROSPECT, REVOKE]) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', authorization: basicOf('app') },
        payload: JSON.stringify({ token: 'x' }),
      });
      expectError(res, 400, 'invalid_request');
    }
  });

  it('refuses a public client at introspection (401), and takes its client_id at revocation', async () => {
    const { access_token } = await tokensFor('pub');
    expectError(await post(INTROSPECT, { token: access_token, client_id: 'pub' }), 401, 'invalid_client');
    // An empty Basic password is how some libraries send a public client: still no secret.
    expectError(await post(INTROSPECT, { token: access_token }, basic('pub', '')), 401, 'invalid_client');
    expectActive(await introspect('rs', access_token));
    expectRevoked(await revoke('pub', access_token));
    expectInactive(await introspect('rs', access_token));
  });

  it('refuses a disabled client as the caller (401) at both endpoints', async () => {
    const { access_token } = await tokensFor('app');
    await disableClient('app');
    for (const url of [INTROSPECT, REVOKE]) {
      expectError(await post(url, { token: access_token }, basicOf('app')), 401, 'invalid_client');
    }
  });

  it.each([INTROSPECT, REVOKE])('%s answers a body over 64 KiB 413, as JSON', async (url) => {
    const big = await post(url, { token: 'x'.repeat(70 * 1024) }, basicOf('app'));
    expect(big.statusCode).toBe(413);
    expectNoStore(big);
    expect(big.json().error).toBe('invalid_request');
  });

  it('answers a browser’s preflight at revocation (public clients), none at introspection', async () => {
    const preflight = (url: string) =>
      t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://spa.example', 'access-control-request-method': 'POST' },
      });
    const revocation = await preflight(REVOKE);
    expect(revocation.statusCode).toBe(204);
    expect(revocation.headers['access-control-allow-origin']).toBe('*');
    const introspection = await preflight(INTROSPECT);
    expect(introspection.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([INTROSPECT, REVOKE])('GET %s is 405 with Allow: POST', async (url) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expectNoStore(res);
    expect(res.json().error).toBe('invalid_request');
  });
});

describe('introspection of active tokens (RFC 7662 §2.2)', () => {
  it('answers the caller’s own access and refresh tokens with every field, by Basic and by client_secret_post', async () => {
    const before = Math.floor(Date.now() / 1000);
    const tokens = await tokensFor('app');
    const access = expectActive(await introspect('app', tokens.access_token));
    expect(Object.keys(access)).toEqual([
      'active',
      'scope',
      'client_id',
      'sub',
      'username',
      'token_type',
      'exp',
      'iat',
      'iss',
    ]);
    expect(access).toMatchObject({
      scope: 'PATIENT',
      client_id: 'app',
      sub: alice.id,
      username: 'alice',
      token_type: 'Bearer',
      iss: ISSUER,
    });
    expect(access.iat as number).toBeGreaterThanOrEqual(before);
    expect((access.exp as number) - (access.iat as number)).toBe(600);

    const viaPost = await post(INTROSPECT, {
      token: tokens.refresh_token,
      client_id: 'app',
      client_secret: secrets.get('app'),
    });
    const refreshed = expectActive(viaPost);
    expect(refreshed).toMatchObject({
      scope: 'PATIENT',
      client_id: 'app',
      sub: alice.id,
      username: 'alice',
      token_type: 'refresh_token',
      iss: ISSUER,
    });
    // The refresh token lives as long as the authorization session (30 days by default).
    expect((refreshed.exp as number) - (refreshed.iat as number)).toBe(30 * 24 * 3600);
  });

  it('lets a resource server see every access token, and no other client’s refresh token', async () => {
    const app = await tokensFor('app');
    const pub = await tokensFor('pub');
    expect(expectActive(await introspect('rs', app.access_token)).client_id).toBe('app');
    expect(expectActive(await introspect('rs', pub.access_token)).client_id).toBe('pub');
    expectInactive(await introspect('rs', app.refresh_token));
    expectInactive(await introspect('rs', app.refresh_token, { token_type_hint: 'refresh_token' }));
  });

  it.each(['access_token', 'refresh_token', 'id_token', 'ACCESS_TOKEN'])(
    'finds either kind whatever the hint (%s)',
    async (hint) => {
      const tokens = await tokensFor('app');
      expect(expectActive(await introspect('app', tokens.access_token, { token_type_hint: hint })).token_type).toBe(
        'Bearer',
      );
      expect(expectActive(await introspect('app', tokens.refresh_token, { token_type_hint: hint })).token_type).toBe(
        'refresh_token',
      );
    },
  );
});

describe('every token that is not active is exactly {"active":false}', () => {
  it.each([
    ['an unknown token', newSecret()],
    ['a malformed token', 'not a token é "<>'],
    ['a long token', 'x'.repeat(4096)],
  ])('%s', async (_name, token) => {
    await tokensFor('app');
    expectInactive(await introspect('app', token));
    expectInactive(await introspect('rs', token, { token_type_hint: 'refresh_token' }));
  });

  it('an expired access token (the harness clock)', async () => {
    const { access_token } = await tokensFor('app');
    t.advance(599_000);
    expectActive(await introspect('app', access_token));
    t.advance(1_000);
    expectInactive(await introspect('app', access_token));
    expectInactive(await introspect('rs', access_token));
  });

  it('a refresh token past the authorization session’s absolute end', async () => {
    await t.close();
    t = await testApp({ lifetimes: { grant: 3600 } });
    const { secret } = await addClient(t.store, { id: 'app', redirectUris: [CB] });
    secrets.set('app', secret as string);
    await addTestUser(t.store, 'alice', ['PATIENT']);
    const { refresh_token } = await tokensFor('app');
    t.advance(3_599_000);
    expectActive(await introspect('app', refresh_token));
    t.advance(1_000);
    expectInactive(await introspect('app', refresh_token));
  });

  it('the tokens of a code presented twice (RFC 6749 §4.1.2)', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'app', code_challenge: challenge, code_challenge_method: 'S256' },
    });
    const first = (await exchange('app', code, verifier)).json() as Tokens;
    expectActive(await introspect('app', first.access_token));
    expect((await exchange('app', code, verifier)).statusCode).toBe(400);
    expectInactive(await introspect('app', first.access_token));
    expectInactive(await introspect('app', first.refresh_token));
    expectInactive(await introspect('rs', first.access_token));
  });

  it('a retired refresh token, then the whole family once it is presented again (RFC 9700 §4.14.2)', async () => {
    const first = await tokensFor('app');
    const second = (await refresh('app', first.refresh_token)).json() as Tokens;
    // Rotated away: the old one is not active, the new one and both access tokens are.
    expectInactive(await introspect('app', first.refresh_token));
    expectActive(await introspect('app', second.refresh_token));
    expectActive(await introspect('app', first.access_token));
    expectActive(await introspect('app', second.access_token));
    // Reuse: the family is revoked.
    expect((await refresh('app', first.refresh_token)).statusCode).toBe(400);
    for (const token of [first.access_token, second.access_token, second.refresh_token]) {
      expectInactive(await introspect('app', token));
    }
  });

  it('a disabled person’s tokens', async () => {
    const tokens = await tokensFor('app');
    await t.store.setPersonDisabled('alice', Date.now());
    expectInactive(await introspect('app', tokens.access_token));
    expectInactive(await introspect('app', tokens.refresh_token));
    expectInactive(await introspect('rs', tokens.access_token));
  });

  it('the tokens of a disabled client, to a resource server', async () => {
    const tokens = await tokensFor('app');
    expectActive(await introspect('rs', tokens.access_token));
    await disableClient('app');
    expectInactive(await introspect('rs', tokens.access_token));
  });

  it('another client’s tokens', async () => {
    const tokens = await tokensFor('app');
    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      const extra: Record<string, string> = hint ? { token_type_hint: hint } : {};
      expectInactive(await introspect('other', tokens.access_token, extra));
      expectInactive(await introspect('other', tokens.refresh_token, extra));
      expectInactive(await introspect('svc', tokens.access_token, extra));
    }
    expectActive(await introspect('app', tokens.access_token));
  });
});

describe('revocation (RFC 7009 §2.1)', () => {
  it('of a refresh token ends its grant: every access token and refresh token of it', async () => {
    const first = await tokensFor('app');
    const second = (await refresh('app', first.refresh_token)).json() as Tokens;
    expectRevoked(await revoke('app', second.refresh_token, { token_type_hint: 'refresh_token' }));
    for (const token of [first.access_token, second.access_token, second.refresh_token, first.refresh_token]) {
      expectInactive(await introspect('app', token));
    }
    expect((await me(second.access_token)).statusCode).toBe(401);
    expect((await refresh('app', second.refresh_token)).json().error).toBe('invalid_grant');
  });

  it('of an access token ends that token only: the refresh token still works', async () => {
    const tokens = await tokensFor('app');
    // The wrong hint still finds it.
    expectRevoked(await revoke('app', tokens.access_token, { token_type_hint: 'refresh_token' }));
    expectInactive(await introspect('app', tokens.access_token));
    expect((await me(tokens.access_token)).statusCode).toBe(401);
    expectActive(await introspect('app', tokens.refresh_token));
    const next = await refresh('app', tokens.refresh_token);
    expect(next.statusCode).toBe(200);
    expect((await me(next.json().access_token)).statusCode).toBe(200);
  });

  it('of another client’s token answers 200 and leaves it active (a resource server’s too)', async () => {
    const tokens = await tokensFor('app');
    for (const caller of ['other', 'rs', 'svc', 'pub'] as const) {
      for (const token of [tokens.access_token, tokens.refresh_token]) {
        for (const hint of ['access_token', 'refresh_token']) {
          expectRevoked(await revoke(caller, token, { token_type_hint: hint }));
        }
      }
    }
    expectActive(await introspect('app', tokens.access_token));
    expectActive(await introspect('app', tokens.refresh_token));
    expect((await me(tokens.access_token)).statusCode).toBe(200);
  });

  it('answers an unknown, a malformed or an already revoked token with 200, and ignores an unknown hint', async () => {
    const tokens = await tokensFor('app');
    expectRevoked(await revoke('app', newSecret()));
    expectRevoked(await revoke('app', 'not a token é'));
    expectRevoked(await revoke('app', tokens.access_token, { token_type_hint: 'id_token' }));
    expectRevoked(await revoke('app', tokens.access_token));
    expectRevoked(await revoke('app', tokens.refresh_token));
    expectRevoked(await revoke('app', tokens.refresh_token));
    expectInactive(await introspect('app', tokens.refresh_token));
  });

  it('lets a public client revoke its own refresh token with its client_id', async () => {
    const tokens = await tokensFor('pub');
    expectRevoked(await revoke('pub', tokens.refresh_token));
    expectInactive(await introspect('rs', tokens.access_token));
    expect(
      (await postToken(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'pub' }))
        .statusCode,
    ).toBe(400);
  });
});

describe('parallel bursts on one token', () => {
  const kinds = (res: LightMyRequestResponse): 'active' | 'inactive' => {
    expect(res.statusCode).toBe(200);
    if (res.body === INACTIVE) return 'inactive';
    expect(res.json()).toMatchObject({ active: true, client_id: 'app', sub: alice.id });
    return 'active';
  };

  it('20 revocations and 20 introspections of one access token: all 200, then it is gone and its refresh token lives', async () => {
    const tokens = await tokensFor('app');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        revoke(i % 2 === 0 ? 'app' : 'other', tokens.access_token),
        introspect(i % 2 === 0 ? 'app' : 'rs', tokens.access_token),
      ]).flat(),
    );
    answers.filter((_, i) => i % 2 === 0).forEach(expectRevoked);
    answers.filter((_, i) => i % 2 === 1).forEach(kinds);
    expectInactive(await introspect('app', tokens.access_token));
    expect(await t.store.findAccessToken(hashSecret(tokens.access_token))).toBeUndefined();
    expectActive(await introspect('app', tokens.refresh_token));
  });

  it('20 revocations and 20 introspections of one refresh token: all 200, then its grant is revoked once', async () => {
    const tokens = await tokensFor('app');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => [
        revoke('app', tokens.refresh_token),
        introspect('app', tokens.refresh_token),
      ]).flat(),
    );
    answers.filter((_, i) => i % 2 === 0).forEach(expectRevoked);
    answers.filter((_, i) => i % 2 === 1).forEach(kinds);
    const found = await t.store.findRefreshToken(hashSecret(tokens.refresh_token));
    expect(found?.grant.revokedAt).not.toBeNull();
    expectInactive(await introspect('app', tokens.refresh_token));
    expectInactive(await introspect('app', tokens.access_token));
  });
});

describe('the client_credentials grant (RFC 6749 §4.4)', () => {
  /** `authorization` null: none sent. */
  const ccToken = (body: Record<string, string> = {}, authorization: string | null = basicOf('svc')) =>
    postToken(t.app, { grant_type: 'client_credentials', ...body }, authorization === null ? {} : { authorization });

  it('issues an access token for the client itself, with all its API scopes and no refresh token', async () => {
    const res = await ccToken();
    expect(res.statusCode).toBe(200);
    expectNoStore(res);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'records.read records.write' });

    const stored = await t.store.findAccessToken(hashSecret(body.access_token));
    expect(stored?.person).toBeNull();
    const introspected = expectActive(await introspect('svc', body.access_token));
    expect(introspected).toMatchObject({
      scope: 'records.read records.write',
      client_id: 'svc',
      sub: 'svc',
      token_type: 'Bearer',
      iss: ISSUER,
    });
    expect(introspected).not.toHaveProperty('username');
    expect((introspected.exp as number) - (introspected.iat as number)).toBe(600);
    expect(expectActive(await introspect('rs', body.access_token)).sub).toBe('svc');
    expectInactive(await introspect('app', body.access_token));
  });

  it('narrows to the API scopes asked for; takes client_secret_post', async () => {
    const res = await ccToken(
      {
        scope: 'records.write records.read records.write',
        client_id: 'svc',
        client_secret: secrets.get('svc') as string,
      },
      null,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().scope).toBe('records.write records.read');
    expect((await ccToken({ scope: 'records.read' })).json().scope).toBe('records.read');
  });

  it.each(['PATIENT', 'patient', 'records.read CLINICIAN', 'openid', 'records.delete', 'Records.read'])(
    'refuses scope %j with invalid_scope',
    async (scope) => {
      const res = await ccToken({ scope });
      expectError(res, 400, 'invalid_scope');
    },
  );

  it('refuses a client without credentials or with a wrong secret (401), and a client not registered for it', async () => {
    expectError(await ccToken({ client_id: 'svc' }, null), 401, 'invalid_client');
    expectError(await ccToken({}, basic('svc', 'wrong')), 401, 'invalid_client');
    expectError(await ccToken({}, basicOf('app')), 400, 'unauthorized_client');
    expectError(await ccToken({}, basicOf('rs')), 400, 'unauthorized_client');
    expectError(
      await postToken(t.app, { grant_type: 'client_credentials', client_id: 'pub' }),
      400,
      'unauthorized_client',
    );
  });

  it('makes a grant without a person that ends with its token', async () => {
    const before = Date.now();
    const body = (await ccToken()).json();
    const stored = await t.store.findAccessToken(hashSecret(body.access_token));
    const grantId = stored?.grant.id as string;
    const rows = await t.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).execute();
    expect(rows).toHaveLength(1);
    const grant = rows[0]!;
    expect(grant.person_id).toBeNull();
    expect(grant.auth_time).toBeNull();
    expect(grant.client_id).toBe('svc');
    expect(Number(grant.expires_at)).toBe(stored?.token.expiresAt);
    expect(Number(grant.created_at)).toBeGreaterThanOrEqual(before);
  });

  it('is answered 403 insufficient_scope at /api/v1/me: there is no person', async () => {
    const { access_token } = (await ccToken()).json();
    const res = await me(access_token);
    expect(res.statusCode).toBe(403);
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer .*error="insufficient_scope"/);
  });

  it('expires, and is revoked by its client', async () => {
    const first = (await ccToken()).json().access_token as string;
    const second = (await ccToken()).json().access_token as string;
    expectRevoked(await revoke('svc', first));
    expectInactive(await introspect('svc', first));
    expectActive(await introspect('svc', second));
    t.advance(600_000);
    expectInactive(await introspect('svc', second));
    expectInactive(await introspect('rs', second));
  });
});
