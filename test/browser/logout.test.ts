/**
 * RP-Initiated Logout in headless Chromium against the real server (`tessera serve`):
 * sign in, sign out through the confirmation page, land on the app's registered
 * post-logout URI with its state; the session row and cookie are gone and the next
 * authorization asks for the password. An unregistered post-logout URI is never followed.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/http/browser.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import { openStore } from '../../src/store/open.js';
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
const STATE = 'bye & "see you" é';

let tessera: ServerProcess;
let callback: CallbackServer;
let browser: Browser;
let app: CliClient;
let backUri: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const launching = launchChromium();
  callback = await startCallbackServer();
  tessera = await startServer();
  backUri = `${callback.origin}/bye`;
  app = addClientWithCli(tessera.db, [
    '--name',
    'Health Diary',
    '--redirect-uri',
    callback.redirectUri,
    '--post-logout-redirect-uri',
    backUri,
  ]);
  addUserWithCli(tessera.db, { username: 'alice', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });
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

async function newPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  contexts.push(context);
  return context.newPage();
}

async function sessionCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies(tessera.baseUrl)).find((c) => c.name === SESSION_COOKIE)?.value;
}

/** Whether the server's database still holds the session this cookie names. */
async function sessionRowExists(cookie: string): Promise<boolean> {
  const store = await openStore(tessera.db);
  try {
    return (await store.getSignInSession(hashSecret(cookie), Date.now())) !== undefined;
  } finally {
    await store.close();
  }
}

function authorizeUrl(state: string): string {
  const query = new URLSearchParams({ response_type: 'code', client_id: app.client_id, state });
  return `${tessera.baseUrl}/apiAuthorize.action?${query.toString()}`;
}

/** Signs alice in and allows: the browser lands on the app's callback with a code. */
async function signInAndAllow(page: Page, state: string): Promise<void> {
  await page.goto(authorizeUrl(state));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username', { exact: true }).fill('alice');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/consent'),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  await Promise.all([
    page.waitForURL((url) => url.origin === callback.origin && url.pathname === '/cb'),
    page.getByRole('button', { name: 'Allow', exact: true }).click(),
  ]);
  expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
}

function logoutUrl(params: Record<string, string>): string {
  return `${tessera.baseUrl}/oauth2/logout?${new URLSearchParams(params).toString()}`;
}

describe('logout in a real browser', () => {
  it('confirmation page → Sign out → the registered URI with state; session row and cookie gone; the next sign-in asks for the password', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await signInAndAllow(page, 'first');
    const cookie = await sessionCookie(page);
    expect(cookie).toBeDefined();
    expect(await sessionRowExists(cookie as string)).toBe(true);

    await page.goto(logoutUrl({ client_id: app.client_id, post_logout_redirect_uri: backUri, state: STATE }));
    await page.getByRole('heading', { name: 'Sign out of Tessera?' }).waitFor();
    expect(await page.getByText('Alice Patel').count()).toBeGreaterThan(0);
    // It fits a phone: no horizontal scrolling, the button on screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const button = page.getByRole('button', { name: 'Sign out', exact: true });
    const box = await button.boundingBox();
    expect(box !== null && box.x >= 0 && box.x + box.width <= 390).toBe(true);

    await Promise.all([
      page.waitForURL((url) => url.origin === callback.origin && url.pathname === '/bye'),
      button.click(),
    ]);
    const landed = new URL(page.url());
    expect([...landed.searchParams]).toEqual([['state', STATE]]);
    expect(callback.hits.some((u) => u.pathname === '/bye' && u.searchParams.get('state') === STATE)).toBe(true);

    expect(await sessionCookie(page)).toBeUndefined();
    expect(await sessionRowExists(cookie as string)).toBe(false);

    await page.goto(authorizeUrl('second'));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
  });

  it('an unregistered post_logout_redirect_uri is never followed', async () => {
    const page = await newPage();
    await signInAndAllow(page, 'third');
    const cookie = (await sessionCookie(page)) as string;
    const evil = `${callback.origin}/evil`;
    const hitsBefore = callback.hits.length;

    await page.goto(logoutUrl({ client_id: app.client_id, post_logout_redirect_uri: evil, state: 'x' }));
    await page.getByRole('heading', { name: 'Sign out of Tessera?' }).waitFor();
    // The page says beforehand that the app's address will not be followed.
    expect(await page.locator('[role="status"]').innerText()).toContain('has not registered');
    await Promise.all([
      page.waitForURL((url) => url.origin === tessera.baseUrl && url.pathname === '/oauth2/logout'),
      page.getByRole('button', { name: 'Sign out', exact: true }).click(),
    ]);
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.waitForTimeout(300);
    expect(callback.hits.length).toBe(hitsBefore);
    expect(callback.hits.some((u) => u.pathname === '/evil')).toBe(false);
    expect(await sessionRowExists(cookie)).toBe(false);
  });
});
