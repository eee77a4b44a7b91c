/**
 * Errors at the authorization endpoint (RFC 6749 §4.1.2.1, §4.2.2.1), on the real app.
 *
 * Non-redirecting: while the client or its redirect URI is in doubt the person gets a
 * 400 HTML page and is never sent to the client (RFC 6749 §4.1.2.1). Redirecting:
 * every other error goes to the redirect URI with `error`, `state` exactly as sent and
 * `iss` (RFC 9207) — in the query for `code`, in the fragment for `token`.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  authorizeThroughPages,
  form,
  ISSUER,
  pkcePair,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const OTHER = 'https://app.example/other';
const TENANT_CB = 'https://tenant.example/cb?tenant=7';

let t: TestApp;
const { challenge } = pkcePair();

beforeAll(async () => {
  t = await testApp();
  await addClient(t.store, { id: 'conf', redirectUris: [CB] });
  await addClient(t.store, { id: 'multi', redirectUris: [CB, OTHER] });
  await addClient(t.store, { id: 'pub', redirectUris: [CB], public: true });
  await addClient(t.store, { id: 'implicit-only', redirectUris: [CB], grants: ['implicit'] });
  await addClient(t.store, { id: 'code-and-implicit', redirectUris: [CB], grants: ['authorization_code', 'implicit'] });
  await addClient(t.store, { id: 'patient-only', redirectUris: [CB], scopes: ['PATIENT'] });
  await addClient(t.store, { id: 'tenant', redirectUris: [TENANT_CB] });
  await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
  await addTestUser(t.store, 'carl', ['CLINICIAN'], 'Carl Clinician');
  await addTestUser(t.store, 'tina', ['TEAMCOORD'], 'Tina Coordinator');
});

afterAll(async () => {
  await t.close();
});

type Query = Record<string, string | string[] | undefined>;

async function authorizeGet(query: Query, path = '/apiAuthorize.action'): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: `${path}?${form(query)}` });
}

async function authorizePost(query: Query, path = '/apiAuthorize.action'): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form(query),
  });
}

function expectErrorPage(res: LightMyRequestResponse, says: string): void {
  expect(res.statusCode).toBe(400);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.body).toContain('<!doctype html>');
  // A headline in plain words; the protocol's words only in the part for the app's developer.
  expect(res.body).toMatch(
    /<h1 id="heading">This app(&#39;s sign-in link is not valid| cannot sign you in right now)<\/h1>/,
  );
  const developer = res.body.indexOf("Details for the app's developer");
  expect(developer).toBeGreaterThan(0);
  expect(res.body.indexOf(says)).toBeGreaterThan(developer);
  expect(res.body).toContain('<code>invalid_request</code>');
  // Nothing links or sends the person on to the client.
  expect(res.body).not.toContain('https://app.example');
  expect(res.headers['set-cookie']).toBeUndefined();
}

const LONG = 'a'.repeat(4097);
const STATE = 'xyz';

describe('errors shown on a page, never redirected', () => {
  const cases: Array<{ name: string; query: Query; says: string }> = [
    {
      name: 'client_id missing',
      query: { response_type: 'code', state: 's' },
      says: 'The client_id parameter is missing',
    },
    {
      name: 'client_id unknown',
      query: { response_type: 'code', client_id: 'no-such-client', redirect_uri: CB, state: 's' },
      says: 'The client_id is not known to this server',
    },
    {
      name: 'client_id empty',
      query: { response_type: 'code', client_id: '', redirect_uri: CB },
      says: 'The client_id parameter is missing',
    },
    {
      name: 'client_id repeated',
      query: { response_type: 'code', client_id: ['conf', 'conf'], state: 's' },
      says: 'The client_id parameter was sent more than once',
    },
    {
      name: 'client_id repeated with different values',
      query: { response_type: 'code', client_id: ['conf', 'multi'], state: 's' },
      says: 'The client_id parameter was sent more than once',
    },
    {
      name: 'client_id over 4 KiB',
      query: { response_type: 'code', client_id: LONG, state: 's' },
      says: 'The client_id parameter is too long',
    },
    // Any value over 4 KiB is refused with a 4xx — not redirected.
    {
      name: 'state over 4 KiB',
      query: { response_type: 'code', client_id: 'conf', state: 's'.repeat(4097) },
      says: 'The state parameter is too long',
    },
    {
      name: 'state over 4 KiB (response_type=token)',
      query: { response_type: 'token', client_id: 'implicit-only', state: 'q'.repeat(4097) },
      says: 'The state parameter is too long',
    },
    {
      name: 'scope over 4 KiB',
      query: { response_type: 'code', client_id: 'conf', scope: 'P'.repeat(4097), state: STATE },
      says: 'The scope parameter is too long',
    },
    {
      name: 'code_challenge over 4 KiB',
      query: {
        response_type: 'code',
        client_id: 'pub',
        code_challenge: 'c'.repeat(5000),
        code_challenge_method: 'S256',
      },
      says: 'The code_challenge parameter is too long',
    },
    {
      name: 'an extension parameter over 4 KiB',
      query: { response_type: 'code', client_id: 'conf', login_hint: 'h'.repeat(4097), state: STATE },
      says: 'The login_hint parameter is too long',
    },
    {
      name: 'redirect_uri repeated',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: [CB, CB], state: 's' },
      says: 'The redirect_uri parameter was sent more than once',
    },
    {
      name: 'redirect_uri over 4 KiB',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: `${CB}?x=${LONG}` },
      says: 'The redirect_uri parameter is too long',
    },
    {
      name: 'redirect_uri missing with several registered',
      query: { response_type: 'code', client_id: 'multi', state: 's' },
      says: 'redirect_uri is required because this client has several registered',
    },
    {
      name: 'redirect_uri not registered',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: 'https://evil.example/cb', state: 's' },
      says: 'redirect_uri is not registered for this client',
    },
    ...[
      'https://APP.example/cb',
      'https://app.example:443/cb',
      'https://app.example/cb/',
      'https://app.example/./cb',
      'https://app.example/%63b',
      'https://user@app.example/cb',
      'http://app.example/cb',
      `${OTHER}`,
    ].map((uri) => ({
      name: `redirect_uri ${uri} is another URI`,
      query: { response_type: 'code', client_id: 'conf', redirect_uri: uri, state: 's' },
      says: 'redirect_uri is not registered for this client',
    })),
    {
      name: 'redirect_uri with a fragment',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: `${CB}#frag`, state: 's' },
      says: 'redirect_uri must not contain a fragment',
    },
    {
      name: 'redirect_uri with an empty fragment',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: `${CB}#`, state: 's' },
      says: 'redirect_uri must not contain a fragment',
    },
    {
      name: 'redirect_uri malformed (not absolute)',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: '/cb', state: 's' },
      says: 'redirect_uri is malformed',
    },
    {
      name: 'redirect_uri malformed (space)',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: 'https://app.example/c b', state: 's' },
      says: 'redirect_uri is malformed',
    },
    {
      name: 'redirect_uri malformed (backslash)',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: 'https://app.example\\@evil.example/cb' },
      says: 'redirect_uri is malformed',
    },
    {
      name: 'redirect_uri loses a registered query parameter',
      query: { response_type: 'code', client_id: 'tenant', redirect_uri: 'https://tenant.example/cb?tenant=8' },
      says: 'redirect_uri is not registered for this client',
    },
    {
      // The client is in doubt before the response type is even looked at.
      name: 'unknown client with an unsupported response_type',
      query: { response_type: 'id_token', client_id: 'nobody', redirect_uri: CB },
      says: 'The client_id is not known to this server',
    },
    {
      name: 'unregistered redirect_uri with an invalid scope',
      query: { response_type: 'code', client_id: 'conf', redirect_uri: 'https://evil.example/cb', scope: 'ADMIN' },
      says: 'redirect_uri is not registered for this client',
    },
  ];

  it.each(cases)('GET: $name', async ({ query, says }) => {
    expectErrorPage(await authorizeGet(query), says);
  });

  it.each(cases)('POST: $name', async ({ query, says }) => {
    expectErrorPage(await authorizePost(query), says);
  });

  it('a value of exactly 4 KiB is accepted', async () => {
    const res = await authorizeGet({ response_type: 'code', client_id: 'conf', state: 's'.repeat(4096) });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(/^\/login\?request=/);
  });

  it('the same on the /oauth2/authorize alias', async () => {
    expectErrorPage(
      await authorizeGet(
        { response_type: 'code', client_id: 'conf', redirect_uri: 'https://evil.example/cb' },
        '/oauth2/authorize',
      ),
      'redirect_uri is not registered for this client',
    );
  });
});

interface RedirectCase {
  name: string;
  query: Query;
  error: string;
  /** The redirect URI the error goes to; default CB. */
  to?: string;
  /** The state expected back; default the `state` of the query. */
  state?: string | null;
}

/** The error parameters of a redirect, asserting it is one and the other half of the URI is clean. */
function errorRedirect(res: LightMyRequestResponse, to: string, mode: 'query' | 'fragment'): URLSearchParams {
  expect(res.statusCode).toBe(302);
  const location = String(res.headers.location);
  expect(location.startsWith(to)).toBe(true);
  const url = new URL(location);
  const params = responseParams(location, mode);
  if (mode === 'query') {
    expect(url.hash).toBe('');
  } else {
    // The fragment carries the answer; the query is only the registered one.
    expect(location.startsWith(`${to}#`)).toBe(true);
    expect(url.searchParams.get('error')).toBeNull();
  }
  expect(params.get('iss')).toBe(ISSUER);
  expect(params.get('code')).toBeNull();
  expect(params.get('access_token')).toBeNull();
  return params;
}

describe('errors redirected to the client in the query (response_type=code)', () => {
  const cases: RedirectCase[] = [
    // invalid_request
    { name: 'response_type missing', query: { client_id: 'conf', state: STATE }, error: 'invalid_request' },
    {
      name: 'response_type empty',
      query: { response_type: '', client_id: 'conf', state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'response_type repeated',
      query: { response_type: ['code', 'code'], client_id: 'conf', state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'scope repeated',
      query: { response_type: 'code', client_id: 'conf', scope: ['PATIENT', 'PATIENT'], state: STATE },
      error: 'invalid_request',
    },
    {
      // Which of two states to echo is unknowable, so neither is.
      name: 'state repeated',
      query: { response_type: 'code', client_id: 'conf', state: ['one', 'two'] },
      error: 'invalid_request',
      state: null,
    },
    {
      name: 'code_challenge without method (means plain)',
      query: { response_type: 'code', client_id: 'conf', code_challenge: challenge, state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'code_challenge_method=plain',
      query: {
        response_type: 'code',
        client_id: 'conf',
        code_challenge: challenge,
        code_challenge_method: 'plain',
        state: STATE,
      },
      error: 'invalid_request',
    },
    {
      name: 'code_challenge_method=s256 (case matters)',
      query: {
        response_type: 'code',
        client_id: 'conf',
        code_challenge: challenge,
        code_challenge_method: 's256',
        state: STATE,
      },
      error: 'invalid_request',
    },
    {
      name: 'S256 with a malformed challenge (too short)',
      query: {
        response_type: 'code',
        client_id: 'conf',
        code_challenge: 'abc',
        code_challenge_method: 'S256',
        state: STATE,
      },
      error: 'invalid_request',
    },
    {
      name: 'S256 with a malformed challenge (bad characters)',
      query: {
        response_type: 'code',
        client_id: 'conf',
        code_challenge: `${challenge.slice(0, 42)}=`,
        code_challenge_method: 'S256',
        state: STATE,
      },
      error: 'invalid_request',
    },
    {
      name: 'code_challenge_method without code_challenge',
      query: { response_type: 'code', client_id: 'conf', code_challenge_method: 'S256', state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'public client without PKCE',
      query: { response_type: 'code', client_id: 'pub', state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'public client with plain PKCE',
      query: {
        response_type: 'code',
        client_id: 'pub',
        code_challenge: challenge,
        code_challenge_method: 'plain',
        state: STATE,
      },
      error: 'invalid_request',
    },
    // unauthorized_client
    {
      name: 'response_type=code for an implicit-only client',
      query: { response_type: 'code', client_id: 'implicit-only', state: STATE },
      error: 'unauthorized_client',
    },
    // unsupported_response_type
    {
      name: 'response_type=id_token',
      query: { response_type: 'id_token', client_id: 'conf', state: STATE },
      error: 'unsupported_response_type',
    },
    {
      name: 'response_type=code token',
      query: { response_type: 'code token', client_id: 'code-and-implicit', state: STATE },
      error: 'unsupported_response_type',
    },
    {
      name: 'response_type=CODE (values are case-sensitive)',
      query: { response_type: 'CODE', client_id: 'conf', state: STATE },
      error: 'unsupported_response_type',
    },
    {
      name: 'response_type=password',
      query: { response_type: 'password', client_id: 'conf', state: STATE },
      error: 'unsupported_response_type',
    },
    // invalid_scope
    {
      name: 'unknown role',
      query: { response_type: 'code', client_id: 'conf', scope: 'ADMIN', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'two roles',
      query: { response_type: 'code', client_id: 'conf', scope: 'PATIENT CLINICIAN', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'a role and an unknown scope',
      query: { response_type: 'code', client_id: 'conf', scope: 'patient openid', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'a role the client is not enabled for',
      query: { response_type: 'code', client_id: 'patient-only', scope: 'CLINICIAN', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'a role the client is not enabled for, in lower case',
      query: { response_type: 'code', client_id: 'patient-only', scope: 'teamcoord', state: STATE },
      error: 'invalid_scope',
    },
    // where it goes
    {
      name: 'no state sent: none returned',
      query: { response_type: 'id_token', client_id: 'conf' },
      error: 'unsupported_response_type',
      state: null,
    },
    {
      name: 'state with special characters comes back exactly',
      query: { response_type: 'id_token', client_id: 'conf', state: 'a+b c&d=é%20"<>#/?' },
      error: 'unsupported_response_type',
    },
    {
      name: 'to the redirect_uri that was sent, of several registered',
      query: { response_type: 'id_token', client_id: 'multi', redirect_uri: OTHER, state: STATE },
      error: 'unsupported_response_type',
      to: OTHER,
    },
    {
      name: 'to a registered URI with its own query, keeping it',
      query: { response_type: 'code', client_id: 'tenant', scope: 'ADMIN', state: STATE },
      error: 'invalid_scope',
      to: `${TENANT_CB}&`,
    },
    {
      name: 'to a registered URI with extra query parameters the client added',
      query: {
        response_type: 'code',
        client_id: 'tenant',
        redirect_uri: `${TENANT_CB}&lang=en`,
        scope: 'ADMIN',
        state: STATE,
      },
      error: 'invalid_scope',
      to: `${TENANT_CB}&lang=en&`,
    },
  ];

  function check(res: LightMyRequestResponse, c: RedirectCase): void {
    const params = errorRedirect(res, c.to ?? CB, 'query');
    expect(params.get('error')).toBe(c.error);
    expect(params.get('error_description')).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
    const expectedState = c.state === undefined ? (c.query.state as string) : c.state;
    expect(params.get('state')).toBe(expectedState);
  }

  it.each(cases)('GET: $name → $error', async (c) => {
    check(await authorizeGet(c.query), c);
  });

  it.each(cases)('POST: $name → $error', async (c) => {
    check(await authorizePost(c.query), c);
  });

  it('keeps registered query parameters and adds the error after them', async () => {
    const res = await authorizeGet({ response_type: 'code', client_id: 'tenant', scope: 'ADMIN', state: STATE });
    const url = new URL(String(res.headers.location));
    expect(url.origin + url.pathname).toBe('https://tenant.example/cb');
    expect(url.searchParams.get('tenant')).toBe('7');
    expect(url.searchParams.get('error')).toBe('invalid_scope');
  });

  it('the /oauth2/authorize alias redirects the same way', async () => {
    const params = errorRedirect(
      await authorizeGet({ response_type: 'id_token', client_id: 'conf', state: STATE }, '/oauth2/authorize'),
      CB,
      'query',
    );
    expect(params.get('error')).toBe('unsupported_response_type');
    expect(params.get('state')).toBe(STATE);
  });

  it('access_denied when the person presses Deny, with state and iss', async () => {
    const state = 'deny me+please';
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'conf', state, scope: 'PATIENT' },
      decision: 'deny',
    });
    expect(flow.status).toBe(303);
    expect(flow.location.startsWith(`${CB}?`)).toBe(true);
    const params = responseParams(flow.location);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe(state);
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('code')).toBeNull();
  });
});

describe('errors redirected in the fragment (response_type=token, RFC 6749 §4.2.2.1)', () => {
  const cases: RedirectCase[] = [
    {
      name: 'client without the implicit grant',
      query: { response_type: 'token', client_id: 'conf', state: STATE },
      error: 'unauthorized_client',
    },
    {
      name: 'public client without the implicit grant',
      query: { response_type: 'token', client_id: 'pub', state: STATE },
      error: 'unauthorized_client',
    },
    {
      name: 'unknown role',
      query: { response_type: 'token', client_id: 'implicit-only', scope: 'ROOT', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'two roles',
      query: { response_type: 'token', client_id: 'implicit-only', scope: 'PATIENT TEAMCOORD', state: STATE },
      error: 'invalid_scope',
    },
    {
      name: 'scope repeated',
      query: { response_type: 'token', client_id: 'implicit-only', scope: ['PATIENT', 'PATIENT'], state: STATE },
      error: 'invalid_request',
    },
    {
      name: 'state repeated',
      query: { response_type: 'token', client_id: 'implicit-only', state: ['a', 'b'] },
      error: 'invalid_request',
      state: null,
    },
    {
      name: 'state with special characters comes back exactly',
      query: { response_type: 'token', client_id: 'conf', state: 'a+b c&d=é%20"<>#/?' },
      error: 'unauthorized_client',
    },
  ];

  it.each(cases)('GET: $name → $error', async (c) => {
    const params = errorRedirect(await authorizeGet(c.query), c.to ?? CB, 'fragment');
    expect(params.get('error')).toBe(c.error);
    expect(params.get('state')).toBe(c.state === undefined ? (c.query.state as string) : c.state);
  });

  it.each(cases)('POST: $name → $error', async (c) => {
    const params = errorRedirect(await authorizePost(c.query), c.to ?? CB, 'fragment');
    expect(params.get('error')).toBe(c.error);
  });

  it('access_denied in the fragment when the person presses Deny', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: 'implicit-only', state: 'st', scope: 'patient' },
      decision: 'deny',
    });
    expect(flow.status).toBe(303);
    expect(flow.location.startsWith(`${CB}#`)).toBe(true);
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('st');
    expect(params.get('iss')).toBe(ISSUER);
    expect(new URL(flow.location).search).toBe('');
  });
});

describe('role scopes in any letter case', () => {
  it.each([
    ['patient', 'alice', 'PATIENT'],
    ['Clinician', 'carl', 'CLINICIAN'],
    ['teamCoord', 'tina', 'TEAMCOORD'],
  ])('scope=%s is accepted and the token says %s', async (scope, username, role) => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id, scope, state: 'r' },
      username,
    });
    expect(flow.status).toBe(303);
    const code = responseParams(flow.location).get('code') as string;
    expect(code).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    const res = await postToken(t.app, {
      grant_type: 'authorization_code',
      code,
      client_id: client.id,
      client_secret: secret,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().scope).toBe(role);
  });

  it('the implicit grant returns the role in capitals too', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: 'implicit-only', scope: 'pAtIeNt' },
    });
    expect(flow.status).toBe(303);
    expect(responseParams(flow.location, 'fragment').get('scope')).toBe('PATIENT');
  });
});

describe('POST /apiAuthorize.action', () => {
  it('works like GET: the whole code flow, parameters in the form body', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB] });
    const state = 'posted & fine';
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id, scope: 'PATIENT', state },
      authorizeMethod: 'POST',
    });
    expect(flow.status).toBe(303);
    const params = responseParams(flow.location);
    expect(params.get('state')).toBe(state);
    expect(params.get('iss')).toBe(ISSUER);
    const res = await postToken(t.app, {
      grant_type: 'authorization_code',
      code: params.get('code') as string,
      client_id: client.id,
      client_secret: secret,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'PATIENT' });
  });

  it('on the /oauth2/authorize alias too', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'conf', scope: 'PATIENT', state: 'alias' },
      authorizeMethod: 'POST',
      authorizePath: '/oauth2/authorize',
    });
    expect(flow.status).toBe(303);
    expect(flow.location.startsWith(`${CB}?`)).toBe(true);
    expect(responseParams(flow.location).get('code')).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  });

  it('a valid request answers 302 to the sign-in page and sets the browser cookie', async () => {
    const res = await authorizePost({ response_type: 'code', client_id: 'conf', state: STATE });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(/^\/login\?request=[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(res.cookies.map((c) => c.name)).toContain('tessera_browser');
  });

  it('a body over 64 KiB is refused with a 4xx, not a 5xx', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/apiAuthorize.action',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ response_type: 'code', client_id: 'conf', padding: 'p'.repeat(70 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers.location).toBeUndefined();
  });

  it('a body that is not a form is refused on a page, not redirected', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/apiAuthorize.action',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ response_type: 'code', client_id: 'conf' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('The request body must be application/x-www-form-urlencoded');
  });
});
