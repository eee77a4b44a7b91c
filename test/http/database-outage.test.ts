/**
 * The database goes away and comes back: a TCP proxy between Tessera and
 * PostgreSQL is cut and restored. While it is cut every endpoint answers a clear 503
 * (JSON temporarily_unavailable with Retry-After at the token endpoint and the API, an
 * HTML page on the pages, /readyz 503), logged as warn lines, never a crash; once it is
 * restored the same requests succeed without a restart. `serve` start-up waits for the
 * database (--db-wait) and prints `listening on` only once it is reachable.
 *
 * Runs in the postgres project only (TESSERA_TEST_POSTGRES_URL set): each run makes its
 * own schema in that database and reaches it through its own proxy.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore, StoreUnavailableError } from '../../src/store/open.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  CookieJar,
  form,
  hiddenValue,
  ISSUER,
  openLogin,
  PASSWORD,
  postToken,
  TEST_ENGINE,
} from '../helpers/harness.js';
import {
  addClientWithCli,
  addUserWithCli,
  basicAuth,
  CLI_PATH,
  runCli,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const BASE = process.env.TESSERA_TEST_POSTGRES_URL;
const CB = 'https://app.example/cb';

/** A fresh schema in the test database; URLs straight to it and through `proxyPort`. */
async function outageSchema(): Promise<{
  direct: string;
  via: (port: number, password?: string) => string;
  drop: () => Promise<void>;
}> {
  const base = new URL(BASE as string);
  const schema = `outage_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const withSchema = (url: URL) => {
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.toString();
  };
  return {
    direct: withSchema(new URL(base)),
    via: (port, password) => {
      const url = new URL(base);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      if (password !== undefined) url.password = password;
      return withSchema(url);
    },
    drop: async () => {
      const client = new pg.Client({ connectionString: BASE });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

function upstreamOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) };
}

/** A loopback port where nothing listens. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const run = BASE !== undefined && TEST_ENGINE === 'postgres';

describe.skipIf(!run)('database outage (in process, through a cut TCP proxy)', () => {
  let proxy: TcpProxy;
  let schema: Awaited<ReturnType<typeof outageSchema>>;
  let store: KyselyStore;
  let app: FastifyInstance;
  const logs: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  let clientId: string;
  let secret: string;

  beforeAll(async () => {
    schema = await outageSchema();
    proxy = await startTcpProxy(upstreamOf(BASE as string));
    store = await openStore(schema.via(proxy.port), { poolSize: 3 });
    const config: AppConfig = {
      issuer: ISSUER,
      demo: false,
      lifetimes: DEFAULT_LIFETIMES,
      secret: randomBytes(32).toString('base64url'),
    };
    const logger = pino(
      { level: 'info', base: undefined },
      { write: (line: string) => void logs.push(JSON.parse(line)) },
    );
    app = await buildApp(config, store, { logger });
    const added = await addClient(store, { redirectUris: [CB] });
    clientId = added.client.id;
    secret = added.secret as string;
    await addTestUser(store, 'alice', ['PATIENT'], 'Alice Patel');
  });

  afterAll(async () => {
    await app?.close();
    await store?.close().catch(() => undefined);
    await proxy?.close();
    await schema?.drop();
  });

  async function fullFlow(jar = new CookieJar()) {
    const code = await codeThroughPages(app, {
      query: { response_type: 'code', client_id: clientId, state: 's1' },
      jar,
    });
    const token = await postToken(
      app,
      { grant_type: 'authorization_code', code },
      { authorization: basic(clientId, secret) },
    );
    expect(token.statusCode).toBe(200);
    const body = token.json() as { access_token: string; refresh_token: string };
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username: 'alice', client_id: clientId });
    return body;
  }

  it('answers 503 while the database is cut, and recovers by itself when it is back', async () => {
    const tokens = await fullFlow();
    // A sign-in started before the outage, to post its forms during it.
    const started = await openLogin(app, { response_type: 'code', client_id: clientId, state: 's2' });
    const before = logs.length;

    await proxy.cut();

    // Token endpoint: RFC 6749 §5.2 JSON, temporarily_unavailable, no-store, Retry-After.
    for (const body of [
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      { grant_type: 'authorization_code', code: 'x'.repeat(43) },
    ]) {
      const res = await postToken(app, body, { authorization: basic(clientId, secret) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description: expect.stringMatching(/try again/),
      });
    }

    // The API: 503 JSON with Retry-After, and no Bearer challenge (the token is not at fault).
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.statusCode).toBe(503);
    expect(me.headers['retry-after']).toBe('5');
    expect(me.headers['www-authenticate']).toBeUndefined();
    expect(me.json()).toMatchObject({ error: 'temporarily_unavailable' });

    // Pages: a 503 HTML page asking to try again shortly, never a redirect or JSON.
    const pages = [
      await app.inject({
        method: 'GET',
        url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: clientId, state: 's3' })}`,
      }),
      await app.inject({
        method: 'GET',
        url: `/login?request=${started.request}`,
        headers: { cookie: started.jar.header() },
      }),
      await app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie: started.jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ request: started.request, csrf: started.csrf, username: 'alice', password: PASSWORD }),
      }),
      await app.inject({
        method: 'GET',
        url: `/consent?request=${started.request}`,
        headers: { cookie: started.jar.header() },
      }),
    ];
    for (const page of pages) {
      expect(page.statusCode).toBe(503);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['retry-after']).toBe('5');
      expect(page.headers.location).toBeUndefined();
      expect(page.body).toContain('Please try again shortly');
      expect(page.body).toContain('temporarily_unavailable');
    }

    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['retry-after']).toBe('5');
    expect(ready.json()).toEqual({ status: 'unavailable', reason: 'database not reachable' });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    // Logged as warn lines that name the cause; nothing at error level, no stacks.
    const during = logs.slice(before).filter((l) => l.msg !== 'request');
    expect(during.length).toBeGreaterThanOrEqual(8);
    expect(during.every((l) => l.level === 40)).toBe(true);
    expect(during.map((l) => String(l.cause))).toContain(
      'database unavailable: connection refused (is the database server running?)',
    );
    expect(JSON.stringify(during)).not.toMatch(/stack|    at /);

    await proxy.restore();

    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    const again = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(again.statusCode).toBe(200);
    const refreshed = await postToken(
      app,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      { authorization: basic(clientId, secret) },
    );
    expect(refreshed.statusCode).toBe(200);
    // The sign-in started before the outage goes on, and a whole new flow works.
    const login = await app.inject({
      method: 'GET',
      url: `/login?request=${started.request}`,
      headers: { cookie: started.jar.header() },
    });
    expect(login.statusCode).toBe(200);
    expect(hiddenValue(login.body, 'request')).toBe(started.request);
    await fullFlow();
    expect(logs.some((l) => l.level >= 50)).toBe(false);
  });

  it('fails a query in flight when its connection drops, without crashing, and the pool heals', async () => {
    const slow = sql`select pg_sleep(5)`.execute(store.db);
    const outcome = slow.then(
      () => 'finished',
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.cut();
    const err = await outcome;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/^database unavailable: /);
    // A transaction cannot even begin while the database is away.
    await expect(store.takePendingAuthorization('nope', Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
    await proxy.restore();
    await expect(store.ping()).resolves.toBeUndefined();
    await fullFlow();
  });
});

describe.skipIf(!run)('database outage (tessera serve as a process)', () => {
  let proxy: TcpProxy;
  let schema: Awaited<ReturnType<typeof outageSchema>>;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    schema = await outageSchema();
    proxy = await startTcpProxy(upstreamOf(BASE as string));
  });

  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await schema?.drop();
  });

  /** The whole code flow over real HTTP, cookies carried by hand. */
  async function flowOverHttp(baseUrl: string, client: { client_id: string; client_secret?: string }) {
    const cookies = new Map<string, string>();
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${baseUrl}${path}`, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string>),
          cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair = ''] = c.split(';');
        const eq = pair.indexOf('=');
        cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return res;
    };
    const post = (path: string, body: Record<string, string>) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form(body),
      });

    const start = await call(
      `/apiAuthorize.action?${form({ response_type: 'code', client_id: client.client_id, state: 'p1' })}`,
    );
    expect(start.status).toBe(302);
    const loginPage = await (await call(start.headers.get('location') as string)).text();
    const request = hiddenValue(loginPage, 'request');
    const signedIn = await post('/login', {
      request,
      csrf: hiddenValue(loginPage, 'csrf'),
      username: 'alice',
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(303);
    const consentPage = await (await call(signedIn.headers.get('location') as string)).text();
    const decided = await post('/consent', { request, csrf: hiddenValue(consentPage, 'csrf'), decision: 'allow' });
    expect(decided.status).toBe(303);
    const code = new URL(decided.headers.get('location') as string).searchParams.get('code') as string;
    const token = await fetch(`${baseUrl}/apiToken.action`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(client.client_id, client.client_secret as string),
      },
      body: form({ grant_type: 'authorization_code', code }),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(me.status).toBe(200);
    return access_token;
  }

  it('keeps running through an outage and serves again when the database is back', async () => {
    // A new schema: migrate makes the tables (other commands refuse a database without them).
    expect(runCli(['migrate'], { db: schema.direct }).status).toBe(0);
    const client = addClientWithCli(schema.direct, ['--name', 'Outage App', '--redirect-uri', CB]);
    addUserWithCli(schema.direct, { username: 'alice', password: PASSWORD, roles: ['PATIENT'] });
    server = await startServer({ db: schema.via(proxy.port), args: ['--db-pool-size', '4'] });
    const { baseUrl } = server;
    const accessToken = await flowOverHttp(baseUrl, client);

    await proxy.cut();
    const token = await fetch(`${baseUrl}/apiToken.action`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(client.client_id, client.client_secret as string),
      },
      body: form({ grant_type: 'authorization_code', code: 'y'.repeat(43) }),
    });
    expect(token.status).toBe(503);
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.headers.get('retry-after')).toBe('5');
    expect(await token.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(503);
    expect(me.headers.get('retry-after')).toBe('5');
    expect(await me.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const page = await fetch(
      `${baseUrl}/apiAuthorize.action?${form({ response_type: 'code', client_id: client.client_id })}`,
      { redirect: 'manual' },
    );
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('try again shortly');
    expect((await fetch(`${baseUrl}/readyz`)).status).toBe(503);
    expect(server.child.exitCode).toBeNull();

    await proxy.restore();
    expect((await fetch(`${baseUrl}/readyz`)).status).toBe(200);
    await flowOverHttp(baseUrl, client);
    expect(server.child.exitCode).toBeNull();
    const logged = server.stderr();
    expect(logged).toMatch(/"level":40[^\n]*database unavailable/);
    expect(logged).not.toMatch(/"level":50/);
    expect((await server.stop()).code).toBe(0);
    server = undefined;
  });

  it('waits at start-up while the database cannot be reached, and listens once it can', async () => {
    await proxy.cut();
    const child = spawn(
      process.execPath,
      [
        CLI_PATH,
        'serve',
        '--port',
        '0',
        '--log-level',
        'warn',
        '--db',
        schema.via(proxy.port, 'hunter2secret'),
        '--db-wait',
        '30',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Two retries have been logged (a busy machine may need longer than the first two pauses).
      const deadline = Date.now() + 15_000;
      while (stderr.trim().split('\n').length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stdout).toBe('');
      expect(child.exitCode).toBeNull();
      const warnings = stderr.trim().split('\n');
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      for (const line of warnings) {
        expect(JSON.parse(line)).toMatchObject({
          level: 40,
          msg: expect.stringMatching(
            /^database at postgres:\/\/.*:\*\*\*@127\.0\.0\.1:\d+\/.* not reachable: connection refused .*; retrying in \d+\.\d s$/,
          ),
        });
      }
      expect(stderr).not.toContain('hunter2secret');

      await proxy.restore();
      const listening = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 12_000);
        const check = () => {
          if (stdout.includes('\n')) {
            clearTimeout(timer);
            resolve(stdout);
          } else setTimeout(check, 50);
        };
        check();
      });
      expect(listening).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
      const baseUrl = (/^listening on (\S+)/.exec(listening) as RegExpExecArray)[1] as string;
      expect((await fetch(`${baseUrl}/readyz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('gives up after --db-wait with one line and exit code 2', async () => {
    const port = await deadPort();
    const started = Date.now();
    const result = runCli(['serve', '--port', '0', '--db-wait', '2'], {
      db: `postgres://postgres:pw@127.0.0.1:${port}/tessera`,
    });
    const elapsed = Date.now() - started;
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    const last = lines.at(-1) as string;
    const match = /^tessera: cannot reach the database at (\S+) after waiting 2 s \((\d+) attempts\): (.*)$/.exec(last);
    expect(match?.[1]).toBe(`postgres://postgres:***@127.0.0.1:${port}/tessera`);
    expect(match?.[3]).toBe('connection refused (is the database server running?)');
    // Attempts at about 0, 0.5, 1.5 and 2 s; before the last line, one warn line per failed attempt but the last.
    const attempts = Number(match?.[2]);
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(lines.slice(0, -1).map((l) => (JSON.parse(l) as { level: number }).level)).toEqual(
      Array(attempts - 1).fill(40),
    );
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(6000);
  });

  it.each([
    ['a database that does not exist', (url: URL) => (url.pathname = '/tessera_no_such_database'), /does not exist/],
    ['a role that does not exist', (url: URL) => (url.username = 'no_such_role'), /no_such_role|credentials/],
  ])('does not wait for %s: one line and exit 2 at once', async (_what, change, message) => {
    const url = new URL(BASE as string);
    change(url);
    const started = Date.now();
    const result = runCli(['serve', '--port', '0', '--db-wait', '60'], { db: url.toString() });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tessera: cannot open the database at /);
    expect(lines[0]).toMatch(message);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
