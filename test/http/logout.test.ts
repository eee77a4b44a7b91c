/**
 * RP-Initiated Logout at /oauth2/logout on the real app (both engines): the hint, the
 * confirmation page and its CSRF token, where the browser goes afterwards (never an
 * unregistered address), the session row and cookie ended while the grant's tokens live
 * on, and bad input as a 400 page.
 */
import { generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keySealer } from '../../src/oauth/key-seal.js';
import { keyStore } from '../../src/oauth/signing-keys.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import { SESSION_COOKIE } from '../../src/http/browser.js';
import {
  addClient,
  addTestUser,
  codeThroughPages,
  CookieJar,
  form,
  getPage,
  ISSUER,
  postPage,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';
import type { PersonRecord } from '../../src/store/store.js';

const CB = 'https://app.example/cb';
const BACK = 'https://app.example/logged-out';
const OTHER_BACK = 'https://other.example/bye';

let t: TestApp;
let clientId: string;
let clientSecret: string;
let otherClientId: string;
let alice: PersonRecord;
let bob: PersonRecord;

beforeEach(async () => {
  t = await testApp();
  const app = await addClient(t.store, { name: 'Health Diary', redirectUris: [CB], postLogoutRedirectUris: [BACK] });
  clientId = app.client.id;
  clientSecret = app.secret as string;
  const other = await addClient(t.store, {
    name: 'Other App',
    redirectUris: ['https://other.example/cb'],
    postLogoutRedirectUris: [OTHER_BACK],
  });
  otherClientId = other.client.id;
  alice = await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
  bob = await addTestUser(t.store, 'bob', ['PATIENT'], 'Bob Brown');
});

afterEach(async () => {
  await t.close();
});

/** An ID token as this server would issue it, signed with the server's own current key. */
async function idToken(
  claims: { sub?: string; aud?: string; iss?: string } = {},
  times: { iat?: number; exp?: number } = {},
): Promise<string> {
  const signing = await keyStore(t.store, { sealer: keySealer(undefined), tokenLifetime: 600 }).signingKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setSubject(claims.sub ?? alice.id)
    .setAudience(claims.aud ?? clientId)
    .setIssuedAt(times.iat ?? now)
    .setExpirationTime(times.exp ?? now + 600)
    .sign(signing.key);
}

/** The same claims and `kid`, signed by a key that is not the server's. */
async function forgedIdToken(): Promise<string> {
  const signing = await keyStore(t.store, { sealer: keySealer(undefined), tokenLifetime: 600 }).signingKey();
  const foreign = await generateKeyPair(signing.alg, { extractable: true });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(alice.id)
    .setAudience(clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(foreign.privateKey);
}

interface SignedIn {
  jar: CookieJar;
  accessToken: string;
  refreshToken: string;
}

/** Signs `username` in through the pages and redeems the code: a browser with a session, and the grant's tokens. */
async function signIn(username = 'alice'): Promise<SignedIn> {
  const jar = new CookieJar();
  const code = await codeThroughPages(t.app, { query: { response_type: 'code', client_id: clientId }, username, jar });
  const tokens = await postToken(t.app, {
    grant_type: 'authorization_code',
    code,
    client_id: clientId,
    client_secret: clientSecret,
  });
  expect(tokens.statusCode).toBe(200);
  expect(jar.get(SESSION_COOKIE)).toBeDefined();
  return { jar, accessToken: tokens.json().access_token, refreshToken: tokens.json().refresh_token };
}

async function sessionAlive(jar: CookieJar, cookie = jar.get(SESSION_COOKIE)): Promise<boolean> {
  if (cookie === undefined) return false;
  return (await t.store.getSignInSession(hashSecret(cookie), Date.now())) !== undefined;
}

/** Whether the response tells the browser to drop the session cookie. */
function clearsSessionCookie(res: LightMyRequestResponse): boolean {
  const cookies = res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>;
  return cookies.some(
    (c) =>
      c.name === SESSION_COOKIE &&
      c.value === '' &&
      (c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now())),
  );
}

function logoutUrl(query: Record<string, string | undefined>): string {
  return `/oauth2/logout?${form(query)}`;
}

function expectPage(res: LightMyRequestResponse, status: number, text: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  expect(res.body).not.toContain('<script');
  expect(res.body).toContain(text);
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&quot;': '"', '&lt;': '<', '&gt;': '>', '&#39;': "'" };

/** The confirmation page: its form's CSRF token, and the hidden fields it posts back. */
function confirmationForm(res: LightMyRequestResponse): Record<string, string> {
  expectPage(res, 200, 'Sign out of Tessera?');
  expect(res.body).toContain('<form method="post" action="/oauth2/logout"');
  expect(res.body).toMatch(/<button type="submit" name="confirm" value="yes"[^>]*>Sign out<\/button>/);
  const fields: Record<string, string> = {};
  for (const m of res.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1] as string] = (m[2] as string).replace(/&(amp|quot|lt|gt|#39);/g, (e) => ENTITIES[e] as string);
  }
  return fields;
}

async function apiAnswers(accessToken: string): Promise<number> {
  const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${accessToken}` } });
  return res.statusCode;
}

describe('with a valid id_token_hint for the signed-in person', () => {
  it('GET ends the session and the cookie at once, goes back to the registered URI with state, and leaves the tokens valid', async () => {
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const state = 'a b&c=d/é';
    const res = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await idToken(), post_logout_redirect_uri: BACK, state }),
      browser.jar,
    );
    expect(res.statusCode).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(BACK);
    expect([...location.searchParams]).toEqual([['state', state]]);
    expect(clearsSessionCookie(res)).toBe(true);
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);

    // No grant ended: the access token still answers, and the refresh token still rotates.
    expect(await apiAnswers(browser.accessToken)).toBe(200);
    const refreshed = await postToken(t.app, {
      grant_type: 'refresh_token',
      refresh_token: browser.refreshToken,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(refreshed.statusCode).toBe(200);
  });

  it('POST (a form from the app, with the session cookie) acts the same', async () => {
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const res = await postPage(
      t.app,
      '/oauth2/logout',
      { id_token_hint: await idToken(), post_logout_redirect_uri: BACK, state: 'xyz' },
      browser.jar,
    );
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${BACK}?state=xyz`);
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);
  });

  it('an expired but genuine hint counts', async () => {
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const hint = await idToken({}, { iat: hourAgo - 600, exp: hourAgo });
    const res = await getPage(t.app, logoutUrl({ id_token_hint: hint, post_logout_redirect_uri: BACK }), browser.jar);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(BACK);
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);
  });

  it('without post_logout_redirect_uri shows "You are signed out"', async () => {
    const browser = await signIn();
    const res = await getPage(t.app, logoutUrl({ id_token_hint: await idToken() }), browser.jar);
    expectPage(res, 200, 'You are signed out');
    expect(clearsSessionCookie(res)).toBe(true);
    expect(browser.jar.get(SESSION_COOKIE)).toBeUndefined();
  });

  it('with client_id too, they must name the same client', async () => {
    const browser = await signIn();
    const same = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await idToken(), client_id: clientId, post_logout_redirect_uri: BACK }),
      browser.jar,
    );
    expect(same.statusCode).toBe(303);
    expect(same.headers.location).toBe(BACK);

    const again = await signIn();
    const res = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await idToken(), client_id: otherClientId, post_logout_redirect_uri: OTHER_BACK }),
      again.jar,
    );
    expectPage(res, 400, 'client_id is not the client the id_token_hint was issued to');
    expect(res.body).not.toContain(OTHER_BACK);
    expect(await sessionAlive(again.jar)).toBe(true);
  });
});

describe('the confirmation page', () => {
  it('no hint: asks first, and the confirmation ends the session and goes back with state', async () => {
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const res = await getPage(
      t.app,
      logoutUrl({ client_id: clientId, post_logout_redirect_uri: BACK, state: 's"t<a>te' }),
      browser.jar,
    );
    const fields = confirmationForm(res);
    expect(res.body).toContain('Alice Patel');
    expect(res.body).toContain('Health Diary');
    expect(res.body).toContain('s&quot;t&lt;a&gt;te');
    expect(res.body).not.toContain('s"t<a>te');
    expect(fields).toMatchObject({ client_id: clientId, post_logout_redirect_uri: BACK, state: 's"t<a>te' });
    expect(await sessionAlive(browser.jar, cookie)).toBe(true);

    const confirmed = await postPage(t.app, '/oauth2/logout', { ...fields, confirm: 'yes' }, browser.jar);
    expect(confirmed.statusCode).toBe(303);
    expect(confirmed.headers.location).toBe(`${BACK}?state=${encodeURIComponent('s"t<a>te')}`);
    expect(clearsSessionCookie(confirmed)).toBe(true);
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);
    expect(await apiAnswers(browser.accessToken)).toBe(200);
  });

  it('no parameters at all: asks, then shows "You are signed out"', async () => {
    const browser = await signIn();
    const fields = confirmationForm(await getPage(t.app, '/oauth2/logout', browser.jar));
    expect(Object.keys(fields)).toEqual(['csrf']);
    const confirmed = await postPage(t.app, '/oauth2/logout', { ...fields, confirm: 'yes' }, browser.jar);
    expectPage(confirmed, 200, 'You are signed out');
    expect(browser.jar.get(SESSION_COOKIE)).toBeUndefined();
  });

  it('a valid hint for someone else asks first', async () => {
    const browser = await signIn();
    const res = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await idToken({ sub: bob.id }), post_logout_redirect_uri: BACK }),
      browser.jar,
    );
    const fields = confirmationForm(res);
    expect(fields).toMatchObject({ client_id: clientId, post_logout_redirect_uri: BACK });
    expect(await sessionAlive(browser.jar)).toBe(true);
  });

  it.each([
    ['a forged hint (signed by a foreign key)', () => forgedIdToken()],
    ['a hint from another issuer', () => idToken({ iss: 'https://evil.example' })],
    ['a hint that is not a JWT', async () => 'not-a-token'],
  ])('%s asks first and never follows the redirect, even after confirming', async (_name, makeHint) => {
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const res = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await makeHint(), post_logout_redirect_uri: BACK, state: 'st' }),
      browser.jar,
    );
    const fields = confirmationForm(res);
    expect(fields.post_logout_redirect_uri).toBeUndefined();
    expect(res.body).not.toContain(BACK);
    expect(res.body).toContain('cannot verify');

    const confirmed = await postPage(t.app, '/oauth2/logout', { ...fields, confirm: 'yes' }, browser.jar);
    expectPage(confirmed, 200, 'You are signed out');
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);
  });

  it('refuses a confirmation without the CSRF token, or with another one, and keeps the session', async () => {
    const browser = await signIn();
    const fields = confirmationForm(await getPage(t.app, logoutUrl({ client_id: clientId }), browser.jar));
    const { csrf, ...rest } = fields;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const missing = await postPage(t.app, '/oauth2/logout', { ...rest, confirm: 'yes' }, browser.jar);
    expectPage(missing, 403, 'This form has expired');
    const wrong = await postPage(
      t.app,
      '/oauth2/logout',
      { ...rest, csrf: `${(csrf as string).slice(0, -1)}${csrf?.endsWith('A') ? 'B' : 'A'}`, confirm: 'yes' },
      browser.jar,
    );
    expectPage(wrong, 403, 'This form has expired');

    // Another browser's token does not end this one's session.
    const other = await signIn('bob');
    const otherFields = confirmationForm(await getPage(t.app, '/oauth2/logout', other.jar));
    const crossed = await postPage(t.app, '/oauth2/logout', { csrf: otherFields.csrf, confirm: 'yes' }, browser.jar);
    expectPage(crossed, 403, 'This form has expired');
    expect(await sessionAlive(browser.jar)).toBe(true);
    expect(await sessionAlive(other.jar)).toBe(true);
  });

  it('a GET never confirms', async () => {
    const browser = await signIn();
    const fields = confirmationForm(await getPage(t.app, '/oauth2/logout', browser.jar));
    confirmationForm(await getPage(t.app, logoutUrl({ ...fields, confirm: 'yes' }), browser.jar));
    expect(await sessionAlive(browser.jar)).toBe(true);
  });
});

describe('where the browser goes afterwards', () => {
  it.each([
    ['an unregistered URI', () => ({ client_id: clientId, post_logout_redirect_uri: 'https://evil.example/' })],
    ['a near match (trailing slash)', () => ({ client_id: clientId, post_logout_redirect_uri: `${BACK}/` })],
    ['a near match (letter case)', () => ({ client_id: clientId, post_logout_redirect_uri: BACK.toUpperCase() })],
    ['a near match (added query)', () => ({ client_id: clientId, post_logout_redirect_uri: `${BACK}?x=1` })],
    ["another client's URI", () => ({ client_id: clientId, post_logout_redirect_uri: OTHER_BACK })],
  ])('%s is never followed', async (_name, query) => {
    const res = await getPage(t.app, logoutUrl({ ...query(), state: 'st' }), new CookieJar());
    expectPage(res, 200, 'You are signed out');
    expect(res.body).toContain('has not registered');
    expect(res.body).not.toContain(query().post_logout_redirect_uri);
  });

  it('a URI without a client to check it against is not followed', async () => {
    const res = await getPage(t.app, logoutUrl({ post_logout_redirect_uri: BACK }), new CookieJar());
    expectPage(res, 200, 'You are signed out');
    expect(res.body).toContain('did not say which app');
  });

  it('with no one signed in and a registered URI it goes back at once', async () => {
    const res = await getPage(
      t.app,
      logoutUrl({ client_id: otherClientId, post_logout_redirect_uri: OTHER_BACK, state: 'q' }),
      new CookieJar(),
    );
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${OTHER_BACK}?state=q`);
  });

  it('an unknown or removed client_id is a 400 page', async () => {
    const unknown = await getPage(
      t.app,
      logoutUrl({ client_id: 'nope', post_logout_redirect_uri: BACK }),
      new CookieJar(),
    );
    expectPage(unknown, 400, 'not a registered client');
    await t.store.removeClient(otherClientId);
    const removed = await getPage(
      t.app,
      logoutUrl({ client_id: otherClientId, post_logout_redirect_uri: OTHER_BACK }),
      new CookieJar(),
    );
    expectPage(removed, 400, 'not a registered client');
  });

  it('a POST from the app without the session cookie (SameSite=Lax) moves to a GET with the same parameters', async () => {
    const hint = await idToken();
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth2/logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ id_token_hint: hint, post_logout_redirect_uri: BACK, state: 'a b', ui_locales: 'en' }),
    });
    expect(res.statusCode).toBe(303);
    const location = String(res.headers.location);
    expect(location.startsWith('/oauth2/logout?')).toBe(true);
    expect(Object.fromEntries(new URLSearchParams(location.split('?')[1]))).toEqual({
      id_token_hint: hint,
      post_logout_redirect_uri: BACK,
      state: 'a b',
    });
    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE);
    const followed = await getPage(t.app, location, browser.jar);
    expect(followed.statusCode).toBe(303);
    expect(followed.headers.location).toBe(`${BACK}?state=a%20b`);
    expect(await sessionAlive(browser.jar, cookie)).toBe(false);
  });
});

describe('bad input is a 400 page, never a 500', () => {
  const long = 'x'.repeat(5000);
  it.each([
    ['a NUL byte in state', 'state=a%00b'],
    ['a NUL byte in id_token_hint', 'id_token_hint=%00'],
    ['bytes that are not UTF-8', 'post_logout_redirect_uri=%FF%FE'],
    ['a repeated client_id', 'client_id=a&client_id=b'],
    ['a repeated state', 'state=a&state=b'],
    ['a repeated logout_hint', 'logout_hint=a&logout_hint=b'],
    ['an over-long state', `state=${long}`],
    ['an over-long id_token_hint', `id_token_hint=${long}`],
  ])('%s (GET and POST)', async (_name, query) => {
    const browser = await signIn();
    const get = await getPage(t.app, `/oauth2/logout?${query}`, browser.jar);
    expectPage(get, 400, 'This request cannot be completed');
    const post = await t.app.inject({
      method: 'POST',
      url: '/oauth2/logout',
      headers: { cookie: browser.jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: query,
    });
    expectPage(post, 400, 'This request cannot be completed');
    expect(await sessionAlive(browser.jar)).toBe(true);
  });

  it('a POST body that is not a form', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth2/logout',
      headers: { 'content-type': 'application/json' },
      payload: '{"client_id":"x"}',
    });
    expectPage(res, 400, 'application/x-www-form-urlencoded');
  });

  it('ui_locales and logout_hint are accepted and ignored', async () => {
    const browser = await signIn();
    const res = await getPage(
      t.app,
      logoutUrl({ id_token_hint: await idToken(), ui_locales: 'de fr', logout_hint: 'alice' }),
      browser.jar,
    );
    expectPage(res, 200, 'You are signed out');
  });
});

describe('a visitor who is not signed in', () => {
  it('sees "You are signed out" at once, and a stale cookie is cleared', async () => {
    const fresh = await getPage(t.app, '/oauth2/logout', new CookieJar());
    expectPage(fresh, 200, 'You are signed out');

    const browser = await signIn();
    const cookie = browser.jar.get(SESSION_COOKIE) as string;
    await t.store.deleteSignInSession(hashSecret(cookie));
    const stale = await t.app.inject({ url: '/oauth2/logout', headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    expectPage(stale, 200, 'You are signed out');
    expect(clearsSessionCookie(stale)).toBe(true);
  });
});
