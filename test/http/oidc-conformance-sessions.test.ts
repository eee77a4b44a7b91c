/**
 * The OpenID Foundation conformance suite's session and prompt modules, one test each,
 * named after the module and doing what it does against the real app: the request it
 * sends, the browser state it assumes, and the answer it requires.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/oauth/tokens.js';
import {
  addClient,
  addTestUser,
  basic,
  authorizeThroughPages,
  CookieJar,
  getPage,
  hiddenValue,
  ISSUER,
  PASSWORD,
  postPage,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';
import { answerConsent, authorizeIn, signedInBrowser } from '../helpers/sessions.js';

const CB = 'https://rp.example/cb';
let t: TestApp;
let clientId: string;
let aliceId: string;

beforeEach(async () => {
  t = await testApp();
  clientId = (await addClient(t.store, { name: 'Conformance RP', redirectUris: [CB], scopes: ['PATIENT', 'openid'] }))
    .client.id;
  aliceId = (await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel')).id;
});

afterEach(async () => {
  await t.close();
});

const request = (extra: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: clientId,
  scope: 'openid',
  state: 'conformance',
  nonce: 'n-0S6_WzA2Mj',
  ...extra,
});

/** The grant behind the code of a redirect to the RP (after checking state and iss). */
async function grantFrom(location: string) {
  expect(location.startsWith(`${CB}?`)).toBe(true);
  const params = responseParams(location);
  expect(params.get('state')).toBe('conformance');
  expect(params.get('iss')).toBe(ISSUER);
  const found = await t.store.findAuthorizationCode(hashSecret(params.get('code') ?? ''));
  if (!found) throw new Error(`no code in ${location}`);
  return found.grant;
}

/** Signs in on the sign-in page the response leads to; returns the answer to the sign-in form. */
async function signInAt(location: string, jar: CookieJar, username = 'alice') {
  const login = await getPage(t.app, location, jar);
  expect(login.statusCode).toBe(200);
  const form = { request: hiddenValue(login.body, 'request'), csrf: hiddenValue(login.body, 'csrf') };
  return postPage(t.app, '/login', { ...form, username, password: PASSWORD }, jar);
}

describe('OpenID Connect conformance: sessions and prompts', () => {
  it('oidcc-prompt-login: a second authorization with prompt=login re-authenticates; auth_time moves on', async () => {
    const { jar, location: first } = await signedInBrowser(t.app, { query: request() });
    const firstAuth = (await grantFrom(first)).authTime ?? 0;
    t.advance(2000);
    const res = await authorizeIn(t.app, request({ prompt: 'login' }), jar);
    expect(String(res.headers.location)).toMatch(/^\/login\?/);
    const signedIn = await signInAt(String(res.headers.location), jar);
    const done = await answerConsent(t.app, String(signedIn.headers.location), jar);
    const grant = await grantFrom(String(done.headers.location));
    expect(grant.authTime).toBeGreaterThanOrEqual(firstAuth + 2000);
  });

  it('oidcc-prompt-none-not-logged-in: login_required, no page', async () => {
    const res = await authorizeIn(t.app, request({ prompt: 'none' }), new CookieJar());
    expect(res.statusCode).toBe(302);
    const params = responseParams(String(res.headers.location));
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe('conformance');
    expect(params.get('iss')).toBe(ISSUER);
  });

  it('oidcc-prompt-none-logged-in: a signed-in browser gets a code without a page', async () => {
    // The suite's RP is first-party for this test's purpose: consent was given already.
    const firstParty = (
      await addClient(t.store, { name: 'RP', redirectUris: [CB], scopes: ['PATIENT', 'openid'], skipConsent: true })
    ).client.id;
    const { jar } = await signedInBrowser(t.app, { query: request({ client_id: firstParty }) });
    const res = await authorizeIn(t.app, request({ client_id: firstParty, prompt: 'none' }), jar);
    expect(res.statusCode).toBe(302);
    const grant = await grantFrom(String(res.headers.location));
    expect(grant.personId).toBe(aliceId);
    expect(grant.nonce).toBe('n-0S6_WzA2Mj');
  });

  it('oidcc-max-age-1: after waiting over a second, max_age=1 re-authenticates', async () => {
    const { jar, location: first } = await signedInBrowser(t.app, { query: request() });
    const firstAuth = (await grantFrom(first)).authTime ?? 0;
    t.advance(1500);
    const res = await authorizeIn(t.app, request({ max_age: '1' }), jar);
    expect(String(res.headers.location)).toMatch(/^\/login\?/);
    const signedIn = await signInAt(String(res.headers.location), jar);
    const done = await answerConsent(t.app, String(signedIn.headers.location), jar);
    expect((await grantFrom(String(done.headers.location))).authTime).toBeGreaterThan(firstAuth + 1000);
  });

  it('oidcc-max-age-10000: the existing session is used; auth_time stays the first sign-in', async () => {
    const { jar, location: first } = await signedInBrowser(t.app, { query: request() });
    const firstAuth = (await grantFrom(first)).authTime ?? 0;
    t.advance(1500);
    const res = await authorizeIn(t.app, request({ max_age: '10000' }), jar);
    expect(String(res.headers.location)).toMatch(/^\/consent\?/);
    const done = await answerConsent(t.app, String(res.headers.location), jar);
    expect((await grantFrom(String(done.headers.location))).authTime).toBe(firstAuth);
  });

  it('oidcc-id-token-hint: the ID token of the first login as hint, prompt=none: a code for the same person', async () => {
    const rp = await addClient(t.store, {
      name: 'RP',
      redirectUris: [CB],
      scopes: ['PATIENT', 'openid'],
      skipConsent: true,
    });
    const firstParty = rp.client.id;
    const { jar, location } = await signedInBrowser(t.app, { query: request({ client_id: firstParty }) });
    // The hint is the ID token the first login gave.
    const redeemed = await postToken(
      t.app,
      { grant_type: 'authorization_code', code: responseParams(location).get('code') ?? '' },
      { authorization: basic(firstParty, rp.secret as string) },
    );
    const hint = (redeemed.json() as { id_token: string }).id_token;
    expect(hint).toMatch(/^eyJ/);
    const res = await authorizeIn(t.app, request({ client_id: firstParty, prompt: 'none', id_token_hint: hint }), jar);
    expect((await grantFrom(String(res.headers.location))).personId).toBe(aliceId);
  });

  it('oidcc-login-hint: the sign-in page has the hinted username filled in', async () => {
    const jar = new CookieJar();
    const res = await authorizeIn(t.app, request({ login_hint: 'alice' }), jar);
    const page = await getPage(t.app, String(res.headers.location), jar);
    expect(page.body).toContain('id="username" value="alice"');
  });

  it.each([
    ['oidcc-ui-locales', { ui_locales: 'se' }],
    ['oidcc-claims-locales', { claims_locales: 'se' }],
    ['oidcc-display-page', { display: 'page' }],
    ['oidcc-display-popup', { display: 'popup' }],
  ])('%s: the parameter is accepted and the flow completes', async (_module, extra) => {
    const flow = await authorizeThroughPages(t.app, { query: request(extra) });
    expect(flow.status).toBe(303);
    expect((await grantFrom(flow.location)).personId).toBe(aliceId);
  });
});
