/**
 * Values that cannot be taken as sent — a NUL byte (`%00`, which PostgreSQL refuses in
 * text) or bytes that are not UTF-8 (`%FF`, which URLSearchParams would silently turn
 * into U+FFFD) — are refused where parameters are parsed, before any store sees them:
 * invalid_request in each endpoint's own format, never a 5xx, nothing logged at error
 * level. On both engines.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  basic,
  CookieJar,
  form,
  hiddenValue,
  openLogin,
  PASSWORD,
  postPage,
  responseParams,
  TEST_ENGINE,
  testApp,
  type LoginStart,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let t: TestApp;
const logs: Array<{ level: number; msg: string }> = [];
let secret: string;

beforeAll(async () => {
  const logger = pino(
    { level: 'debug', base: undefined },
    { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  t = await testApp({ logger });
  secret = (await addClient(t.store, { id: 'conf', redirectUris: [CB] })).secret as string;
  await addClient(t.store, { id: 'pub', redirectUris: [CB], public: true });
  await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
});

afterAll(async () => {
  await t.close();
});

afterEach(() => {
  // Bad input is the client's problem, not the server's: nothing at error level or above.
  expect(logs.filter((line) => line.level >= 50)).toEqual([]);
});

function inject(method: 'GET' | 'POST', url: string, body?: string | Buffer, headers: Record<string, string> = {}) {
  return t.app.inject({ method, url, headers: { ...(body !== undefined && FORM), ...headers }, payload: body });
}

function expectPage(res: LightMyRequestResponse, status = 400): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
}

function expectUnreadablePage(res: LightMyRequestResponse, name: string): void {
  expectPage(res);
  expect(res.body).toContain(`The ${name} parameter holds a NUL byte or is not valid UTF-8`);
  expect(res.body).toContain('<code>invalid_request</code>');
}

function expectTokenError(res: LightMyRequestResponse, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.json().error).toBe(error);
  if (status === 401) expect(String(res.headers['www-authenticate'])).toMatch(/^Basic realm="tessera"/);
}

const BAD = ['%00', '%FF', 'a%00b', '%C3', '%ED%A0%80', '%F4%90%80%80', '%C0%AF'];

describe('the authorization endpoint', () => {
  const ok = 'response_type=code&client_id=conf&state=s1';

  it.each(BAD)('client_id=%s: an error page, nothing looked up', async (bad) => {
    expectUnreadablePage(await inject('GET', `/apiAuthorize.action?response_type=code&client_id=${bad}`), 'client_id');
    expectUnreadablePage(
      await inject('POST', '/apiAuthorize.action', `response_type=code&client_id=${bad}`),
      'client_id',
    );
  });

  it.each(BAD)('redirect_uri=%s: an error page', async (bad) => {
    expectUnreadablePage(await inject('GET', `/apiAuthorize.action?${ok}&redirect_uri=${bad}`), 'redirect_uri');
  });

  it('a bad value before the client is established: the page about the client', async () => {
    const res = await inject('GET', '/apiAuthorize.action?response_type=code&state=%00');
    expectPage(res);
    expect(res.body).toContain('The client_id parameter is missing');
  });

  it.each(BAD)('state=%s: redirected with invalid_request and without the state', async (bad) => {
    for (const res of [
      await inject('GET', `/apiAuthorize.action?response_type=code&client_id=conf&state=${bad}`),
      await inject('POST', '/apiAuthorize.action', `response_type=code&client_id=conf&state=${bad}`),
    ]) {
      expect(res.statusCode).toBe(302);
      const params = responseParams(String(res.headers.location));
      expect(String(res.headers.location).startsWith(`${CB}?`)).toBe(true);
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('error_description')).toBe('The state parameter holds a NUL byte or is not valid UTF-8');
      expect(params.has('state')).toBe(false);
    }
  });

  it.each(['scope', 'code_challenge', 'code_challenge_method', 'response_type', 'unknown'])(
    '%s=%%00: redirected with invalid_request and the state as sent',
    async (name) => {
      const res = await inject('GET', `/apiAuthorize.action?${ok}&${name}=%00`.replace('response_type=code&', ''));
      expect(res.statusCode).toBe(302);
      const params = responseParams(String(res.headers.location));
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('state')).toBe('s1');
      expect(String(res.headers.location)).not.toContain('%00');
    },
  );

  it('a raw byte that is not UTF-8 in a form body is refused too, not turned into U+FFFD', async () => {
    const body = Buffer.concat([Buffer.from('response_type=code&client_id=conf&state=a'), Buffer.from([0xff])]);
    const res = await inject('POST', '/apiAuthorize.action', body);
    expect(res.statusCode).toBe(302);
    expect(responseParams(String(res.headers.location)).get('error')).toBe('invalid_request');
    expect(responseParams(String(res.headers.location)).has('state')).toBe(false);
  });

  it('valid UTF-8, percent-encoded or raw, is kept exactly', async () => {
    const body = Buffer.from('response_type=code&client_id=conf&scope=NOPE&state=%C3%A9+é%2B', 'utf8');
    const res = await inject('POST', '/apiAuthorize.action', body);
    expect(responseParams(String(res.headers.location)).get('state')).toBe('é é+');
  });
});

describe('the token endpoint', () => {
  it.each(['client_id', 'code', 'grant_type', 'redirect_uri', 'code_verifier', 'client_secret', 'other'])(
    '%s holding %%00 or %%FF: 400 invalid_request JSON',
    async (name) => {
      for (const bad of ['%00', '%FF']) {
        const values: Record<string, string> = { grant_type: 'authorization_code', code: 'c', client_id: 'pub' };
        const body = `${form({ ...values, [name]: undefined })}&${name}=${bad}`;
        const res = await inject('POST', '/apiToken.action', body);
        expectTokenError(res, 400, 'invalid_request');
        expect(res.json().error_description).toBe(`The ${name} parameter holds a NUL byte or is not valid UTF-8`);
      }
    },
  );

  it.each([
    ['a NUL in the client id', basic('co\0nf', 'x')],
    ['a NUL in the secret', basic('conf', 's\0')],
    ['%FF in the client id', `Basic ${Buffer.from('%FF:x').toString('base64')}`],
    ['a raw byte that is not UTF-8', `Basic ${Buffer.from([0x63, 0xff, 0x3a, 0x78]).toString('base64')}`],
    ['a raw NUL byte', `Basic ${Buffer.from([0x63, 0x00, 0x3a, 0x78]).toString('base64')}`],
  ])('Basic credentials with %s: 401 invalid_client with the Basic challenge', async (_name, authorization) => {
    const res = await inject('POST', '/apiToken.action', 'grant_type=authorization_code&code=c', { authorization });
    expectTokenError(res, 401, 'invalid_client');
  });

  it('good Basic credentials still authenticate (the code is what is wrong)', async () => {
    const res = await inject('POST', '/apiToken.action', 'grant_type=authorization_code&code=c', {
      authorization: basic('conf', secret),
    });
    expectTokenError(res, 400, 'invalid_grant');
  });
});

describe('sign-in and consent', () => {
  let flow: LoginStart;

  beforeAll(async () => {
    flow = await openLogin(t.app, { response_type: 'code', client_id: 'conf', state: 's' });
  });

  const cookie = () => ({ cookie: flow.jar.header() });

  it.each(['%00', '%FF'])('GET /login and /consent with request=%s: a 400 page', async (bad) => {
    expectUnreadablePage(await inject('GET', `/login?request=${bad}`, undefined, cookie()), 'request');
    expectUnreadablePage(await inject('GET', `/consent?request=${bad}`, undefined, cookie()), 'request');
  });

  it.each(['/login', '/login/switch', '/consent'])('POST %s with request=%%00: a 400 page', async (path) => {
    const res = await inject('POST', path, `request=%00&csrf=${flow.csrf}`, cookie());
    expectUnreadablePage(res, 'request');
  });

  it.each(['username', 'password'])(
    'POST /login with %s=%%00: a 400 page, no sign-in attempt counted',
    async (name) => {
      const values = { request: flow.request, csrf: flow.csrf, username: 'alice', password: PASSWORD };
      const res = await inject('POST', '/login', `${form({ ...values, [name]: undefined })}&${name}=%00`, cookie());
      expectUnreadablePage(res, name);
    },
  );

  it('a session cookie outside base64url is treated as absent: back to sign-in', async () => {
    const jar = new CookieJar();
    const start = await openLogin(t.app, { response_type: 'code', client_id: 'conf' }, jar);
    const signedIn = await postPage(
      t.app,
      '/login',
      { request: start.request, csrf: start.csrf, username: 'alice', password: PASSWORD },
      jar,
    );
    expect(signedIn.statusCode).toBe(303);
    const consent = String(signedIn.headers.location);
    const good = await t.app.inject({ method: 'GET', url: consent, headers: { cookie: jar.header() } });
    expect(good.statusCode).toBe(200);
    const tampered = jar.header().replace(/tessera_session=[^;]+/, 'tessera_session=a%00b');
    const res = await t.app.inject({ method: 'GET', url: consent, headers: { cookie: tampered } });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers.location)).toBe(`/login?request=${start.request}`);
    expect(hiddenValue(good.body, 'csrf')).not.toBe('');
  });

  it('a browser cookie outside base64url is treated as absent: the cookie page', async () => {
    const tampered = flow.jar.header().replace(/tessera_browser=[^;]+/, 'tessera_browser=%00');
    const res = await inject('GET', `/login?request=${flow.request}`, undefined, { cookie: tampered });
    expectPage(res);
    expect(res.body).toContain('cookie');
  });
});

describe('random bytes in every parameter of every entry point', () => {
  /** Bytes that are hostile in one of the ways that reach a store: NUL, bad UTF-8, random. */
  function hostile(): Buffer {
    const pick = randomInt(4);
    if (pick === 0) return Buffer.from(randomInt(2) ? [0x61, 0x00] : [0xff]);
    const bytes = randomBytes(randomInt(1, 12));
    if (pick === 1) bytes[randomInt(bytes.length)] = 0;
    if (pick === 2) bytes[randomInt(bytes.length)] = 0x80 + randomInt(0x80);
    return bytes;
  }
  const percent = (bytes: Buffer) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

  interface EntryPoint {
    method: 'GET' | 'POST';
    path: string;
    /** Valid values, each replaced in turn by a hostile one. */
    values: Record<string, string>;
    /** Parameters sent only when hostile. */
    extra?: string[];
    /** Sent with the browser's cookies (the sign-in and consent pages). */
    browser?: boolean;
  }

  it('a few hundred requests: never a 5xx', async () => {
    const login = await openLogin(t.app, { response_type: 'code', client_id: 'conf', state: 'f' });
    const { request, csrf } = login;
    const authorize = { response_type: 'code', client_id: 'conf', redirect_uri: CB, scope: 'PATIENT', state: 's' };
    const entryPoints: EntryPoint[] = [
      { method: 'GET', path: '/apiAuthorize.action', values: authorize, extra: ['code_challenge_method'] },
      { method: 'POST', path: '/oauth2/authorize', values: authorize, extra: ['code_challenge'] },
      {
        method: 'POST',
        path: '/apiToken.action',
        values: { grant_type: 'authorization_code', code: 'c', client_id: 'pub' },
        extra: ['redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_secret'],
      },
      { method: 'GET', path: '/login', values: { request }, extra: ['error'], browser: true },
      {
        method: 'POST',
        path: '/login',
        values: { request, csrf, username: 'nobody', password: 'x' },
        browser: true,
      },
      { method: 'POST', path: '/login/switch', values: { request, csrf }, browser: true },
      { method: 'GET', path: '/consent', values: { request }, browser: true },
      {
        method: 'POST',
        path: '/consent',
        values: { request, csrf, decision: 'allow' },
        extra: ['scope'],
        browser: true,
      },
      { method: 'GET', path: '/api/v1/me', values: {}, extra: ['access_token'] },
    ];

    async function send(entry: EntryPoint, name: string, value: Buffer): Promise<LightMyRequestResponse> {
      const others = Object.entries(entry.values).filter(([n]) => n !== name);
      const text = [...others.map(([n, v]) => `${n}=${encodeURIComponent(v)}&`), `${name}=`].join('');
      const headers: Record<string, string> = entry.browser ? { cookie: login.jar.header() } : {};
      if (entry.method === 'GET') return inject('GET', `${entry.path}?${text}${percent(value)}`, undefined, headers);
      // A form body may carry the bytes percent-encoded or raw.
      const body = randomInt(2) ? Buffer.from(text + percent(value)) : Buffer.concat([Buffer.from(text), value]);
      return inject('POST', entry.path, body, headers);
    }

    async function sendBasic(value: Buffer): Promise<LightMyRequestResponse> {
      const inside = randomInt(2) ? Buffer.from(`${percent(value)}:x`) : Buffer.concat([value, Buffer.from(':x')]);
      return inject('POST', '/apiToken.action', 'grant_type=refresh_token&refresh_token=r', {
        authorization: `Basic ${inside.toString('base64')}`,
      });
    }

    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const value = hostile();
      const entry = entryPoints[i % (entryPoints.length + 1)];
      const names = entry ? [...Object.keys(entry.values), ...(entry.extra ?? [])] : ['Basic'];
      const name = names[randomInt(names.length)] as string;
      const res = entry ? await send(entry, name, value) : await sendBasic(value);
      seen.add(`${entry?.path ?? 'Basic'} ${name}`);
      if (res.statusCode >= 500) {
        throw new Error(`${TEST_ENGINE}: ${res.statusCode} for ${entry?.path ?? 'Basic'} ${name}=${percent(value)}`);
      }
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(seen.size).toBeGreaterThan(20);
  });
});
