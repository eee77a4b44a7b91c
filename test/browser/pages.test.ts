/**
 * The pages a person sees, in headless Chromium at a desktop and a phone viewport: the
 * sign-in page after a mistake (username kept, focus, errors tied to their fields),
 * Cancel, the consent page's role choice, the error pages and the 404 page, each checked
 * with axe-core (no serious or critical violations) and saved as a screenshot under
 * test-output/screenshots/ for a look by eye; and the demo pages' tables and length.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
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
const DEMO_PASSWORD = 'tessera-demo';
const CLIENT_NAME = 'Health Diary';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;
type Viewport = (typeof VIEWPORTS)[number];

let tessera: ServerProcess;
let callback: CallbackServer;
let browser: Browser;
let app: CliClient;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const launching = launchChromium();
  callback = await startCallbackServer();
  // With the demo: its pages are measured below, and its people stand in here too.
  tessera = await startServer({ args: ['--demo'] });
  app = addClientWithCli(tessera.db, ['--name', CLIENT_NAME, '--redirect-uri', callback.redirectUri]);
  addUserWithCli(tessera.db, {
    username: 'robin',
    password: PASSWORD,
    roles: ['PATIENT', 'CLINICIAN', 'TEAMCOORD'],
    name: 'Robin Many',
  });
  addUserWithCli(tessera.db, { username: 'alice.p', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });
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

async function newPage(v: Viewport): Promise<Page> {
  // bypassCSP only so that the test can inject axe-core: the pages themselves run no script.
  const context = await browser.newContext({
    viewport: v.viewport,
    isMobile: v.isMobile,
    hasTouch: v.isMobile,
    bypassCSP: true,
  });
  context.setDefaultTimeout(10_000);
  contexts.push(context);
  return context.newPage();
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** The checks every page gets: axe, no horizontal scrolling, and a screenshot to look at. */
async function checkPage(page: Page, v: Viewport, name: string): Promise<void> {
  expect(await seriousViolations(page)).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(v.viewport.width);
  await page.screenshot({ path: `${SCREENSHOTS}${name}-${v.name}.png`, fullPage: true });
}

function authorizeUrl(params: Record<string, string>): string {
  return `${tessera.baseUrl}/apiAuthorize.action?${new URLSearchParams(params).toString()}`;
}

const onPath = (path: string) => (url: URL) => url.origin === tessera.baseUrl && url.pathname === path;
const onCallback = (url: URL) => url.origin === callback.origin && url.pathname === '/cb';

async function openSignIn(page: Page, params: Record<string, string>): Promise<void> {
  await page.goto(authorizeUrl(params));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const before = page.url();
  await Promise.all([
    page.waitForURL((url) => url.href !== before),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
}

/** The id of the focused element. */
const focused = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

/** The text of the element(s) an element's aria-describedby names. */
async function describedBy(page: Page, selector: string): Promise<string> {
  return page.locator(selector).evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? `(no element #${id})`)
      .join(' | '),
  );
}

describe.each(VIEWPORTS)('the pages at $name size', (v) => {
  it('sign-in: the cursor starts in Username; after a wrong password the username stays, the cursor is in Password, the error is tied to both fields', async () => {
    const page = await newPage(v);
    await openSignIn(page, { response_type: 'code', client_id: app.client_id, state: 'login' });
    expect(await focused(page)).toBe('username');
    await checkPage(page, v, 'login');

    await signIn(page, 'alice.p', 'not the password');
    expect(onPath('/login')(new URL(page.url()))).toBe(true);
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toContain('The username or password is not correct.');
    expect(await page.getByLabel('Username', { exact: true }).inputValue()).toBe('alice.p');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    expect(await focused(page)).toBe('password');
    for (const field of ['#username', '#password']) {
      expect(await describedBy(page, field)).toBe('The username or password is not correct.');
      expect(await page.locator(field).getAttribute('aria-invalid')).toBe('true');
    }
    await checkPage(page, v, 'login-wrong-password');

    // Typing on at once works: the password field has the cursor.
    await page.keyboard.type(PASSWORD);
    await Promise.all([page.waitForURL(onPath('/consent')), page.keyboard.press('Enter')]);
  });

  it('sign-in: Cancel goes back to the app with access_denied and the state', async () => {
    const page = await newPage(v);
    const state = `cancel-${v.name}`;
    await openSignIn(page, { response_type: 'code', client_id: app.client_id, state });
    // Cancel needs no username or password (the form is not validated for it).
    await Promise.all([page.waitForURL(onCallback), page.getByRole('button', { name: 'Cancel', exact: true }).click()]);
    const landed = new URL(page.url());
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('code')).toBeNull();

    // Back to the sign-in page: it says the sign-in is over, and that it was cancelled.
    await page.goBack();
    await page.getByRole('heading', { name: 'This sign-in is already finished' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('You already cancelled this sign-in');
  });

  it('consent: with several roles none is chosen, each says in a sentence what the app may do; Allow needs a choice', async () => {
    const page = await newPage(v);
    const state = `roles-${v.name}`;
    await openSignIn(page, { response_type: 'code', client_id: app.client_id, state });
    await signIn(page, 'robin', PASSWORD);
    expect(onPath('/consent')(new URL(page.url()))).toBe(true);
    const sentences = {
      Patient: /your own health record/,
      Clinician: /patients who share them with you/,
      'Team coordinator': /care team's administration/,
    };
    for (const [label, sentence] of Object.entries(sentences)) {
      const radio = page.getByLabel(label, { exact: true });
      expect(await radio.getAttribute('type')).toBe('radio');
      expect(await radio.isChecked()).toBe(false);
      const about = await describedBy(page, `#${await radio.getAttribute('id')}`);
      expect(about).toMatch(sentence);
      expect(await page.getByText(sentence).isVisible()).toBe(true);
    }
    await checkPage(page, v, 'consent-roles');

    // Allow without a choice: the browser asks for one and nothing is sent.
    const hits = callback.hits.length;
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.waitForTimeout(300);
    expect(onPath('/consent')(new URL(page.url()))).toBe(true);
    expect(callback.hits.length).toBe(hits);

    await page.getByLabel('Team coordinator', { exact: true }).check();
    await Promise.all([page.waitForURL(onCallback), page.getByRole('button', { name: 'Allow', exact: true }).click()]);
    expect(new URL(page.url()).searchParams.get('state')).toBe(state);

    // Back after Allow: what happened and what to do, no bug report, no "expired".
    await page.goBack();
    await page.getByRole('heading', { name: 'This sign-in is already finished' }).waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('You already chose Allow');
    expect(text).toContain('Go back to the app to carry on');
    expect(text).not.toMatch(/report|bug|expired|took too long/i);
    await checkPage(page, v, 'back-after-allow');
  });

  it('consent: a person with one role reads the sentence for it', async () => {
    const page = await newPage(v);
    await openSignIn(page, { response_type: 'code', client_id: app.client_id, state: 'one-role' });
    await signIn(page, 'alice.p', PASSWORD);
    expect(await page.getByText(`${CLIENT_NAME} will be able to act for you as a Patient.`).isVisible()).toBe(true);
    expect(await page.getByText(/your own health record/).isVisible()).toBe(true);
    await checkPage(page, v, 'consent-one-role');
  });

  it.each([
    ['unknown-client', { response_type: 'code', client_id: 'no-such-app', state: 's' }, /does not know the app/],
    [
      'bad-redirect-uri',
      { response_type: 'code', client_id: '', redirect_uri: 'https://evil.example/cb', state: 's' },
      /send you back to an address/,
    ],
  ])(
    'error page (%s): a plain headline, what to do, and the detail for the developer folded below',
    async (name, query, message) => {
      const page = await newPage(v);
      const params = { ...query, client_id: query.client_id || app.client_id };
      const res = await page.goto(authorizeUrl(params));
      expect(res?.status()).toBe(400);
      const heading = page.getByRole('heading', { level: 1 });
      expect(await heading.textContent()).toBe("This app's sign-in link is not valid");
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).toMatch(message);
      expect(main).toContain('Go back to the app and try again');
      expect(main).not.toMatch(/report|bug/i);
      // The protocol's words are for the developer only, folded away until asked for.
      const developerCode = page.locator('details.developer code');
      expect(await developerCode.isVisible()).toBe(false);
      await page.getByText("Details for the app's developer").click();
      expect(await developerCode.textContent()).toBe('invalid_request');
      expect(await page.locator('details.developer').textContent()).toMatch(/client_id|redirect_uri/);
      await checkPage(page, v, `error-${name}`);
    },
  );

  it('the 404 page is one of its own', async () => {
    const page = await newPage(v);
    const res = await page.goto(`${tessera.baseUrl}/no/such/page`);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    await checkPage(page, v, 'not-found');
  });
});

// ---------------------------------------------------------------------------------------
// The demo pages
// ---------------------------------------------------------------------------------------

/** Table headers whose text runs over more than one line (a word broken, "Userna/me"). */
async function brokenHeaders(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('thead th')].flatMap((th) => {
      const range = document.createRange();
      range.selectNodeContents(th);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return lines.size > 1 ? [th.textContent ?? ''] : [];
    }),
  );
}

describe.each(VIEWPORTS)('the demo pages at $name size', (v) => {
  it('table headers never break mid-word, nothing scrolls sideways, and on a phone each step stays well under 3,000 px', async () => {
    const page = await newPage(v);
    const heights: Record<string, number> = {};
    const look = async (name: string) => {
      expect(await brokenHeaders(page)).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(v.viewport.width);
      heights[name] = await page.evaluate(() => document.documentElement.scrollHeight);
      expect(await seriousViolations(page)).toEqual([]);
      await page.screenshot({ path: `${SCREENSHOTS}demo-${name}-${v.name}.png`, fullPage: true });
    };

    await page.goto(`${tessera.baseUrl}/demo`);
    expect(await page.locator('thead th').count()).toBeGreaterThan(0);
    await look('intro');
    await Promise.all([page.waitForURL(onPath('/demo/start')), page.getByRole('button', { name: 'Start' }).click()]);
    await look('start');
    await page.getByRole('link', { name: 'Go to Tessera to sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, 'alice', DEMO_PASSWORD);
    await Promise.all([
      page.waitForURL(onPath('/demo/callback')),
      page.getByRole('button', { name: 'Allow', exact: true }).click(),
    ]);
    await look('callback');
    await Promise.all([
      page.waitForURL(onPath('/demo/exchange')),
      page.getByRole('button', { name: /Exchange the code/ }).click(),
    ]);
    await look('exchange');
    await Promise.all([
      page.waitForURL(onPath('/demo/call')),
      page.getByRole('button', { name: 'Call /api/v1/me' }).click(),
    ]);
    await look('call');

    if (v.name === 'phone') {
      // They ran to 2,800–3,300 px; tightened, each is a few screens.
      for (const [name, height] of Object.entries(heights)) expect(height, name).toBeLessThan(2_600);
    }
  });
});
