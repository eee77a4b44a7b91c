/**
 * Browser sessions at Tessera and the interaction policy on the real app, on both
 * engines: a signed-in browser skips the sign-in page; skip-consent; prompt, max_age,
 * login_hint and id_token_hint; the session's idle and absolute ends on the app's clock;
 * disabling, removing and a new password end sessions; `serve --session-idle/--session-max`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/config.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import { removePerson, setPassword, setPersonDisabled } from '../../src/services/people.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  addClient,
  addTestUser,
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
import {
  answerConsent,
  authorizeIn,
  foreignSignedIdToken,
  serverSignedIdToken,
  signedInBrowser,
} from '../helpers/sessions.js';

const CB = 'https://app.example/cb';
const MINUTE = 60_000;

let t: TestApp;
let running = false;
/** The app's clock (the harness moves it with `advance`). */
let offset = 0;
const now = () => Date.now() + offset;
function advance(ms: number): void {
  offset += ms;
  t.advance(ms);
}
let clientId: string;
let clientSecret: string;
/** The same app registered as first-party: --skip-consent. */
let firstPartyId: string;
let aliceId: string;
let bobId: string;

async function setUp(options: Parameters<typeof testApp>[0] = {}): Promise<void> {
  t = await testApp(options);
  running = true;
  offset = 0;
  const scopes = ['PATIENT', 'CLINICIAN', 'openid', 'profile'];
  const app = await addClient(t.store, { name: 'Health Diary', redirectUris: [CB], scopes });
  clientId = app.client.id;
  clientSecret = app.secret as string;
  firstPartyId = (await addClient(t.store, { name: 'Our Portal', redirectUris: [CB], scopes, skipConsent: true }))
    .client.id;
  aliceId = (await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel')).id;
  bobId = (await addTestUser(t.store, 'bob', ['PATIENT', 'CLINICIAN'], 'Dr Bob Okafor')).id;
}

afterEach(async () => {
  // Only the tests that made an app close one (the CLI's tests make none).
  if (!running) return;
  running = false;
  await t.close();
});

const oidc = (extra: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: clientId,
  scope: 'openid PATIENT',
  state: 's 1',
  ...extra,
});

/** Where a response sends the browser. */
function location(res: { headers: Record<string, unknown> }): string {
  return String(res.headers.location ?? '');
}

function expectLogin(res: { statusCode: number; headers: Record<string, unknown> }): void {
  expect(res.statusCode).toBe(302);
  expect(location(res)).toMatch(/^\/login\?request=[^&]+$/);
}

function expectConsent(res: { statusCode: number; headers: Record<string, unknown> }): void {
  expect(res.statusCode).toBe(302);
  expect(location(res)).toMatch(/^\/consent\?request=/);
}

/** The error redirect a client gets: error, state and iss on its redirect URI, no code. */
function expectClientError(res: { statusCode: number; headers: Record<string, unknown> }, error: string): void {
  expect(res.statusCode).toBe(302);
  expect(location(res).startsWith(`${CB}?`)).toBe(true);
  const params = responseParams(location(res));
  expect(params.get('error')).toBe(error);
  expect(params.get('state')).toBe('s 1');
  expect(params.get('iss')).toBe(ISSUER);
  expect(params.get('code')).toBeNull();
}

/** The code on a redirect to the client, with the state and iss. */
function codeIn(url: string): string {
  expect(url.startsWith(`${CB}?`)).toBe(true);
  const params = responseParams(url);
  expect(params.get('error')).toBeNull();
  expect(params.get('iss')).toBe(ISSUER);
  return params.get('code') as string;
}

async function grantOf(code: string) {
  const found = await t.store.findAuthorizationCode(hashSecret(code));
  if (!found) throw new Error('no such code');
  return found.grant;
}

async function sessionOf(jar: CookieJar) {
  const value = jar.get('tessera_session');
  return value === undefined ? undefined : t.store.getSignInSession(hashSecret(value), now());
}

describe('a signed-in browser', () => {
  it('is not asked for the password again: the second authorization goes straight to consent', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const session = await sessionOf(jar);
    const again = await authorizeIn(t.app, oidc(), jar);
    expectConsent(again);
    const page = await getPage(t.app, location(again), jar);
    expect(page.body).toContain('Signed in as <strong>Alice Patel</strong> (alice)');
    const done = await answerConsent(t.app, location(again), jar);
    expect(done.statusCode).toBe(303);
    const code = codeIn(location(done));
    const grant = await grantOf(code);
    expect(grant.personId).toBe(aliceId);
    // auth_time is when the person entered the password: the session's start.
    expect(grant.authTime).toBe(session?.createdAt);
    const token = await postToken(t.app, {
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(token.statusCode).toBe(200);
  });

  it('also skips the sign-in page for a plain OAuth request (no openid)', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const again = await authorizeIn(t.app, { response_type: 'code', client_id: clientId, scope: 'PATIENT' }, jar);
    expectConsent(again);
  });

  it('a client registered with --skip-consent gets the code at once, with state and iss', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const res = await authorizeIn(t.app, oidc({ client_id: firstPartyId }), jar);
    expect(res.statusCode).toBe(302);
    expect(responseParams(location(res)).get('state')).toBe('s 1');
    expect((await grantOf(codeIn(location(res)))).personId).toBe(aliceId);
  });

  it('--skip-consent: the first sign-in goes straight to the client too', async () => {
    await setUp();
    const flow = await authorizeThroughPages(t.app, { query: oidc({ client_id: firstPartyId }) });
    // authorize (302), sign-in page, sign-in post: 303 to the client, no consent page.
    expect(flow.steps).toHaveLength(3);
    expect(flow.status).toBe(303);
    codeIn(flow.location);
  });

  it('--skip-consent with two eligible roles and none asked: the page lets the person choose', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc(), username: 'bob' });
    const choose = await authorizeIn(t.app, { response_type: 'code', client_id: firstPartyId, state: 's 1' }, jar);
    expectConsent(choose);
    const page = await getPage(t.app, location(choose), jar);
    expect(page.body).toContain('type="radio" name="scope" id="scope-CLINICIAN"');
    const done = await answerConsent(t.app, location(choose), jar, 'allow', 'CLINICIAN');
    expect((await grantOf(codeIn(location(done)))).scope).toBe('CLINICIAN');
    // With the role asked for, there is nothing to choose.
    const asked = await authorizeIn(t.app, oidc({ client_id: firstPartyId, scope: 'openid CLINICIAN' }), jar);
    expect((await grantOf(codeIn(location(asked)))).scope).toBe('CLINICIAN openid');
  });

  it('a person without the requested role is sent to the sign-in page with that message', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const res = await authorizeIn(t.app, oidc({ scope: 'openid CLINICIAN' }), jar);
    expect(res.statusCode).toBe(302);
    expect(location(res)).toMatch(/^\/login\?request=.+&error=role$/);
    const page = await getPage(t.app, location(res), jar);
    expect(page.body).toContain('That account does not hold the Clinician role');
  });

  it('"Not you?" ends the session and shows the sign-in page for the same request', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const old = jar.get('tessera_session') as string;
    const res = await authorizeIn(t.app, oidc(), jar);
    const consent = await getPage(t.app, location(res), jar);
    expect(consent.body).toMatch(/Not you\? <button type="submit"[^>]*>Sign in as someone else<\/button>/);
    const request = hiddenValue(consent.body, 'request');
    const csrf = hiddenValue(consent.body, 'csrf');
    // Without the CSRF token nothing happens.
    expect((await postPage(t.app, '/login/switch', { request }, jar)).statusCode).toBe(403);
    expect(await t.store.getSignInSession(hashSecret(old), now())).toBeDefined();
    const switched = await postPage(t.app, '/login/switch', { request, csrf }, jar);
    expect(switched.statusCode).toBe(303);
    expect(location(switched)).toBe(`/login?request=${request}`);
    expect(await t.store.getSignInSession(hashSecret(old), now())).toBeUndefined();
    const asBob = await postPage(t.app, '/login', { request, csrf, username: 'bob', password: PASSWORD }, jar);
    expect(location(asBob)).toBe(`/consent?request=${request}`);
    const done = await answerConsent(t.app, location(asBob), jar);
    expect((await grantOf(codeIn(location(done)))).personId).toBe(bobId);
  });

  it('a consent page shown for one person cannot be allowed by another who signed in since', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const first = await authorizeIn(t.app, oidc(), jar);
    const page = await getPage(t.app, location(first), jar);
    const request = hiddenValue(page.body, 'request');
    const csrf = hiddenValue(page.body, 'csrf');
    // In another tab: "Not you?" and a sign-in as Bob.
    const other = await authorizeIn(t.app, oidc(), jar);
    const otherPage = await getPage(t.app, location(other), jar);
    const otherForm = { request: hiddenValue(otherPage.body, 'request'), csrf: hiddenValue(otherPage.body, 'csrf') };
    await postPage(t.app, '/login/switch', otherForm, jar);
    await postPage(t.app, '/login', { ...otherForm, username: 'bob', password: PASSWORD }, jar);
    // Alice's page is pressed: Bob sees the page for himself first.
    const allowed = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expect(allowed.statusCode).toBe(303);
    expect(location(allowed)).toBe(`/consent?request=${request}`);
    const again = await getPage(t.app, location(allowed), jar);
    expect(again.body).toContain('Dr Bob Okafor');
  });
});

describe('prompt', () => {
  it('prompt=none without a session: login_required, with state and iss', async () => {
    await setUp();
    expectClientError(await authorizeIn(t.app, oidc({ prompt: 'none' }), new CookieJar()), 'login_required');
  });

  it('prompt=none with a session: consent_required, or the code with --skip-consent', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    expectClientError(await authorizeIn(t.app, oidc({ prompt: 'none' }), jar), 'consent_required');
    const res = await authorizeIn(t.app, oidc({ prompt: 'none', client_id: firstPartyId }), jar);
    expect((await grantOf(codeIn(location(res)))).personId).toBe(aliceId);
  });

  it('prompt=none where a role must be chosen: interaction_required', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc(), username: 'bob' });
    const res = await authorizeIn(t.app, oidc({ prompt: 'none', client_id: firstPartyId, scope: 'openid' }), jar);
    expectClientError(res, 'interaction_required');
  });

  it('prompt=none with a session that has ended: login_required', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    advance(31 * MINUTE);
    expectClientError(
      await authorizeIn(t.app, oidc({ prompt: 'none', client_id: firstPartyId }), jar),
      'login_required',
    );
  });

  it('prompt counts only with openid: a plain OAuth request ignores it', async () => {
    await setUp();
    const res = await authorizeIn(
      t.app,
      { response_type: 'code', client_id: clientId, scope: 'PATIENT', prompt: 'none' },
      new CookieJar(),
    );
    expectLogin(res);
  });

  it('prompt=login asks for the password again; the new sign-in replaces the session and sets a new auth_time', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const old = jar.get('tessera_session') as string;
    const oldSession = await sessionOf(jar);
    advance(5000);
    const res = await authorizeIn(t.app, oidc({ prompt: 'login', client_id: firstPartyId }), jar);
    expectLogin(res);
    const login = await getPage(t.app, location(res), jar);
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
    // Signed in for this request: no loop back to the sign-in page.
    expect(signedIn.statusCode).toBe(303);
    const grant = await grantOf(codeIn(location(signedIn)));
    const renewed = jar.get('tessera_session') as string;
    expect(renewed).not.toBe(old);
    expect(await t.store.getSignInSession(hashSecret(old), now())).toBeUndefined();
    expect(grant.authTime).toBe((await sessionOf(jar))?.createdAt);
    expect(grant.authTime).toBeGreaterThanOrEqual((oldSession?.createdAt ?? 0) + 5000);
  });

  it('prompt=select_account asks for the password again too', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    expectLogin(await authorizeIn(t.app, oidc({ prompt: 'select_account' }), jar));
  });

  it('prompt=consent shows the consent page even with --skip-consent', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    expectConsent(await authorizeIn(t.app, oidc({ prompt: 'consent', client_id: firstPartyId }), jar));
  });
});

describe('max_age', () => {
  it('a sign-in older than max_age asks for the password again; a younger one does not', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    advance(2 * MINUTE);
    expectLogin(await authorizeIn(t.app, oidc({ max_age: '60' }), jar));
    expectConsent(await authorizeIn(t.app, oidc({ max_age: '10000' }), jar));
  });

  it('max_age=0 always asks; once signed in for the request, a slow consent page does not ask again', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const res = await authorizeIn(t.app, oidc({ max_age: '0' }), jar);
    expectLogin(res);
    const login = await getPage(t.app, location(res), jar);
    const request = hiddenValue(login.body, 'request');
    const csrf = hiddenValue(login.body, 'csrf');
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(location(signedIn)).toBe(`/consent?request=${request}`);
    advance(5 * MINUTE);
    const done = await answerConsent(t.app, location(signedIn), jar);
    expect(done.statusCode).toBe(303);
    codeIn(location(done));
  });

  it('a malformed max_age is invalid_request', async () => {
    await setUp();
    expectClientError(await authorizeIn(t.app, oidc({ max_age: '-1' }), new CookieJar()), 'invalid_request');
  });
});

describe('login_hint and id_token_hint', () => {
  it('login_hint fills in the username field, escaped', async () => {
    await setUp();
    const jar = new CookieJar();
    const res = await authorizeIn(t.app, oidc({ login_hint: 'alice"><b>' }), jar);
    const page = await getPage(t.app, location(res), jar);
    expect(page.body).toContain('id="username" value="alice&quot;&gt;&lt;b&gt;"');
  });

  it('id_token_hint naming the signed-in person: on as usual', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const hint = await serverSignedIdToken(t.store, { iss: ISSUER, sub: aliceId, aud: clientId });
    expectConsent(await authorizeIn(t.app, oidc({ id_token_hint: hint }), jar));
    const res = await authorizeIn(t.app, oidc({ id_token_hint: hint, prompt: 'none', client_id: firstPartyId }), jar);
    codeIn(location(res));
  });

  it.each([
    ['names someone else', async () => serverSignedIdToken(t.store, { iss: ISSUER, sub: bobId, aud: clientId })],
    ['is signed by a foreign key', async () => foreignSignedIdToken({ iss: ISSUER, sub: aliceId, aud: clientId })],
    [
      'is from another issuer',
      async () => serverSignedIdToken(t.store, { iss: 'https://other.example', sub: aliceId, aud: clientId }),
    ],
    ['is not a JWT', async () => 'not-a-token'],
  ])('id_token_hint that %s: login_required', async (_what, makeHint) => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    expectClientError(await authorizeIn(t.app, oidc({ id_token_hint: await makeHint() }), jar), 'login_required');
  });

  it('id_token_hint without a session: the sign-in page; signing in as someone else then is login_required', async () => {
    await setUp();
    const hint = await serverSignedIdToken(t.store, { iss: ISSUER, sub: aliceId, aud: clientId });
    const jar = new CookieJar();
    const res = await authorizeIn(t.app, oidc({ id_token_hint: hint }), jar);
    expectLogin(res);
    const login = await getPage(t.app, location(res), jar);
    const form = { request: hiddenValue(login.body, 'request'), csrf: hiddenValue(login.body, 'csrf') };
    const asBob = await postPage(t.app, '/login', { ...form, username: 'bob', password: PASSWORD }, jar);
    expect(asBob.statusCode).toBe(303);
    const params = responseParams(location(asBob));
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe('s 1');
  });
});

describe("the session's idle and absolute ends", () => {
  it('ends after the idle time unused; each authorization moves the idle end on', async () => {
    await setUp({ lifetimes: { sessionIdle: 30 * 60, sessionMax: 12 * 3600 } });
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const first = await sessionOf(jar);
    // 30 minutes after it was last used (the consent that ended the first flow).
    expect(first?.expiresAt).toBeGreaterThanOrEqual((first?.createdAt ?? 0) + 30 * MINUTE);
    expect(first?.expiresAt).toBeLessThanOrEqual(now() + 30 * MINUTE);
    // 25 minutes later it is used: its idle end moves to 30 minutes from then.
    advance(25 * MINUTE);
    expectConsent(await authorizeIn(t.app, oidc(), jar));
    const touched = await sessionOf(jar);
    expect(touched?.expiresAt).toBeGreaterThanOrEqual((first?.createdAt ?? 0) + 55 * MINUTE);
    // Another 25 minutes (50 after signing in, past the first idle end): still signed in.
    advance(25 * MINUTE);
    expectConsent(await authorizeIn(t.app, oidc(), jar));
    // 31 idle minutes: over.
    advance(31 * MINUTE);
    expectLogin(await authorizeIn(t.app, oidc(), jar));
  });

  it('ends at the absolute end however often it is used, and the cookie lives no longer', async () => {
    await setUp({ lifetimes: { sessionIdle: 30 * 60, sessionMax: 3600 } });
    const jar = new CookieJar();
    const flow = await authorizeThroughPages(t.app, { query: oidc(), jar });
    const cookie = flow.steps
      .flatMap((s) => s.cookies as Array<{ name: string; maxAge?: number }>)
      .find((c) => c.name === 'tessera_session');
    expect(cookie?.maxAge).toBe(3600);
    const start = (await sessionOf(jar))?.createdAt ?? 0;
    for (let i = 0; i < 2; i++) {
      advance(20 * MINUTE);
      expectConsent(await authorizeIn(t.app, oidc(), jar));
    }
    // Touched at 40 minutes: the idle end would be 70, but the absolute end is 60.
    expect((await sessionOf(jar))?.expiresAt).toBe(start + 60 * MINUTE);
    advance(19 * MINUTE);
    expectConsent(await authorizeIn(t.app, oidc(), jar));
    advance(2 * MINUTE);
    expectLogin(await authorizeIn(t.app, oidc(), jar));
  });
});

describe('what ends a session', () => {
  it.each([
    ['disabling the person', async () => setPersonDisabled(t.store, 'alice', true, now())],
    ['removing the person', async () => removePerson(t.store, 'alice')],
    ['a new password', async () => setPassword(t.store, 'alice', 'another long passphrase')],
  ])('%s ends their sessions at once', async (_what, act) => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    const value = jar.get('tessera_session') as string;
    await act();
    expect(await t.store.getSignInSession(hashSecret(value), now())).toBeUndefined();
    expectLogin(await authorizeIn(t.app, oidc(), jar));
    expectClientError(
      await authorizeIn(t.app, oidc({ prompt: 'none', client_id: firstPartyId }), jar),
      'login_required',
    );
  });

  it('re-enabling a disabled person does not bring the session back', async () => {
    await setUp();
    const { jar } = await signedInBrowser(t.app, { query: oidc() });
    await setPersonDisabled(t.store, 'alice', true, now());
    await setPersonDisabled(t.store, 'alice', false, now());
    expectLogin(await authorizeIn(t.app, oidc(), jar));
  });
});

describe('serve --session-idle and --session-max', () => {
  it('take seconds, from flags or the environment; the defaults are 30 minutes and 12 hours', () => {
    expect(resolveServerConfig({}).lifetimes).toMatchObject({ sessionIdle: 1800, sessionMax: 43200 });
    expect(resolveServerConfig({ sessionIdle: '600', sessionMax: '3600' }).lifetimes).toMatchObject({
      sessionIdle: 600,
      sessionMax: 3600,
    });
  });

  it.each([
    [['--session-idle', '5'], {}, /session idle/],
    [['--session-idle', 'soon'], {}, /session idle/],
    [['--session-max', '-1'], {}, /session max/],
    [['--session-max', '1e6'], {}, /session max/],
    [['--session-idle', '7200', '--session-max', '3600'], {}, /session idle .* must not be longer than session max/],
    [[], { TESSERA_SESSION_IDLE: '50000' }, /session idle .* must not be longer than session max/],
    [[], { TESSERA_SESSION_MAX: 'forever' }, /session max/],
  ])('refuses %j %j with one line and exit code 2', async (args, env, message) => {
    const result = await runCliInProcess(['serve', '--port', '0', ...args], { db: 'sqlite::memory:', env });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tessera: /);
    expect(lines[0]).toMatch(message);
  });
});
