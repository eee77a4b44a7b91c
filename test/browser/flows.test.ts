/**
 * Headless Chromium drives the real pages of the real server (`tessera serve`, started
 * as a child process) the way a person does: fields and buttons found by their labels,
 * cookies, redirects and CSP enforced by the browser. Clients and people are seeded
 * through the real CLI. The client's redirect URI is a small HTTP server on another
 * loopback port, so the browser really lands on the client at the end of each flow.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../helpers/callback-server.js';
import { launchChromium } from '../helpers/chromium.js';
import {
  addClientWithCli,
  addUserWithCli,
  basicAuth,
  runCli,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const PASSWORD = 'correct horse battery staple';
const CLIENT_NAME = "Ana's Health & Care";
/** A state full of characters that need encoding: it must come back exactly as sent. */
const TRICKY_STATE = 'x y+z/&=é%20"<>#?;';

// ---------------------------------------------------------------------------------------
// The client's redirect URI: a tiny server that records every request and answers "ok".
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// The file's fixtures: one server, one callback server, one browser; a context per test.
// ---------------------------------------------------------------------------------------

let tessera: ServerProcess;
let callback: CallbackServer;
let browser: Browser;
/** The confidential code-flow client, the implicit-grant client. */
let app: CliClient;
let implicitApp: CliClient;
let longNameApp: CliClient;
/** A client enabled for two API scopes besides the PATIENT role. */
let recordsApp: CliClient;
const READ_RECORDS = 'See your test results & letters from your care team';
const WRITE_RECORDS = 'Add readings to your health record, such as blood pressure measured at home';
/** A client name with one long unbroken word: it must wrap, not widen the page on a phone. */
const LONG_NAME = 'Supercalifragilisticexpialidocious-Health-Records-Application-For-Everyone';
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const launching = launchChromium();
  callback = await startCallbackServer();
  tessera = await startServer();
  app = addClientWithCli(tessera.db, ['--name', CLIENT_NAME, '--redirect-uri', callback.redirectUri]);
  longNameApp = addClientWithCli(tessera.db, ['--name', LONG_NAME, '--redirect-uri', callback.redirectUri]);
  implicitApp = addClientWithCli(tessera.db, [
    '--name',
    'Legacy Browser App',
    '--redirect-uri',
    callback.redirectUri,
    '--grant',
    'implicit',
  ]);
  for (const [name, description] of [
    ['records.read', READ_RECORDS],
    ['records.write', WRITE_RECORDS],
  ] as const) {
    const added = runCli(['scope', 'add', name, '--description', description], { db: tessera.db });
    expect(added.status, added.stderr).toBe(0);
  }
  recordsApp = addClientWithCli(tessera.db, [
    '--name',
    'Records App',
    '--redirect-uri',
    callback.redirectUri,
    ...['PATIENT', 'records.read', 'records.write'].flatMap((s) => ['--scope', s]),
  ]);
  addUserWithCli(tessera.db, { username: 'alice', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });
  addUserWithCli(tessera.db, {
    username: 'bob',
    password: PASSWORD,
    roles: ['PATIENT', 'CLINICIAN'],
    name: 'Dr Bob Okafor',
  });
  addUserWithCli(tessera.db, { username: 'carol', password: PASSWORD, roles: ['CLINICIAN'], name: 'Carol Jones' });
  browser = await launching;
}, 60_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await tessera?.stop();
  await callback?.close();
});

async function newPage(options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  contexts.push(context);
  return context.newPage();
}

// ---------------------------------------------------------------------------------------
// Steps a person takes
// ---------------------------------------------------------------------------------------

function authorizeUrl(params: Record<string, string>): string {
  return `${tessera.baseUrl}/apiAuthorize.action?${new URLSearchParams(params).toString()}`;
}

function isLoginPage(url: URL): boolean {
  return url.origin === tessera.baseUrl && url.pathname === '/login';
}

function isConsentPage(url: URL): boolean {
  return url.origin === tessera.baseUrl && url.pathname === '/consent';
}

function isCallback(url: URL): boolean {
  return url.origin === callback.origin && url.pathname === '/cb';
}

/** Opens the authorization request and waits for the sign-in page. */
async function openAuthorize(page: Page, params: Record<string, string>): Promise<void> {
  const response = await page.goto(authorizeUrl(params));
  expect(response?.status()).toBe(200);
  expect(isLoginPage(new URL(page.url()))).toBe(true);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** Fills Username and Password by their labels and presses Sign in; waits for the next page to load. */
async function signIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  const before = page.url();
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([
    // The POST answers 303 → GET /consent or /login?…&error=…: wait for that page, not the POST.
    page.waitForURL((url) => url.href !== before && (isConsentPage(url) || isLoginPage(url))),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
}

/** Presses Allow or Deny on the consent page and waits until the browser is on the client. */
async function decide(page: Page, button: 'Allow' | 'Deny'): Promise<URL> {
  await Promise.all([page.waitForURL(isCallback), page.getByRole('button', { name: button, exact: true }).click()]);
  return new URL(page.url());
}

async function exchangeCode(code: string, client: CliClient = app): Promise<Response> {
  return fetch(`${tessera.baseUrl}/apiToken.action`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(client.client_id, client.client_secret as string),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.redirectUri,
    }).toString(),
  });
}

async function me(accessToken: string): Promise<Response> {
  return fetch(`${tessera.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
}

/** The requests the callback server received for this state value. */
function callbackHitsFor(state: string): URL[] {
  return callback.hits.filter((u) => u.pathname === '/cb' && u.searchParams.get('state') === state);
}

// ---------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------

describe('sign-in and consent in a real browser', () => {
  it('code flow: sign in, consent, land on the client with code and state; the code buys a working token', async () => {
    const page = await newPage();
    await openAuthorize(page, {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: callback.redirectUri,
      scope: 'PATIENT',
      state: TRICKY_STATE,
    });
    await expect(page.getByText(CLIENT_NAME, { exact: true }).first().isVisible()).resolves.toBe(true);

    await signIn(page, 'alice');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    // The consent page names the client and the role in words.
    await page.getByRole('heading', { name: `Allow ${CLIENT_NAME} to access your account?` }).waitFor();
    const statement = await page.locator('.role-statement').innerText();
    expect(statement).toContain(CLIENT_NAME);
    expect(statement).toContain('as a Patient');
    expect(await page.getByText('Alice Patel').count()).toBeGreaterThan(0);

    const landed = await decide(page, 'Allow');
    expect(landed.searchParams.get('state')).toBe(TRICKY_STATE);
    const code = landed.searchParams.get('code');
    expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(landed.searchParams.has('error')).toBe(false);
    // The client's server really received it.
    expect(callbackHitsFor(TRICKY_STATE).map((u) => u.searchParams.get('code'))).toContain(code);
    expect(await page.locator('body').innerText()).toBe('ok');

    const token = await exchangeCode(code as string);
    expect(token.status).toBe(200);
    const body = (await token.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'PATIENT' });
    expect(typeof body.access_token).toBe('string');

    const who = await me(body.access_token as string);
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      scope: 'PATIENT',
      client_id: app.client_id,
    });
  });

  it('implicit flow: the token comes back in the fragment, never in the query, and without a refresh token', async () => {
    const page = await newPage();
    const state = `implicit ${TRICKY_STATE}`;
    const bareHitsBefore = callback.hits.filter((u) => u.pathname === '/cb' && u.search === '').length;
    await openAuthorize(page, {
      response_type: 'token',
      client_id: implicitApp.client_id,
      redirect_uri: callback.redirectUri,
      scope: 'patient',
      state,
    });
    await signIn(page, 'alice');
    const landed = await decide(page, 'Allow');

    const fragment = new URLSearchParams(landed.hash.slice(1));
    expect(fragment.get('access_token')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(fragment.get('token_type')).toBe('Bearer');
    expect(Number(fragment.get('expires_in'))).toBeGreaterThan(0);
    expect(fragment.get('scope')).toBe('PATIENT');
    expect(fragment.get('state')).toBe(state);
    expect(fragment.has('refresh_token')).toBe(false);
    expect(fragment.has('code')).toBe(false);
    for (const name of ['access_token', 'refresh_token', 'code', 'state'])
      expect(landed.searchParams.has(name)).toBe(false);
    // The client's server saw the redirect URI without anything secret in it.
    expect(callback.hits.filter((u) => u.pathname === '/cb' && u.search === '').length).toBe(bareHitsBefore + 1);

    const who = await me(fragment.get('access_token') as string);
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ username: 'alice', scope: 'PATIENT', client_id: implicitApp.client_id });
  });

  it('role choice: a person with two roles and no scope requested picks one with labelled radio buttons', async () => {
    const page = await newPage();
    const state = 'pick-a-role';
    await openAuthorize(page, { response_type: 'code', client_id: app.client_id, state });
    await signIn(page, 'bob');
    expect(isConsentPage(new URL(page.url()))).toBe(true);

    const patient = page.getByLabel('Patient', { exact: true });
    const clinician = page.getByLabel('Clinician', { exact: true });
    expect(await patient.getAttribute('type')).toBe('radio');
    expect(await clinician.getAttribute('type')).toBe('radio');
    expect(await page.getByLabel('Team coordinator', { exact: true }).count()).toBe(0);
    await clinician.check();
    expect(await clinician.isChecked()).toBe(true);
    expect(await patient.isChecked()).toBe(false);

    const landed = await decide(page, 'Allow');
    expect(landed.searchParams.get('state')).toBe(state);
    const token = await exchangeCode(landed.searchParams.get('code') as string);
    expect(token.status).toBe(200);
    const body = (await token.json()) as Record<string, unknown>;
    expect(body.scope).toBe('CLINICIAN');
    const who = await me(body.access_token as string);
    expect(await who.json()).toMatchObject({ username: 'bob', scope: 'CLINICIAN' });
  });

  it('Deny sends access_denied and the state to the client (and works without JavaScript)', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    const state = `deny ${TRICKY_STATE}`;
    await openAuthorize(page, { response_type: 'code', client_id: app.client_id, scope: 'PATIENT', state });
    await signIn(page, 'alice');
    const landed = await decide(page, 'Deny');
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.has('code')).toBe(false);
    expect(callbackHitsFor(state).map((u) => u.searchParams.get('error'))).toEqual(['access_denied']);
  });

  it('a wrong password shows an error on the sign-in page and the person can try again', async () => {
    const page = await newPage();
    await openAuthorize(page, { response_type: 'code', client_id: app.client_id, scope: 'PATIENT', state: 'retry' });
    await signIn(page, 'alice', 'not the password');
    expect(isLoginPage(new URL(page.url()))).toBe(true);
    const alert = page.getByRole('alert');
    expect(await alert.innerText()).toMatch(/username or password is not correct/i);
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');

    await signIn(page, 'alice');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    const landed = await decide(page, 'Allow');
    expect(landed.searchParams.get('state')).toBe('retry');
    expect(landed.searchParams.get('code')).toBeTruthy();
  });

  it('a person without the requested role is told so on the sign-in page and may sign in as someone else', async () => {
    const page = await newPage();
    await openAuthorize(page, { response_type: 'code', client_id: app.client_id, scope: 'PATIENT', state: 'role' });
    await signIn(page, 'carol');
    expect(isLoginPage(new URL(page.url()))).toBe(true);
    const message = await page.getByRole('alert').innerText();
    expect(message).toContain('Patient');
    expect(message).toMatch(/does not hold/i);

    await signIn(page, 'alice');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    const landed = await decide(page, 'Allow');
    expect(landed.searchParams.get('code')).toBeTruthy();
    const token = (await (await exchangeCode(landed.searchParams.get('code') as string)).json()) as Record<
      string,
      unknown
    >;
    expect(await (await me(token.access_token as string)).json()).toMatchObject({
      username: 'alice',
      scope: 'PATIENT',
    });
  });

  it('an unknown client or an unregistered redirect URI gets an error page (400), never a redirect', async () => {
    const page = await newPage();
    const before = callback.hits.length;

    const unknown = await page.goto(
      authorizeUrl({
        response_type: 'code',
        client_id: 'no-such-client',
        redirect_uri: callback.redirectUri,
        state: 'u',
      }),
    );
    expect(unknown?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(tessera.baseUrl);
    expect(await page.getByRole('alert').innerText()).not.toBe('');
    expect(await page.getByRole('button').count()).toBe(0);

    const otherUri = `http://127.0.0.1:${new URL(callback.origin).port}/elsewhere`;
    const unregistered = await page.goto(
      authorizeUrl({ response_type: 'code', client_id: app.client_id, redirect_uri: otherUri, state: 'v' }),
    );
    expect(unregistered?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(tessera.baseUrl);

    // Nothing reached the client, not even later (the page has no refresh and no script).
    await page.waitForTimeout(300);
    expect(callback.hits.length).toBe(before);
  });

  it('the pages fit a phone (390×844): Sign in, Allow and Deny are visible without horizontal scrolling', async () => {
    const page = await newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 3,
    });
    const fits = async () => page.evaluate(() => document.documentElement.scrollWidth);
    const onScreen = async (name: string) => {
      const button = page.getByRole('button', { name, exact: true });
      expect(await button.isVisible()).toBe(true);
      const box = await button.boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= 390).toBe(true);
      expect(box?.height ?? 0).toBeGreaterThanOrEqual(44); // a comfortable touch target
    };

    await openAuthorize(page, { response_type: 'code', client_id: longNameApp.client_id, state: 'phone' });
    expect(await fits()).toBeLessThanOrEqual(390);
    await onScreen('Sign in');

    await signIn(page, 'bob');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    expect(await fits()).toBeLessThanOrEqual(390);
    await onScreen('Allow');
    await onScreen('Deny');
    expect(await page.getByLabel('Clinician', { exact: true }).isVisible()).toBe(true);
  });

  it('the consent page lists the API scopes asked for in plain words, on a phone too, and the token carries them', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await openAuthorize(page, {
      response_type: 'code',
      client_id: recordsApp.client_id,
      scope: 'records.write patient records.read',
      state: 'api-scopes',
    });
    await signIn(page, 'alice');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    for (const description of [READ_RECORDS, WRITE_RECORDS]) {
      expect(await page.getByText(description, { exact: true }).isVisible()).toBe(true);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const landed = await decide(page, 'Allow');
    const res = await exchangeCode(landed.searchParams.get('code') as string, recordsApp);
    expect(res.status).toBe(200);
    // The role first, then the API scopes in the order of the request.
    expect(((await res.json()) as { scope: string }).scope).toBe('PATIENT records.write records.read');
  });

  it('the sign-in and consent pages log no console errors (no CSP violations) and get their stylesheet', async () => {
    const page = await newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // The pages declare an empty icon, so Chromium never asks for /favicon.ico (a 404).
      const at = message.location().url;
      errors.push(`${page.url()}: ${message.text()} (${at})`);
    });
    page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
    // Belt and braces: report every CSP violation event, whatever Chromium logs for it.
    // (Injected by the browser driver, so the pages' own no-script CSP does not apply to it.)
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
      );
    });

    await openAuthorize(page, { response_type: 'code', client_id: app.client_id, scope: 'PATIENT', state: 'csp' });
    // The stylesheet was allowed and applied (3rem buttons), so CSP did not block it.
    const signInButton = page.getByRole('button', { name: 'Sign in', exact: true });
    expect(await signInButton.evaluate((el) => getComputedStyle(el).minHeight)).toBe('48px');
    await signIn(page, 'alice');
    expect(isConsentPage(new URL(page.url()))).toBe(true);
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    expect(await allow.evaluate((el) => getComputedStyle(el).minHeight)).toBe('48px');
    // Give late reports (deferred violations) a moment to arrive.
    await page.waitForTimeout(500);
    expect(errors).toEqual([]);
  });
});
