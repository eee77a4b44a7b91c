/**
 * The three parts of the OpenID Provider together, with real ID tokens and openid-client
 * v6 as the relying party on a real port: a person signs in once; a later silent
 * authentication (`prompt=none` with the first ID token as `id_token_hint`) completes
 * without a page and gives an ID token with the same `sub`, `auth_time` and `sid`;
 * `buildEndSessionUrl` with that hint signs the browser out at once and returns to the
 * registered URI with `state`; afterwards `prompt=none` is `login_required`, while the
 * tokens already issued keep working (logout ends the session, no grant).
 */
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PersonRecord } from '../../src/store/store.js';
import { addPerson } from '../../src/services/people.js';
import {
  CookieJar,
  getPage,
  hiddenValue,
  PASSWORD,
  postPage,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';
import { addOpenIdClient, addOpenIdPerson, CB } from '../helpers/openid.js';
import { signedInBrowser } from '../helpers/sessions.js';

const BYE = 'https://app.example/signed-out';

let t: TestApp;
let base: string;
let alice: PersonRecord;
beforeEach(async () => {
  t = await testApp();
  alice = await addOpenIdPerson(t.store);
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  t.config.issuer = base;
});
afterEach(async () => {
  await t.close();
});

async function relyingParty(skipConsent: boolean): Promise<oidc.Configuration> {
  const rp = await addOpenIdClient(t.store, { skipConsent, postLogoutRedirectUris: [BYE] });
  return oidc.discovery(new URL(base), rp.client.id, { redirect_uris: [CB] }, oidc.ClientSecretBasic(rp.secret), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** An authorization URL as the library builds it, with fresh PKCE, nonce and state. */
async function authorizationUrl(config: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CB,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...extra,
  });
  return { url, check: { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state } };
}

/** The path and query of a URL on this server, as the test app is asked for it. */
const local = (url: URL) => `${url.pathname}${url.search}`;

describe('sign in once, authenticate silently, sign out — with openid-client', () => {
  it('prompt=none with a real id_token_hint completes without a page; logout with it returns at once', async () => {
    const config = await relyingParty(true);
    expect(config.serverMetadata().end_session_endpoint).toBe(`${base}/oauth2/logout`);

    // 1. The first sign-in, through the pages (skip-consent: no consent page).
    const first = await authorizationUrl(config);
    const { jar, location } = await signedInBrowser(t.app, { query: Object.fromEntries(first.url.searchParams) });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
      ...first.check,
      idTokenExpected: true,
    });
    const firstClaims = tokens.claims();
    expect(firstClaims?.sub).toBe(alice.id);
    expect(firstClaims?.sid).toEqual(expect.any(String));

    // 2. Silent authentication: the browser's session, the hint naming its person, no page.
    const silent = await authorizationUrl(config, { prompt: 'none', id_token_hint: tokens.id_token as string });
    const answer = await getPage(t.app, local(silent.url), jar);
    expect(answer.statusCode).toBe(302);
    const back = String(answer.headers.location);
    expect(back.startsWith(`${CB}?`)).toBe(true);
    const again = await oidc.authorizationCodeGrant(config, new URL(back), { ...silent.check, idTokenExpected: true });
    const claims = again.claims();
    expect(claims).toMatchObject({
      sub: firstClaims?.sub,
      auth_time: firstClaims?.auth_time,
      sid: firstClaims?.sid,
      nonce: silent.check.expectedNonce,
    });

    // 3. Logout with the hint: no confirmation page, straight back to the registered URI with state.
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: again.id_token as string,
      post_logout_redirect_uri: BYE,
      state: 'bye-1',
    });
    const out = await getPage(t.app, local(endSession), jar);
    expect(out.statusCode).toBeGreaterThanOrEqual(302);
    expect(out.statusCode).toBeLessThan(400);
    expect(String(out.headers.location)).toBe(`${BYE}?state=bye-1`);

    // 4. The session is over: silent authentication now needs a sign-in…
    const after = await authorizationUrl(config, { prompt: 'none' });
    const refused = await getPage(t.app, local(after.url), jar);
    const params = responseParams(String(refused.headers.location));
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe(after.check.expectedState);
    expect(params.get('iss')).toBe(base);

    // …but no grant ended: UserInfo and the refresh token still work.
    expect(await oidc.fetchUserInfo(config, again.access_token, alice.id)).toMatchObject({
      sub: alice.id,
      email: 'alice@example.org',
    });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(decodeJwt(refreshed.id_token as string)).toMatchObject({ sub: alice.id, auth_time: firstClaims?.auth_time });
  });

  it('prompt=none is consent_required for a client that asks for consent, even with a session', async () => {
    const config = await relyingParty(false);
    const first = await authorizationUrl(config);
    const { jar } = await signedInBrowser(t.app, { query: Object.fromEntries(first.url.searchParams) });
    const silent = await authorizationUrl(config, { prompt: 'none' });
    const answer = await getPage(t.app, local(silent.url), jar);
    expect(responseParams(String(answer.headers.location)).get('error')).toBe('consent_required');
  });

  it('prompt=none with another person’s real ID token as the hint is login_required', async () => {
    await addOpenIdPerson(t.store, 'bob');
    const config = await relyingParty(true);
    const forBob = await authorizationUrl(config);
    const bob = await signedInBrowser(t.app, {
      query: Object.fromEntries(forBob.url.searchParams),
      username: 'bob',
    });
    const bobTokens = await oidc.authorizationCodeGrant(config, new URL(bob.location), forBob.check);

    const forAlice = await authorizationUrl(config);
    const { jar } = await signedInBrowser(t.app, { query: Object.fromEntries(forAlice.url.searchParams) });
    const silent = await authorizationUrl(config, { prompt: 'none', id_token_hint: bobTokens.id_token as string });
    const answer = await getPage(t.app, local(silent.url), jar);
    expect(responseParams(String(answer.headers.location)).get('error')).toBe('login_required');

    // And logout with Bob's hint in Alice's browser asks before it ends anything.
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: bobTokens.id_token as string,
      post_logout_redirect_uri: BYE,
    });
    const page = await getPage(t.app, local(endSession), jar);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Sign out');
    const stillIn = await getPage(t.app, local((await authorizationUrl(config, { prompt: 'none' })).url), jar);
    expect(responseParams(String(stillIn.headers.location)).get('code')).toEqual(expect.any(String));
  });

  it('a browser that never signed in: prompt=none is login_required', async () => {
    const config = await relyingParty(true);
    const jar = new CookieJar();
    const silent = await authorizationUrl(config, { prompt: 'none' });
    const answer = await getPage(t.app, local(silent.url), jar);
    expect(responseParams(String(answer.headers.location)).get('error')).toBe('login_required');
  });
});

describe('an app enabled for the OpenID scopes only (no role)', () => {
  async function roleless(skipConsent: boolean) {
    const rp = await addOpenIdClient(t.store, { scopes: ['openid', 'profile', 'email'], skipConsent });
    const config = await oidc.discovery(
      new URL(base),
      rp.client.id,
      { redirect_uris: [CB] },
      oidc.ClientSecretBasic(rp.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    return { rp, config };
  }

  it('signs a person in: the consent page names what it gets in plain words, the tokens carry no role', async () => {
    const { config } = await roleless(false);
    const first = await authorizationUrl(config);
    const jar = new CookieJar();
    const start = await getPage(t.app, local(first.url), jar);
    const login = await getPage(t.app, String(start.headers.location), jar);
    const signedIn = await postPage(
      t.app,
      '/login',
      {
        request: hiddenValue(login.body, 'request'),
        csrf: hiddenValue(login.body, 'csrf'),
        username: 'alice',
        password: PASSWORD,
      },
      jar,
    );
    const consent = await getPage(t.app, String(signedIn.headers.location), jar);
    expect(consent.statusCode).toBe(200);
    expect(consent.body).not.toContain('name="scope"');
    expect(consent.body).not.toMatch(/act for you as/);
    expect(consent.body).toContain('asks for');
    expect(consent.body).toContain('Your name and username');
    expect(consent.body).toContain('Your e-mail address');
    const allowed = await postPage(
      t.app,
      '/consent',
      { request: hiddenValue(consent.body, 'request'), csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' },
      jar,
    );
    const tokens = await oidc.authorizationCodeGrant(config, new URL(String(allowed.headers.location)), {
      ...first.check,
      idTokenExpected: true,
    });
    expect(tokens.scope).toBe('openid profile email');
    expect(tokens.claims()).toMatchObject({ sub: alice.id, preferred_username: 'alice', email: 'alice@example.org' });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, alice.id)).toMatchObject({ name: 'alice Example' });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.scope).toBe('openid profile email');
    expect(decodeJwt(refreshed.id_token as string).sub).toBe(alice.id);
  });

  it('with --skip-consent, a person of any role goes straight back to the app', async () => {
    await addPerson(t.store, { username: 'carl', password: PASSWORD, roles: ['CLINICIAN'] }, Date.now());
    const { config } = await roleless(true);
    const first = await authorizationUrl(config);
    const { location } = await signedInBrowser(t.app, {
      query: Object.fromEntries(first.url.searchParams),
      username: 'carl',
    });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), first.check);
    expect(tokens.claims()?.preferred_username).toBe('carl');
    expect(tokens.scope).toBe('openid profile email');
  });

  it('still refuses a role it is not enabled for', async () => {
    const { config } = await roleless(false);
    const first = await authorizationUrl(config, { scope: 'openid PATIENT' });
    const answer = await getPage(t.app, local(first.url), new CookieJar());
    expect(responseParams(String(answer.headers.location)).get('error')).toBe('invalid_scope');
  });
});
