/**
 * On the real app: the implicit grant (`response_type=token`) answers in the
 * redirect URI's fragment — access_token, token_type, expires_in, scope, state — never
 * with a refresh token, and only for clients registered for it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  authorizeThroughPages,
  basic,
  ISSUER,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';

let t: TestApp;
let implicitId: string;

beforeEach(async () => {
  t = await testApp();
  const { client } = await addClient(t.store, { name: 'Legacy SPA', redirectUris: [CB], grants: ['implicit'] });
  implicitId = client.id;
  await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
  await addTestUser(t.store, 'robin', ['PATIENT', 'CLINICIAN', 'TEAMCOORD'], 'Robin Many');
});

afterEach(async () => {
  await t.close();
});

async function me(token: string) {
  return t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
}

describe('the implicit grant', () => {
  it('returns the token in the fragment: access_token, token_type=Bearer, expires_in, scope, state', async () => {
    const state = 'imp l+i&c=i%t"<>';
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: implicitId, scope: 'patient', state },
    });
    expect(flow.status).toBe(303);
    expect(flow.location.startsWith(`${CB}#`)).toBe(true);
    const url = new URL(flow.location);
    expect(url.search).toBe('');
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('access_token')).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(params.get('token_type')).toBe('Bearer');
    expect(params.get('expires_in')).toBe('600');
    expect(params.get('scope')).toBe('PATIENT');
    expect(params.get('state')).toBe(state);
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('refresh_token')).toBeNull();
    expect(params.get('code')).toBeNull();
    expect([...params.keys()].sort()).toEqual(['access_token', 'expires_in', 'iss', 'scope', 'state', 'token_type']);
  });

  it('the token works at /api/v1/me, and expires after expires_in', async () => {
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'token', client_id: implicitId } });
    const token = responseParams(flow.location, 'fragment').get('access_token') as string;
    const res = await me(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      scope: 'PATIENT',
      client_id: implicitId,
    });
    t.advance(601_000);
    const expired = await me(token);
    expect(expired.statusCode).toBe(401);
    expect(String(expired.headers['www-authenticate'])).toContain('error="invalid_token"');
  });

  it('no state sent: none returned', async () => {
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'token', client_id: implicitId } });
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('state')).toBeNull();
    expect(params.get('access_token')).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  });

  it('never a refresh token, even for a client that may also refresh', async () => {
    const { client } = await addClient(t.store, {
      redirectUris: [CB],
      grants: ['authorization_code', 'refresh_token', 'implicit'],
    });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: client.id, scope: 'PATIENT' },
    });
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('access_token')).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(params.get('refresh_token')).toBeNull();
  });

  it('the role picked on the consent page is the token scope', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: implicitId },
      username: 'robin',
      scope: 'TEAMCOORD',
    });
    expect(flow.steps.some((s) => s.body.includes('<label for="scope-TEAMCOORD">Team coordinator</label>'))).toBe(true);
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('scope')).toBe('TEAMCOORD');
    expect((await me(params.get('access_token') as string)).json().scope).toBe('TEAMCOORD');
  });

  it('a registered URI with a query keeps it, and the answer goes in the fragment', async () => {
    const tenant = 'https://tenant.example/cb?tenant=7';
    const { client } = await addClient(t.store, { redirectUris: [tenant], grants: ['implicit'] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: client.id, state: 's' },
    });
    expect(flow.location.startsWith(`${tenant}#access_token=`)).toBe(true);
    const url = new URL(flow.location);
    expect(url.searchParams.get('tenant')).toBe('7');
    expect(url.searchParams.get('access_token')).toBeNull();
    expect(responseParams(flow.location, 'fragment').get('state')).toBe('s');
  });

  it('a public client registered for the implicit grant needs no PKCE', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], grants: ['implicit'], public: true });
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'token', client_id: client.id } });
    expect(flow.status).toBe(303);
    expect(responseParams(flow.location, 'fragment').get('access_token')).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  });

  it('a client without the implicit grant gets unauthorized_client in the fragment, before any sign-in', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: client.id, scope: 'PATIENT', state: 'no-implicit' },
    });
    expect(flow.status).toBe(302);
    expect(flow.steps).toHaveLength(1);
    expect(flow.location.startsWith(`${CB}#`)).toBe(true);
    expect(new URL(flow.location).search).toBe('');
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('error')).toBe('unauthorized_client');
    expect(params.get('state')).toBe('no-implicit');
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('access_token')).toBeNull();
  });

  it('Deny: access_denied in the fragment', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: implicitId, state: 'd' },
      decision: 'deny',
    });
    expect(flow.status).toBe(303);
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('d');
    expect(params.get('access_token')).toBeNull();
  });

  it('an implicit-only client cannot use the token endpoint with its token', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB], grants: ['implicit'] });
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'token', client_id: client.id } });
    const token = responseParams(flow.location, 'fragment').get('access_token') as string;
    const res = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: token },
      { authorization: basic(client.id, secret as string) },
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('unauthorized_client');
  });
});
