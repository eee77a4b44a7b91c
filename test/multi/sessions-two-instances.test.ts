/**
 * Browser sessions live in the database, not in a process: a person signs in at one
 * `tessera serve` instance and authorizes at another (both on one PostgreSQL database)
 * without a password. The browser is plain HTTP with a cookie jar, so each request goes
 * to the instance the test names. Runs only when TESSERA_TEST_POSTGRES_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempPostgresUrl } from '../helpers/harness.js';
import {
  addClientWithCli,
  addUserWithCli,
  basicAuth,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const POSTGRES_URL = process.env.TESSERA_TEST_POSTGRES_URL;
const PASSWORD = 'correct horse battery staple';
const CB = 'https://app.example/cb';
const ISSUER = 'http://tessera.test';

/** A browser: cookies by name, sent to every instance (they share a host name). */
class Browser {
  private readonly cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(init.form && { body: new URLSearchParams(init.form).toString() }),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

function hidden(body: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(body);
  if (!match?.[1]) throw new Error(`no ${name} on the page`);
  return match[1];
}

describe.skipIf(!POSTGRES_URL)('two instances on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof tempPostgresUrl>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let app: CliClient;
  let firstParty: CliClient;

  beforeAll(async () => {
    database = await tempPostgresUrl();
    const options = {
      db: database.url,
      args: ['--issuer', ISSUER],
      env: { TESSERA_SECRET: randomBytes(32).toString('base64url') },
    };
    // One after the other: the first applies the migrations.
    a = await startServer(options);
    b = await startServer(options);
    const scopes = ['PATIENT', 'openid'].flatMap((s) => ['--scope', s]);
    app = addClientWithCli(database.url, ['--name', 'Health Diary', '--redirect-uri', CB, ...scopes]);
    firstParty = addClientWithCli(database.url, [
      '--name',
      'Portal',
      '--redirect-uri',
      CB,
      '--skip-consent',
      ...scopes,
    ]);
    addUserWithCli(database.url, { username: 'alice', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  const authorizeUrl = (base: string, client: CliClient, extra: Record<string, string> = {}) =>
    `${base}/apiAuthorize.action?${new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      scope: 'openid PATIENT',
      state: 'st',
      ...extra,
    }).toString()}`;

  it('sign in at one instance, authorize at the other without a password', async () => {
    const browser = new Browser();
    // At A: the sign-in page, the password.
    const start = await browser.request(authorizeUrl(a.baseUrl, app));
    expect(start.status).toBe(302);
    const loginPath = start.headers.get('location') as string;
    expect(loginPath).toMatch(/^\/login\?/);
    const login = await (await browser.request(`${a.baseUrl}${loginPath}`)).text();
    const signedIn = await browser.request(`${a.baseUrl}/login`, {
      method: 'POST',
      form: { request: hidden(login, 'request'), csrf: hidden(login, 'csrf'), username: 'alice', password: PASSWORD },
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toMatch(/^\/consent\?/);

    // At B, a new authorization: straight to consent, allowed, and the code redeemed at B.
    const again = await browser.request(authorizeUrl(b.baseUrl, app, { state: 'at-b' }));
    expect(again.status).toBe(302);
    const consentPath = again.headers.get('location') as string;
    expect(consentPath).toMatch(/^\/consent\?/);
    const consent = await (await browser.request(`${b.baseUrl}${consentPath}`)).text();
    expect(consent).toContain('Alice Patel');
    const allowed = await browser.request(`${b.baseUrl}/consent`, {
      method: 'POST',
      form: { request: hidden(consent, 'request'), csrf: hidden(consent, 'csrf'), decision: 'allow' },
    });
    expect(allowed.status).toBe(303);
    const back = new URL(allowed.headers.get('location') as string);
    expect(back.searchParams.get('state')).toBe('at-b');
    const token = await fetch(`${b.baseUrl}/apiToken.action`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(app.client_id, app.client_secret as string),
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '' }),
    });
    expect(token.status).toBe(200);

    // prompt=none for the first-party app at A: a code at once, from the session.
    const silent = await browser.request(authorizeUrl(a.baseUrl, firstParty, { prompt: 'none' }));
    expect(silent.status).toBe(302);
    expect(new URL(silent.headers.get('location') as string).searchParams.get('code')).toBeTruthy();
  });
});
