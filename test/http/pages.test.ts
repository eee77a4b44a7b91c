/**
 * Sign-in and consent on the real app: the pages, what they say, where they
 * send the person (post/redirect/get), the role choice, CSRF, browser binding, replayed
 * forms, security headers and cookies.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  addUser,
  authorizeThroughPages,
  CookieJar,
  getPage,
  hiddenValue,
  ISSUER,
  openLogin,
  PASSWORD,
  postPage,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';

let t: TestApp;
let clientId: string;
let clientSecret: string;

async function setUp(options: Parameters<typeof testApp>[0] = {}): Promise<void> {
  t = await testApp(options);
  const { client, secret } = await addClient(t.store, { name: 'Health Diary', redirectUris: [CB] });
  clientId = client.id;
  clientSecret = secret as string;
  await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
  await addTestUser(t.store, 'carl', ['CLINICIAN'], 'Carl Clinician');
}

afterEach(async () => {
  await t.close();
});

async function redeem(code: string): Promise<LightMyRequestResponse> {
  return postToken(t.app, { grant_type: 'authorization_code', code, client_id: clientId, client_secret: clientSecret });
}

function codeOf(location: string): string {
  expect(location.startsWith(`${CB}?`)).toBe(true);
  const code = responseParams(location).get('code');
  expect(code).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  return code as string;
}

/** Text of the `role="alert"` message on a page, or undefined. */
function alertText(body: string): string | undefined {
  return /<div class="alert alert-error" role="alert"><p[^>]*>([^<]*)<\/p><\/div>/.exec(body)?.[1];
}

function expectRefusedPage(res: LightMyRequestResponse, status: number, title: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.body).toContain(title);
  expect(res.body).not.toContain(CB);
}

describe('the sign-in page', () => {
  beforeEach(async () => setUp());

  it('has fields labelled Username and Password and a button labelled Sign in, and names the client', async () => {
    const { login } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    expect(login.statusCode).toBe(200);
    expect(login.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(login.body).toContain('<label for="username">Username</label>');
    expect(login.body).toMatch(/<input type="text" name="username" id="username"/);
    expect(login.body).toContain('<label for="password">Password</label>');
    expect(login.body).toMatch(/<input type="password" name="password" id="password"/);
    expect(login.body).toMatch(/<button type="submit"[^>]*>Sign in<\/button>/);
    expect(login.body).toContain('<form method="post" action="/login"');
    expect(login.body).toContain('<strong class="client-name">Health Diary</strong>');
    expect(login.body.toLowerCase()).not.toContain('<script');
  });

  it('the authorization endpoint sends the browser to /login with a 302', async () => {
    const { start, request } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    expect(start.statusCode).toBe(302);
    expect(start.headers.location).toBe(`/login?request=${request}`);
  });

  it('a correct sign-in answers 303 to the consent page (post/redirect/get)', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const res = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/consent?request=${request}`);
    expect(res.body).toBe('');
  });

  it('a wrong password and an unknown username give the same 303 and the same message', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const wrongPassword = await postPage(
      t.app,
      '/login',
      { request, csrf, username: 'alice', password: 'not the password' },
      jar,
    );
    const afterWrongPassword = await getPage(t.app, String(wrongPassword.headers.location), jar);
    const unknownUser = await postPage(
      t.app,
      '/login',
      { request, csrf, username: 'mallory', password: PASSWORD },
      jar,
    );
    const afterUnknownUser = await getPage(t.app, String(unknownUser.headers.location), jar);
    expect(wrongPassword.statusCode).toBe(303);
    expect(unknownUser.statusCode).toBe(303);
    expect(wrongPassword.headers.location).toBe(`/login?request=${request}&error=credentials`);
    expect(unknownUser.headers.location).toBe(wrongPassword.headers.location);
    expect(wrongPassword.cookies.map((c) => c.name)).not.toContain('tessera_session');
    // What was typed comes back in a cookie of its own (HttpOnly, for /login only), never the password.
    const typed = wrongPassword.cookies.find((c) => c.name === 'tessera_username');
    expect(typed).toMatchObject({ path: '/login', httpOnly: true, sameSite: 'Lax' });
    expect(JSON.stringify(wrongPassword.cookies)).not.toContain('not the password');

    expect(alertText(afterWrongPassword.body)).toBe('The username or password is not correct.');
    // The page keeps what was typed, and is otherwise the same whether the username exists or not.
    expect(afterWrongPassword.body).toMatch(/<input type="text" name="username" id="username" value="alice"/);
    expect(afterUnknownUser.body).toMatch(/<input type="text" name="username" id="username" value="mallory"/);
    expect(afterUnknownUser.body.replace('value="mallory"', '')).toBe(
      afterWrongPassword.body.replace('value="alice"', ''),
    );

    // And a person can still sign in after the mistakes (here one with a production-cost hash).
    await addUser(t.store, 'dana', ['PATIENT'], 'Dana Real');
    const wrongForDana = await postPage(
      t.app,
      '/login',
      { request, csrf, username: 'dana', password: `${PASSWORD}!` },
      jar,
    );
    expect(wrongForDana.headers.location).toBe(wrongPassword.headers.location);
    const ok = await postPage(t.app, '/login', { request, csrf, username: 'dana', password: PASSWORD }, jar);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe(`/consent?request=${request}`);
  });

  it('a person without the requested role is told so and may sign in as someone else', async () => {
    const { jar, request, csrf } = await openLogin(t.app, {
      response_type: 'code',
      client_id: clientId,
      scope: 'CLINICIAN',
      state: 'role-check',
    });
    const asAlice = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(asAlice.statusCode).toBe(303);
    expect(asAlice.headers.location).toBe(`/login?request=${request}&error=role`);
    expect(asAlice.cookies.map((c) => c.name)).not.toContain('tessera_session');
    const page = await getPage(t.app, String(asAlice.headers.location), jar);
    expect(page.statusCode).toBe(200);
    expect(alertText(page.body)).toBe(
      'That account does not hold the Clinician role, so it cannot be used with Health Diary. You may sign in as someone else.',
    );
    expect(page.body).toContain('<label for="username">Username</label>');

    const asCarl = await postPage(
      t.app,
      '/login',
      { request, csrf: hiddenValue(page.body, 'csrf'), username: 'carl', password: PASSWORD },
      jar,
    );
    expect(asCarl.statusCode).toBe(303);
    expect(asCarl.headers.location).toBe(`/consent?request=${request}`);
    const consent = await getPage(t.app, String(asCarl.headers.location), jar);
    expect(consent.body).toContain('Carl Clinician');
    const done = await postPage(
      t.app,
      '/consent',
      { request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' },
      jar,
    );
    expect(done.statusCode).toBe(303);
    expect(responseParams(String(done.headers.location)).get('state')).toBe('role-check');
    const token = await redeem(codeOf(String(done.headers.location)));
    expect(token.statusCode).toBe(200);
    expect(token.json().scope).toBe('CLINICIAN');
  });

  it('with no scope, a person holding none of the client’s roles is told which roles it accepts', async () => {
    const { client } = await addClient(t.store, {
      name: 'Ward Board',
      redirectUris: [CB],
      scopes: ['CLINICIAN', 'TEAMCOORD'],
    });
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: client.id });
    const res = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(res.headers.location).toBe(`/login?request=${request}&error=role`);
    const page = await getPage(t.app, String(res.headers.location), jar);
    expect(alertText(page.body)).toBe(
      'That account does not hold one of the roles Ward Board accepts (Clinician, Team coordinator), so it cannot be used with Ward Board. You may sign in as someone else.',
    );
  });

  it('accepts no next or return_to URL: where the person goes comes only from the pending request', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId, state: 's1' });
    const evil = 'https://evil.example/steal';
    const page = await getPage(
      t.app,
      `/login?request=${request}&next=${encodeURIComponent(evil)}&return_to=${encodeURIComponent(evil)}`,
      jar,
    );
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('evil.example');
    const signedIn = await postPage(
      t.app,
      '/login',
      { request, csrf, username: 'alice', password: PASSWORD, next: evil, return_to: evil, redirect_uri: evil },
      jar,
    );
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe(`/consent?request=${request}`);
    const consent = await getPage(t.app, `/consent?request=${request}&next=${encodeURIComponent(evil)}`, jar);
    expect(consent.body).not.toContain('evil.example');
    const done = await postPage(
      t.app,
      '/consent',
      { request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow', next: evil, redirect_uri: evil },
      jar,
    );
    expect(done.statusCode).toBe(303);
    expect(String(done.headers.location).startsWith(`${CB}?`)).toBe(true);
    expect(responseParams(String(done.headers.location)).get('state')).toBe('s1');
  });

  it('an unknown or expired pending request shows a page, not a redirect', async () => {
    const unknown = await getPage(t.app, '/login?request=nope', new CookieJar());
    expectRefusedPage(unknown, 400, 'Your sign-in took too long');
    const { jar, request } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    t.advance(16 * 60 * 1000);
    expectRefusedPage(await getPage(t.app, `/login?request=${request}`, jar), 400, 'Your sign-in took too long');
  });
});

describe('the consent page and the role', () => {
  beforeEach(async () => {
    await setUp();
    await addTestUser(t.store, 'robin', ['PATIENT', 'CLINICIAN', 'TEAMCOORD'], 'Robin Many');
  });

  async function toConsent(query: Record<string, string>, username: string) {
    const flow = await openLogin(t.app, { response_type: 'code', ...query });
    const signedIn = await postPage(
      t.app,
      '/login',
      { request: flow.request, csrf: flow.csrf, username, password: PASSWORD },
      flow.jar,
    );
    expect(signedIn.statusCode).toBe(303);
    const consent = await getPage(t.app, String(signedIn.headers.location), flow.jar);
    expect(consent.statusCode).toBe(200);
    return { ...flow, consent, csrf: hiddenValue(consent.body, 'csrf') };
  }

  it('names the client and the role in plain words, with Allow and Deny buttons', async () => {
    const { consent } = await toConsent({ client_id: clientId }, 'alice');
    expect(consent.body).toContain('<h1 id="heading">Allow Health Diary to access your account?</h1>');
    expect(consent.body).toContain('will be able to act for you as a Patient.');
    expect(consent.body).toContain('Signed in as <strong>Alice Patel</strong> (alice)');
    expect(consent.body).toMatch(/<button type="submit" name="decision" value="allow"[^>]*>Allow<\/button>/);
    expect(consent.body).toMatch(/<button type="submit" name="decision" value="deny"[^>]*>Deny<\/button>/);
    expect(consent.body).toContain('<form method="post" action="/consent"');
  });

  it('offers radio buttons Patient, Clinician, Team coordinator when several roles are eligible and none was asked for', async () => {
    const { consent } = await toConsent({ client_id: clientId }, 'robin');
    expect(consent.body.match(/type="radio"/g)).toHaveLength(3);
    expect(consent.body).toContain('<input type="radio" name="scope" id="scope-PATIENT" value="PATIENT"');
    expect(consent.body).toContain('<label for="scope-PATIENT">Patient</label>');
    expect(consent.body).toContain('<input type="radio" name="scope" id="scope-CLINICIAN" value="CLINICIAN"');
    expect(consent.body).toContain('<label for="scope-CLINICIAN">Clinician</label>');
    expect(consent.body).toContain('<input type="radio" name="scope" id="scope-TEAMCOORD" value="TEAMCOORD"');
    expect(consent.body).toContain('<label for="scope-TEAMCOORD">Team coordinator</label>');
  });

  it.each(['PATIENT', 'CLINICIAN', 'TEAMCOORD'])('the chosen role %s becomes the token scope', async (role) => {
    const { jar, request, csrf } = await toConsent({ client_id: clientId }, 'robin');
    const done = await postPage(t.app, '/consent', { request, csrf, decision: 'allow', scope: role }, jar);
    expect(done.statusCode).toBe(303);
    const token = await redeem(codeOf(String(done.headers.location)));
    expect(token.statusCode).toBe(200);
    expect(token.json().scope).toBe(role);
    const me = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token.json().access_token}` },
    });
    expect(me.json()).toMatchObject({ username: 'robin', scope: role });
  });

  it('offers only the roles the client is enabled for', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], scopes: ['PATIENT', 'TEAMCOORD'] });
    const { consent } = await toConsent({ client_id: client.id }, 'robin');
    expect(consent.body.match(/type="radio"/g)).toHaveLength(2);
    expect(consent.body).toContain('value="PATIENT"');
    expect(consent.body).toContain('value="TEAMCOORD"');
    expect(consent.body).not.toContain('value="CLINICIAN"');
  });

  it('refuses a role that was not offered, and Allow without a choice', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB], scopes: ['PATIENT', 'TEAMCOORD'] });
    const { jar, request, csrf } = await toConsent({ client_id: client.id }, 'robin');
    const notOffered = await postPage(t.app, '/consent', { request, csrf, decision: 'allow', scope: 'CLINICIAN' }, jar);
    expectRefusedPage(notOffered, 400, 'Choose a role');
    const noChoice = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expectRefusedPage(noChoice, 400, 'Choose a role');
    // Still pending: a proper choice (in any letter case) completes it.
    const ok = await postPage(t.app, '/consent', { request, csrf, decision: 'allow', scope: 'teamcoord' }, jar);
    expect(ok.statusCode).toBe(303);
    const token = await postToken(t.app, {
      grant_type: 'authorization_code',
      code: codeOf(String(ok.headers.location)),
      client_id: client.id,
      client_secret: secret,
    });
    expect(token.statusCode).toBe(200);
    expect(token.json().scope).toBe('TEAMCOORD');
  });

  it('uses a single eligible role without offering a choice', async () => {
    const { consent, jar, request, csrf } = await toConsent({ client_id: clientId }, 'alice');
    expect(consent.body).not.toContain('type="radio"');
    expect(consent.body).toContain('<input type="hidden" name="scope" value="PATIENT">');
    // No scope in the form at all (as the harness posts it): the only role is used.
    const done = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    const token = await redeem(codeOf(String(done.headers.location)));
    expect(token.json().scope).toBe('PATIENT');
  });

  it('a requested role leaves no choice even for a person with several', async () => {
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: clientId, scope: 'clinician' },
      username: 'robin',
    });
    const consent = flow.steps.find((s) => s.body.includes('Allow Health Diary'));
    expect(consent?.body).not.toContain('type="radio"');
    expect(consent?.body).toContain('act for you as a Clinician.');
    const token = await redeem(codeOf(flow.location));
    expect(token.json().scope).toBe('CLINICIAN');
  });

  it('a person with two roles of which the client accepts one gets that one without a choice', async () => {
    await addTestUser(t.store, 'pat', ['PATIENT', 'CLINICIAN'], 'Pat Two');
    const { client, secret } = await addClient(t.store, { redirectUris: [CB], scopes: ['CLINICIAN'] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id },
      username: 'pat',
    });
    expect(flow.steps.some((s) => s.body.includes('type="radio"'))).toBe(false);
    const token = await postToken(t.app, {
      grant_type: 'authorization_code',
      code: codeOf(flow.location),
      client_id: client.id,
      client_secret: secret,
    });
    expect(token.json().scope).toBe('CLINICIAN');
  });

  it('Deny sends access_denied with the state and no code', async () => {
    const state = 'st=1&x y';
    const { jar, request, csrf } = await toConsent({ client_id: clientId, state }, 'alice');
    const denied = await postPage(t.app, '/consent', { request, csrf, decision: 'deny' }, jar);
    expect(denied.statusCode).toBe(303);
    const location = String(denied.headers.location);
    expect(location.startsWith(`${CB}?`)).toBe(true);
    const params = responseParams(location);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe(state);
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('code')).toBeNull();
  });

  it('"Sign in as someone else" ends the session and returns to the sign-in page', async () => {
    const { jar, request, csrf } = await toConsent({ client_id: clientId }, 'alice');
    const switched = await postPage(t.app, '/login/switch', { request, csrf }, jar);
    expect(switched.statusCode).toBe(303);
    expect(switched.headers.location).toBe(`/login?request=${request}`);
    // The old session is gone: consent now sends the person to sign in.
    const consent = await getPage(t.app, `/consent?request=${request}`, jar);
    expect(consent.statusCode).toBe(303);
    expect(consent.headers.location).toBe(`/login?request=${request}`);
    const asCarl = await postPage(t.app, '/login', { request, csrf, username: 'carl', password: PASSWORD }, jar);
    expect(asCarl.headers.location).toBe(`/consent?request=${request}`);
    const page = await getPage(t.app, `/consent?request=${request}`, jar);
    expect(page.body).toContain('Carl Clinician');
  });

  it('the consent page before signing in sends the person to sign in', async () => {
    const { jar, request } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const consent = await getPage(t.app, `/consent?request=${request}`, jar);
    expect(consent.statusCode).toBe(303);
    expect(consent.headers.location).toBe(`/login?request=${request}`);
  });
});

describe('CSRF, browser binding and replayed forms', () => {
  beforeEach(async () => setUp());

  it.each([
    ['missing', undefined],
    ['wrong', 'A'.repeat(43)],
    ['empty', ''],
  ])('POST /login with a %s csrf is refused (403, no redirect)', async (_what, csrf) => {
    const { jar, request } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const res = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expectRefusedPage(res, 403, 'This form has expired');
    expect(res.cookies.map((c) => c.name)).not.toContain('tessera_session');
  });

  it.each([
    ['missing', undefined],
    ['wrong', 'A'.repeat(43)],
  ])('POST /consent with a %s csrf is refused (403, no redirect to the client)', async (_what, csrf) => {
    const { jar, request, csrf: good } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    await postPage(t.app, '/login', { request, csrf: good, username: 'alice', password: PASSWORD }, jar);
    const res = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expectRefusedPage(res, 403, 'This form has expired');
    // The refused post completed nothing: the right token still can.
    const ok = await postPage(t.app, '/consent', { request, csrf: good, decision: 'allow' }, jar);
    expect(ok.statusCode).toBe(303);
    expect((await redeem(codeOf(String(ok.headers.location)))).statusCode).toBe(200);
  });

  it('the CSRF token of one pending request does not work for another', async () => {
    const first = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const second = await openLogin(t.app, { response_type: 'code', client_id: clientId }, first.jar);
    expect(second.request).not.toBe(first.request);
    const res = await postPage(
      t.app,
      '/login',
      { request: second.request, csrf: first.csrf, username: 'alice', password: PASSWORD },
      first.jar,
    );
    expectRefusedPage(res, 403, 'This form has expired');
  });

  it('a pending request used from another browser is refused at every step', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const other = new CookieJar();
    // The other browser gets its own binding cookie from an authorization request of its own.
    await openLogin(t.app, { response_type: 'code', client_id: clientId }, other);

    const title = 'Tessera could not recognise your browser';
    expectRefusedPage(await getPage(t.app, `/login?request=${request}`, other), 400, title);
    expectRefusedPage(await getPage(t.app, `/login?request=${request}`, new CookieJar()), 400, title);
    expectRefusedPage(
      await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, other),
      400,
      title,
    );

    // Signed in in the right browser, the consent still cannot be given from the other one.
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(signedIn.statusCode).toBe(303);
    expectRefusedPage(await getPage(t.app, `/consent?request=${request}`, other), 400, title);
    expectRefusedPage(await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, other), 400, title);

    // Even with the session cookie copied over, the browser binding is missing.
    const session = signedIn.cookies.find((c) => c.name === 'tessera_session');
    expect(session?.value).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    const res = await t.app.inject({
      method: 'POST',
      url: '/consent',
      headers: { cookie: `tessera_session=${session?.value}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `request=${request}&csrf=${csrf}&decision=allow`,
    });
    expectRefusedPage(res, 400, title);

    // The right browser can still finish.
    const done = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expect(done.statusCode).toBe(303);
    codeOf(String(done.headers.location));
  });

  it('the consent form posted twice completes only once', async () => {
    const { jar, request, csrf } = await openLogin(t.app, {
      response_type: 'code',
      client_id: clientId,
      state: 'once',
    });
    await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    const first = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    const second = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expect(first.statusCode).toBe(303);
    expect(responseParams(String(first.headers.location)).get('state')).toBe('once');
    // The second says the sign-in is finished, and how (the first left its mark in the browser).
    expectRefusedPage(second, 400, 'This sign-in is already finished');
    expect(second.body).toContain('You already chose Allow');
    // A Deny after the Allow changes nothing either.
    expectRefusedPage(
      await postPage(t.app, '/consent', { request, csrf, decision: 'deny' }, jar),
      400,
      'This sign-in is already finished',
    );
    expect((await redeem(codeOf(String(first.headers.location)))).statusCode).toBe(200);
  });

  it('two consent posts at the same moment complete only once', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar)),
    );
    const completed = results.filter((r) => String(r.headers.location ?? '').startsWith(CB));
    expect(completed).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 400)).toHaveLength(4);
  });
});

describe('security headers and cookies', () => {
  function expectPageHeaders(res: LightMyRequestResponse): void {
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  }

  function setCookie(res: LightMyRequestResponse, name: string): string {
    const all = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const found = all.find((c) => c.startsWith(`${name}=`));
    expect(found, `no Set-Cookie for ${name}`).toBeDefined();
    return found as string;
  }

  it('pages carry CSP frame-ancestors none, X-Frame-Options DENY and no-store', async () => {
    await setUp();
    const { jar, login, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    expectPageHeaders(login);
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(signedIn.headers['cache-control']).toBe('no-store');
    const consent = await getPage(t.app, `/consent?request=${request}`, jar);
    expect(consent.statusCode).toBe(200);
    expectPageHeaders(consent);
    // Error pages too.
    const error = await t.app.inject({ url: '/apiAuthorize.action?response_type=code&client_id=nobody' });
    expect(error.statusCode).toBe(400);
    expectPageHeaders(error);
    const refused = await postPage(
      t.app,
      '/login',
      { request, csrf: 'bad', username: 'alice', password: PASSWORD },
      jar,
    );
    expect(refused.statusCode).toBe(403);
    expectPageHeaders(refused);
  });

  it('cookies are HttpOnly and SameSite=Lax, and not Secure on an http issuer', async () => {
    await setUp();
    const { jar, start, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const browser = setCookie(start, 'tessera_browser');
    expect(browser).toMatch(/; HttpOnly/);
    expect(browser).toMatch(/; SameSite=Lax/);
    expect(browser).toMatch(/; Path=\//);
    expect(browser).not.toMatch(/; Secure/);
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    const session = setCookie(signedIn, 'tessera_session');
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).not.toMatch(/; Secure/);
  });

  it('cookies are Secure when the issuer is https', async () => {
    await setUp({ issuer: 'https://login.example' });
    const { jar, start, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const browser = setCookie(start, 'tessera_browser');
    expect(browser).toMatch(/; Secure/);
    expect(browser).toMatch(/; HttpOnly/);
    expect(browser).toMatch(/; SameSite=Lax/);
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    const session = setCookie(signedIn, 'tessera_session');
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    // The issuer is what goes back to the client.
    const done = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expect(responseParams(String(done.headers.location)).get('iss')).toBe('https://login.example');
  });

  it('a new sign-in replaces the session: no session fixation', async () => {
    await setUp();
    const first = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const a = await postPage(
      t.app,
      '/login',
      { request: first.request, csrf: first.csrf, username: 'alice', password: PASSWORD },
      first.jar,
    );
    const oldSession = a.cookies.find((c) => c.name === 'tessera_session')?.value;
    // With a live session the sign-in page is skipped; prompt=login asks for the password again.
    const oidc = await addClient(t.store, { name: 'Sign-in App', redirectUris: [CB], scopes: ['PATIENT', 'openid'] });
    const second = await openLogin(
      t.app,
      { response_type: 'code', client_id: oidc.client.id, scope: 'openid', prompt: 'login' },
      first.jar,
    );
    const b = await postPage(
      t.app,
      '/login',
      { request: second.request, csrf: second.csrf, username: 'alice', password: PASSWORD },
      first.jar,
    );
    const newSession = b.cookies.find((c) => c.name === 'tessera_session')?.value;
    expect(newSession).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(newSession).not.toBe(oldSession);
  });
});

describe('Cancel on the sign-in page', () => {
  beforeEach(async () => setUp());

  it('ends the request: 303 to the client with access_denied and the state, in the query for code', async () => {
    const { jar, request, csrf } = await openLogin(t.app, {
      response_type: 'code',
      client_id: clientId,
      state: 'a b&c',
    });
    const res = await postPage(t.app, '/login/cancel', { request, csrf, username: 'typed', password: 'typed' }, jar);
    expect(res.statusCode).toBe(303);
    const location = String(res.headers.location);
    expect(location.startsWith(`${CB}?`)).toBe(true);
    const params = responseParams(location);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('a b&c');
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('code')).toBeNull();
    expect(res.cookies.map((c) => c.name)).not.toContain('tessera_session');
    // The request is over: its pages now say so, and how it ended.
    for (const again of [
      await getPage(t.app, `/login?request=${request}`, jar),
      await postPage(t.app, '/login/cancel', { request, csrf }, jar),
      await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar),
    ]) {
      expectRefusedPage(again, 400, 'This sign-in is already finished');
      expect(again.body).toContain('You already cancelled this sign-in');
      expect(again.body).not.toMatch(/report|bug/i);
    }
  });

  it('for the implicit grant, in the fragment', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], grants: ['implicit'] });
    const { jar, request, csrf } = await openLogin(t.app, {
      response_type: 'token',
      client_id: client.id,
      state: 'imp',
    });
    const res = await postPage(t.app, '/login/cancel', { request, csrf }, jar);
    expect(res.statusCode).toBe(303);
    const location = String(res.headers.location);
    expect(location.startsWith(`${CB}#`)).toBe(true);
    const fragment = new URLSearchParams(location.slice(location.indexOf('#') + 1));
    expect(fragment.get('error')).toBe('access_denied');
    expect(fragment.get('state')).toBe('imp');
  });

  it.each([
    ['missing', undefined],
    ['wrong', 'A'.repeat(43)],
  ])('with a %s CSRF token is refused (403) and the request stays open', async (_what, badCsrf) => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    expectRefusedPage(
      await postPage(t.app, '/login/cancel', { request, csrf: badCsrf }, jar),
      403,
      'This form has expired',
    );
    const signedIn = await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    expect(signedIn.headers.location).toBe(`/consent?request=${request}`);
  });

  it('from another browser is refused', async () => {
    const { request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    const res = await postPage(t.app, '/login/cancel', { request, csrf }, new CookieJar());
    expectRefusedPage(res, 400, 'Tessera could not recognise your browser');
  });
});

describe('a page of a finished sign-in opened again (the Back button)', () => {
  beforeEach(async () => setUp());

  it.each([
    ['allow', 'You already chose Allow'],
    ['deny', 'You already chose Deny'],
  ] as const)('after %s: the consent and sign-in pages say it is finished, and how', async (decision, says) => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId });
    await postPage(t.app, '/login', { request, csrf, username: 'alice', password: PASSWORD }, jar);
    const done = await postPage(t.app, '/consent', { request, csrf, decision }, jar);
    expect(done.statusCode).toBe(303);
    const marker = done.cookies.find((c) => c.name === 'tessera_finished');
    expect(marker).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    // The marker names the request only by its hash.
    expect(marker?.value).not.toContain(request);
    for (const back of [`/consent?request=${request}`, `/login?request=${request}`]) {
      const page = await getPage(t.app, back, jar);
      expectRefusedPage(page, 400, 'This sign-in is already finished');
      expect(page.body).toContain(says);
      expect(page.body).toContain('Go back to the app to carry on');
      expect(page.body).not.toMatch(/report|bug|took too long/i);
    }
  });

  it('another request that expired still says it took too long', async () => {
    const jar = new CookieJar();
    const done = await authorizeThroughPages(t.app, { query: { response_type: 'code', client_id: clientId }, jar });
    expect(done.location).toMatch(/code=/);
    // This browser now holds the mark of that finished request.
    expect(jar.get('tessera_finished')).toMatch(/^allow\./);
    // Signed in, the next request goes straight to its consent page; left there too long, it expires.
    const next = await getPage(t.app, `/apiAuthorize.action?response_type=code&client_id=${clientId}`, jar);
    const consent = String(next.headers.location);
    expect(consent).toMatch(/^\/consent\?request=/);
    t.advance(16 * 60 * 1000);
    const page = await getPage(t.app, consent, jar);
    expectRefusedPage(page, 400, 'Your sign-in took too long');
    expect(page.body).toContain('within 15 minutes');
    expect(page.body).not.toContain('already finished');
  });
});

describe('Allow without choosing one of several roles', () => {
  beforeEach(async () => {
    await setUp();
    await addTestUser(t.store, 'robin', ['PATIENT', 'CLINICIAN', 'TEAMCOORD'], 'Robin Many');
  });

  it('shows the consent page again (400) with a message tied to the choice, nothing chosen; Deny needs no choice', async () => {
    const { jar, request, csrf } = await openLogin(t.app, { response_type: 'code', client_id: clientId, state: 's' });
    await postPage(t.app, '/login', { request, csrf, username: 'robin', password: PASSWORD }, jar);
    const consent = await getPage(t.app, `/consent?request=${request}`, jar);
    expect(consent.body).not.toContain('checked');
    expect(consent.body).not.toContain('role="alert"');
    const res = await postPage(t.app, '/consent', { request, csrf, decision: 'allow' }, jar);
    expectRefusedPage(res, 400, 'Choose a role');
    expect(res.body).toContain('<form method="post" action="/consent"');
    expect(res.body.match(/type="radio"/g)).toHaveLength(3);
    expect(res.body).not.toContain('checked');
    expect(res.body).toContain('<fieldset class="choices" aria-describedby="role-error">');
    const deny = await postPage(t.app, '/consent', { request, csrf, decision: 'deny' }, jar);
    expect(deny.statusCode).toBe(303);
    expect(responseParams(String(deny.headers.location)).get('error')).toBe('access_denied');
  });
});

describe('an address where there is nothing', () => {
  beforeEach(async () => setUp());

  it('is a 404 page of its own for a browser, and JSON for an API client', async () => {
    const page = await t.app.inject({ url: '/no/such/page', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<h1 id="heading">Page not found</h1>');
    expect(page.body).not.toMatch(/not_found|invalid_request/);
    const api = await t.app.inject({ url: '/no/such/page', headers: { accept: 'application/json' } });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: 'not_found' });
  });
});
