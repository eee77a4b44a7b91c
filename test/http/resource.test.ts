/**
 * On the real app: the sample protected resource /api/v1/me (RFC 6750), the
 * RFC 8414 metadata, liveness and readiness.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  ISSUER,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';
import type { PersonRecord } from '../../src/store/store.js';

const CB = 'https://app.example/cb';

interface Issued {
  t: TestApp;
  person: PersonRecord;
  clientId: string;
  secret: string;
  access: string;
  refresh: string;
}

async function issue(options: Parameters<typeof testApp>[0] = {}): Promise<Issued> {
  const t = await testApp(options);
  const { client, secret } = await addClient(t.store, { name: 'Reader', redirectUris: [CB] });
  const person = await addTestUser(t.store, 'alice', ['PATIENT', 'CLINICIAN'], 'Alice Patel');
  const code = await codeThroughPages(t.app, {
    query: { response_type: 'code', client_id: client.id, scope: 'clinician' },
  });
  const res = await postToken(
    t.app,
    { grant_type: 'authorization_code', code },
    { authorization: basic(client.id, secret as string) },
  );
  expect(res.statusCode).toBe(200);
  const body = res.json() as { access_token: string; refresh_token: string };
  return {
    t,
    person,
    clientId: client.id,
    secret: secret as string,
    access: body.access_token,
    refresh: body.refresh_token,
  };
}

async function me(t: TestApp, headers: Record<string, string> = {}, query = ''): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: `/api/v1/me${query}`, headers });
}

function expectJsonNoStore(res: LightMyRequestResponse): void {
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
}

/** An RFC 6750 §3 error: status, challenge with the error code, JSON body. */
function expectBearerError(res: LightMyRequestResponse, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expectJsonNoStore(res);
  const challenge = String(res.headers['www-authenticate']);
  expect(challenge).toMatch(/^Bearer realm="tessera"/);
  expect(challenge).toContain(`error="${error}"`);
  expect(res.json().error).toBe(error);
  expect(res.json().sub).toBeUndefined();
}

/** No usable credentials at all: 401 and a bare Bearer challenge (RFC 6750 §3.1). */
function expectBareChallenge(res: LightMyRequestResponse): void {
  expect(res.statusCode).toBe(401);
  expectJsonNoStore(res);
  expect(res.headers['www-authenticate']).toBe('Bearer realm="tessera"');
  expect(res.json().sub).toBeUndefined();
}

describe('/api/v1/me with a valid token', () => {
  let s: Issued;
  beforeAll(async () => {
    s = await issue();
  });
  afterAll(async () => {
    await s.t.close();
  });

  it('answers with sub, username, name, scope and client_id', async () => {
    const res = await me(s.t, { authorization: `Bearer ${s.access}` });
    expect(res.statusCode).toBe(200);
    expectJsonNoStore(res);
    expect(res.json()).toEqual({
      sub: s.person.id,
      username: 'alice',
      name: 'Alice Patel',
      scope: 'CLINICIAN',
      client_id: s.clientId,
    });
  });

  it.each(['bearer', 'BEARER', 'Bearer', 'bEaReR'])('accepts the scheme name %s', async (scheme) => {
    const res = await me(s.t, { authorization: `${scheme} ${s.access}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('alice');
  });

  it('a missing token: 401 with WWW-Authenticate: Bearer', async () => {
    expectBareChallenge(await me(s.t));
  });

  it('another scheme is not a bearer token: 401 with WWW-Authenticate: Bearer', async () => {
    expectBareChallenge(await me(s.t, { authorization: basic(s.clientId, s.secret) }));
  });

  it.each([
    ['an unknown token', 'A'.repeat(43)],
    ['the refresh token', 'REFRESH'],
    ['the token with a character changed', 'CHANGED'],
  ])('%s: 401 invalid_token', async (_what, value) => {
    const token =
      value === 'REFRESH'
        ? s.refresh
        : value === 'CHANGED'
          ? `${s.access.slice(0, -1)}${s.access.endsWith('A') ? 'B' : 'A'}`
          : value;
    expectBearerError(await me(s.t, { authorization: `Bearer ${token}` }), 401, 'invalid_token');
  });

  it('a malformed Authorization header (Bearer without a token): 400 invalid_request', async () => {
    expectBearerError(await me(s.t, { authorization: 'Bearer' }), 400, 'invalid_request');
    expectBearerError(await me(s.t, { authorization: 'Bearer a b' }), 400, 'invalid_request');
  });

  it('a token in the query string alone is not accepted: 401, not 200', async () => {
    const res = await me(s.t, {}, `?access_token=${encodeURIComponent(s.access)}`);
    expectBareChallenge(res);
    expect(res.statusCode).not.toBe(200);
  });

  it('a token in the header and in the query: 400 invalid_request', async () => {
    const res = await me(s.t, { authorization: `Bearer ${s.access}` }, `?access_token=${encodeURIComponent(s.access)}`);
    expectBearerError(res, 400, 'invalid_request');
  });
});

describe('/api/v1/me with a token that is no longer valid', () => {
  let s: Issued;
  beforeEach(async () => {
    s = await issue();
  });
  afterEach(async () => {
    await s.t.close();
  });

  it('expired after 600 s: 401 invalid_token', async () => {
    s.t.advance(590_000);
    expect((await me(s.t, { authorization: `Bearer ${s.access}` })).statusCode).toBe(200);
    s.t.advance(11_000);
    expectBearerError(await me(s.t, { authorization: `Bearer ${s.access}` }), 401, 'invalid_token');
  });

  it('revoked (its refresh token was replayed): 401 invalid_token', async () => {
    const auth = { authorization: basic(s.clientId, s.secret) };
    const rotated = await postToken(s.t.app, { grant_type: 'refresh_token', refresh_token: s.refresh }, auth);
    expect(rotated.statusCode).toBe(200);
    const replay = await postToken(s.t.app, { grant_type: 'refresh_token', refresh_token: s.refresh }, auth);
    expect(replay.statusCode).toBe(400);
    expectBearerError(await me(s.t, { authorization: `Bearer ${s.access}` }), 401, 'invalid_token');
    expectBearerError(await me(s.t, { authorization: `Bearer ${rotated.json().access_token}` }), 401, 'invalid_token');
  });

  it('the person was disabled: 401 invalid_token', async () => {
    await s.t.store.setPersonDisabled('alice', Date.now());
    expectBearerError(await me(s.t, { authorization: `Bearer ${s.access}` }), 401, 'invalid_token');
  });

  it('the client was removed: 401 invalid_token', async () => {
    await s.t.store.removeClient(s.clientId);
    expectBearerError(await me(s.t, { authorization: `Bearer ${s.access}` }), 401, 'invalid_token');
  });
});

describe('metadata, liveness, readiness', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('RFC 8414 metadata advertises the PKB endpoints under the issuer, introspection, revocation, S256 and the grants', async () => {
    t = await testApp();
    const res = await t.app.inject({ url: '/.well-known/oauth-authorization-server' });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    const meta = res.json();
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.authorization_endpoint).toBe(`${ISSUER}/apiAuthorize.action`);
    expect(meta.token_endpoint).toBe(`${ISSUER}/apiToken.action`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect([...meta.grant_types_supported].sort()).toEqual([
      'authorization_code',
      'client_credentials',
      'implicit',
      'refresh_token',
    ]);
    expect(meta.introspection_endpoint).toBe(`${ISSUER}/oauth2/introspect`);
    expect(meta.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(meta.revocation_endpoint).toBe(`${ISSUER}/oauth2/revoke`);
    expect(meta.revocation_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect([...meta.response_types_supported].sort()).toEqual(['code', 'token']);
    expect(meta.scopes_supported).toEqual(['PATIENT', 'CLINICIAN', 'TEAMCOORD']);
    expect([...meta.token_endpoint_auth_methods_supported].sort()).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('the metadata follows the configured issuer', async () => {
    t = await testApp({ issuer: 'https://id.example/tessera' });
    const meta = (await t.app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
    expect(meta.issuer).toBe('https://id.example/tessera');
    expect(meta.authorization_endpoint).toBe('https://id.example/tessera/apiAuthorize.action');
    expect(meta.token_endpoint).toBe('https://id.example/tessera/apiToken.action');
    expect(meta.introspection_endpoint).toBe('https://id.example/tessera/oauth2/introspect');
    expect(meta.revocation_endpoint).toBe('https://id.example/tessera/oauth2/revoke');
  });

  it('/healthz and /readyz answer 200', async () => {
    t = await testApp();
    const health = await t.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 when the database cannot be reached, /healthz still 200', async () => {
    t = await testApp();
    await t.store.close();
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().status).toBe('unavailable');
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
