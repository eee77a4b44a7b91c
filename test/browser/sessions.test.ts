/**
 * Browser sessions in headless Chromium against the real server (`tessera serve
 * --session-idle 600 --session-max 3600`): a browser that signed in once is not asked for
 * the password again; prompt=login and max_age ask again; prompt=none never shows a
 * page; --skip-consent; "Not you?". Clients and people are made with the real CLI.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../helpers/callback-server.js';
import { launchChromium } from '../helpers/chromium.js';
import {
  addClientWithCli,
  addUserWithCli,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const PASSWORD = 'correct horse battery staple';

let tessera: ServerProcess;
let callback: CallbackServer;
let browser: Browser;
let app: CliClient;
let firstParty: CliClient;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const launching = launchChromium();
  callback = await startCallbackServer();
  tessera = await startServer({ args: ['--session-idle', '600', '--session-max', '3600'] });
  const scopes = ['PATIENT', 'openid'].flatMap((s) => ['--scope', s]);
  app = addClientWithCli(tessera.db, ['--name', 'Health Diary', '--redirect-uri', callback.redirectUri, ...scopes]);
  firstParty = addClientWithCli(tessera.db, [
    '--name',
    'Our Portal',
    '--redirect-uri',
    callback.redirectUri,
    '--skip-consent',
    ...scopes,
  ]);
  addUserWithCli(tessera.db, { username: 'alice', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });
  addUserWithCli(tessera.db, { username: 'bob', password: PASSWORD, roles: ['PATIENT'], name: 'Bob Okafor' });
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

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  contexts.push(context);
  return context.newPage();
}

type Where = 'login' | 'consent' | 'client';

function where(page: Page): Where | undefined {
  const url = new URL(page.url());
  if (url.origin === callback.origin && url.pathname === '/cb') return 'client';
  if (url.origin === tessera.baseUrl && url.pathname === '/login') return 'login';
  if (url.origin === tessera.baseUrl && url.pathname === '/consent') return 'consent';
  return undefined;
}

/** Opens an OpenID Connect authorization request; returns where the browser ends up. */
async function authorize(page: Page, client: CliClient, extra: Record<string, string> = {}): Promise<Where> {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    scope: 'openid PATIENT',
    state: 'st',
    ...extra,
  });
  await page.goto(`${tessera.baseUrl}/apiAuthorize.action?${params.toString()}`);
  const at = where(page);
  if (!at) throw new Error(`the browser is at ${page.url()}`);
  return at;
}

/** Presses a button and waits until the browser has left the page it was on. */
async function press(page: Page, name: string): Promise<Where> {
  const before = page.url();
  await Promise.all([
    page.waitForURL((url) => url.href !== before && where(page) !== undefined),
    page.getByRole('button', { name, exact: true }).click(),
  ]);
  return where(page) as Where;
}

async function signIn(page: Page, username = 'alice'): Promise<Where> {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  return press(page, 'Sign in');
}

/** The response parameters the client received. */
function atClient(page: Page): URLSearchParams {
  expect(where(page)).toBe('client');
  return new URL(page.url()).searchParams;
}

/** A browser that has signed in as `username` and allowed Health Diary once. */
async function signedInPage(username = 'alice'): Promise<Page> {
  const page = await newPage();
  expect(await authorize(page, app)).toBe('login');
  expect(await signIn(page, username)).toBe('consent');
  expect(await press(page, 'Allow')).toBe('client');
  expect(atClient(page).get('code')).toBeTruthy();
  return page;
}

describe('browser sessions', () => {
  it('a second authorization in the same browser needs no password, and the session cookie lives as long as --session-max', async () => {
    const page = await signedInPage();
    const cookie = (await page.context().cookies(tessera.baseUrl)).find((c) => c.name === 'tessera_session');
    expect(cookie?.httpOnly).toBe(true);
    expect((cookie?.expires ?? 0) - Date.now() / 1000).toBeGreaterThan(3500);
    expect((cookie?.expires ?? 0) - Date.now() / 1000).toBeLessThanOrEqual(3600);

    expect(await authorize(page, app, { state: 'second' })).toBe('consent');
    expect(await page.locator('.signed-in').textContent()).toContain('Alice Patel');
    expect(await press(page, 'Allow')).toBe('client');
    const params = atClient(page);
    expect(params.get('code')).toBeTruthy();
    expect(params.get('state')).toBe('second');
  });

  it('--skip-consent: a signed-in browser goes straight back to the app', async () => {
    const page = await signedInPage();
    expect(await authorize(page, firstParty)).toBe('client');
    expect(atClient(page).get('code')).toBeTruthy();
  });

  it('prompt=login asks for the password again, then goes on', async () => {
    const page = await signedInPage();
    expect(await authorize(page, app, { prompt: 'login' })).toBe('login');
    expect(await signIn(page)).toBe('consent');
    expect(await press(page, 'Allow')).toBe('client');
    expect(atClient(page).get('code')).toBeTruthy();
  });

  it('max_age=0 asks for the password again; max_age=10000 does not', async () => {
    const page = await signedInPage();
    expect(await authorize(page, app, { max_age: '10000' })).toBe('consent');
    expect(await authorize(page, app, { max_age: '0' })).toBe('login');
    expect(await signIn(page)).toBe('consent');
    expect(await press(page, 'Allow')).toBe('client');
  });

  it('prompt=none without a session: login_required at the app, no page', async () => {
    const page = await newPage();
    expect(await authorize(page, firstParty, { prompt: 'none' })).toBe('client');
    const params = atClient(page);
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe('st');
    expect(params.get('iss')).toBe(tessera.baseUrl);
  });

  it('prompt=none with a session: consent_required without --skip-consent, a code with it', async () => {
    const page = await signedInPage();
    expect(await authorize(page, app, { prompt: 'none' })).toBe('client');
    expect(atClient(page).get('error')).toBe('consent_required');
    expect(await authorize(page, firstParty, { prompt: 'none' })).toBe('client');
    expect(atClient(page).get('code')).toBeTruthy();
  });

  it('"Not you?" ends the session and shows the sign-in page; another person signs in', async () => {
    const page = await signedInPage();
    expect(await authorize(page, app)).toBe('consent');
    expect(await page.getByText('Not you?').isVisible()).toBe(true);
    expect(await press(page, 'Sign in as someone else')).toBe('login');
    expect(await signIn(page, 'bob')).toBe('consent');
    expect(await page.locator('.signed-in').textContent()).toContain('Bob Okafor');
    expect(await press(page, 'Allow')).toBe('client');
    expect(atClient(page).get('code')).toBeTruthy();
  });
});
