/**
 * The UserInfo endpoint (OpenID Connect Core 1.0 §5.3) on the real app: the token in the
 * Authorization header (GET and POST) or the POST body (RFC 6750 §2.2), never the query;
 * `sub` and the claims of the granted scopes; RFC 6750 §3.1 errors with
 * `WWW-Authenticate: Bearer` — 401 invalid_token for an unknown, expired or revoked token
 * or a disabled person, 403 insufficient_scope without `openid`; opaque and JWT tokens.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setPersonDisabled } from '../../src/services/people.js';
import type { PersonRecord } from '../../src/store/store.js';
import { basic, codeThroughPages, form, postToken, testApp, type TestApp } from '../helpers/harness.js';
import { addOpenIdClient, addOpenIdPerson, openIdTokens, refresh } from '../helpers/openid.js';

const URL = '/oauth2/userinfo';

let t: TestApp;
let alice: PersonRecord;
beforeEach(async () => {
  t = await testApp();
  alice = await addOpenIdPerson(t.store);
});
afterEach(async () => {
  await t.close();
});

const get = (headers: Record<string, string> = {}, query = '') =>
  t.app.inject({ method: 'GET', url: `${URL}${query}`, headers });
const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: URL,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(body),
  });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectChallenge(res: LightMyRequestResponse, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toMatchObject({ error });
  expect(String(res.headers['www-authenticate'])).toMatch(new RegExp(`^Bearer realm="tessera", error="${error}"`));
  expect(res.headers['cache-control']).toBe('no-store');
}

describe('UserInfo', () => {
  it('GET with the header: sub and the claims of profile and email, no-store, CORS for any origin', async () => {
    const { access_token } = await openIdTokens(t.app, await addOpenIdClient(t.store));
    const res = await get({ ...bearer(access_token), origin: 'https://spa.example' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.json()).toEqual({
      sub: alice.id,
      name: 'alice Example',
      preferred_username: 'alice',
      email: 'alice@example.org',
      email_verified: false,
    });
    const preflight = await t.app.inject({ method: 'OPTIONS', url: URL, headers: { origin: 'https://spa.example' } });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, POST');
  });

  it('POST with the header, and POST with access_token in the form body', async () => {
    const { access_token } = await openIdTokens(t.app, await addOpenIdClient(t.store));
    const withHeader = await t.app.inject({ method: 'POST', url: URL, headers: bearer(access_token) });
    expect(withHeader.statusCode).toBe(200);
    expect(withHeader.json()).toMatchObject({ sub: alice.id, email: 'alice@example.org' });
    const inBody = await post({ access_token });
    expect(inBody.statusCode).toBe(200);
    expect(inBody.json()).toEqual(withHeader.json());
  });

  it('releases only what the scope granted: openid alone is sub alone; no address, no email claims', async () => {
    const rp = await addOpenIdClient(t.store);
    const only = await openIdTokens(t.app, rp, { scope: 'openid' });
    expect((await get(bearer(only.access_token))).json()).toEqual({ sub: alice.id });
    const bob = await addOpenIdPerson(t.store, 'bob', null);
    const bobs = await openIdTokens(t.app, rp, { scope: 'openid email' }, { username: 'bob' });
    expect((await get(bearer(bobs.access_token))).json()).toEqual({ sub: bob.id });
  });

  it('works with a JWT access token and with a refreshed token', async () => {
    const rp = await addOpenIdClient(t.store, { accessTokenFormat: 'jwt' });
    const first = await openIdTokens(t.app, rp, { scope: 'openid profile' });
    expect(first.access_token.split('.')).toHaveLength(3);
    expect((await get(bearer(first.access_token))).json()).toEqual({
      sub: alice.id,
      name: 'alice Example',
      preferred_username: 'alice',
    });
    const next = (await refresh(t.app, rp, first.refresh_token as string)).json() as { access_token: string };
    expect((await get(bearer(next.access_token))).json()).toMatchObject({ sub: alice.id });
  });

  it('401 without a token (a bare challenge), for an unknown, an expired and a revoked token', async () => {
    const none = await get();
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="tessera"');
    expectChallenge(await get(bearer('not-a-token')), 401, 'invalid_token');

    const rp = await addOpenIdClient(t.store);
    const tokens = await openIdTokens(t.app, rp);
    // Revoked: the refresh token presented twice revokes the grant.
    expect((await refresh(t.app, rp, tokens.refresh_token as string)).statusCode).toBe(200);
    expect((await refresh(t.app, rp, tokens.refresh_token as string)).statusCode).toBe(400);
    expectChallenge(await get(bearer(tokens.access_token)), 401, 'invalid_token');

    const other = await openIdTokens(t.app, rp);
    expect((await get(bearer(other.access_token))).statusCode).toBe(200);
    t.advance(t.config.lifetimes.accessToken * 1000);
    expectChallenge(await get(bearer(other.access_token)), 401, 'invalid_token');
  });

  it('401 once the person is disabled', async () => {
    const { access_token } = await openIdTokens(t.app, await addOpenIdClient(t.store));
    expect((await get(bearer(access_token))).statusCode).toBe(200);
    await setPersonDisabled(t.store, 'alice', true, Date.now());
    expectChallenge(await get(bearer(access_token)), 401, 'invalid_token');
    expectChallenge(await post({ access_token }), 401, 'invalid_token');
  });

  it('403 insufficient_scope for a token without openid (a PKB client’s)', async () => {
    const rp = await addOpenIdClient(t.store);
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: rp.client.id, scope: 'PATIENT' },
    });
    const res = await postToken(
      t.app,
      { grant_type: 'authorization_code', code },
      { authorization: basic(rp.client.id, rp.secret) },
    );
    const { access_token } = res.json() as { access_token: string };
    expectChallenge(await get(bearer(access_token)), 403, 'insufficient_scope');
    expectChallenge(await post({ access_token }), 403, 'insufficient_scope');
  });

  it('refuses a token in the query, a token sent two ways, a repeated body token, and other methods', async () => {
    const { access_token } = await openIdTokens(t.app, await addOpenIdClient(t.store));
    const inQuery = await get({}, `?${form({ access_token })}`);
    expect(inQuery.statusCode).toBe(401);
    expect(inQuery.headers['www-authenticate']).toBe('Bearer realm="tessera"');
    expectChallenge(await post({ access_token }, bearer(access_token)), 400, 'invalid_request');
    expectChallenge(await get(bearer(access_token), `?${form({ access_token })}`), 400, 'invalid_request');
    const repeated = await t.app.inject({
      method: 'POST',
      url: URL,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ access_token: [access_token, access_token] }),
    });
    expectChallenge(repeated, 400, 'invalid_request');
    const put = await t.app.inject({ method: 'PUT', url: URL, headers: bearer(access_token) });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
  });
});
