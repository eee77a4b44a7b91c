import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/http/browser.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import {
  addClient,
  addUser,
  authorizeThroughPages,
  basic,
  CookieJar,
  form,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

describe('authorization code flow through the pages', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('records in the grant who signed in, when, and in which browser session', async () => {
    const { client, secret } = await addClient(t.store);
    const alice = await addUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
    const jar = new CookieJar();
    const before = Date.now();
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'code', client_id: client.id }, jar });
    const code = responseParams(flow.location).get('code') as string;
    const found = await t.store.findAuthorizationCode(hashSecret(code));
    const session = await t.store.getSignInSession(hashSecret(jar.get(SESSION_COOKIE) as string), Date.now());
    expect(session).toBeDefined();
    expect(found?.grant).toMatchObject({
      personId: alice.id,
      clientId: client.id,
      scope: 'PATIENT',
      authTime: session?.createdAt,
      sessionId: session?.hash,
    });
    expect(found?.grant.authTime).toBeGreaterThanOrEqual(before);

    const token = await postToken(
      t.app,
      { grant_type: 'authorization_code', code },
      { authorization: basic(client.id, secret as string) },
    );
    expect(token.statusCode).toBe(200);
    const access = await t.store.findAccessToken(hashSecret(token.json().access_token));
    expect(access?.token).toMatchObject({ format: 'opaque', jti: null, scope: 'PATIENT' });
    expect(access?.token.createdAt).toBeGreaterThanOrEqual(before);
    expect(access?.token.expiresAt).toBe((access?.token.createdAt ?? 0) + 600_000);
  });

  it('issues a code, exchanges it once, and the token works at /api/v1/me', async () => {
    const { client, secret } = await addClient(t.store);
    await addUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
    const state = 'a+b c&d=é%20"<>';
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id, state, scope: 'patient' },
    });
    expect(flow.status).toBe(303);
    const params = responseParams(flow.location);
    expect(flow.location.startsWith('https://app.example/cb?')).toBe(true);
    expect(params.get('state')).toBe(state);
    const code = params.get('code') as string;
    expect(code).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);

    const token = await t.app.inject({
      method: 'POST',
      url: '/apiToken.action',
      headers: {
        authorization: basic(client.id, secret as string),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: form({ grant_type: 'authorization_code', code }),
    });
    expect(token.statusCode).toBe(200);
    expect(token.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(token.headers['cache-control']).toBe('no-store');
    expect(token.headers.pragma).toBe('no-cache');
    const body = token.json();
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'PATIENT' });

    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `BEARER ${body.access_token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username: 'alice', name: 'Alice Patel', scope: 'PATIENT', client_id: client.id });
  });
});
