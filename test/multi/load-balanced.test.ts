/**
 * Issue 4, item 5: three `tessera serve` processes on one PostgreSQL database behind a
 * real nginx (Debian's), round-robin — the way operators scale out. Proves that:
 *
 * (a) a person's whole flow in headless Chromium works while consecutive requests land
 *     on different instances (each instance's own request log says which served what);
 * (b) 50 simultaneous redemptions of one code, spread over the instances: one winner;
 * (c) 50 simultaneous uses of one refresh token, likewise: one winner;
 * (d) an instance killed with SIGKILL in the middle of a stream of flows: the others
 *     keep serving, every flow completes, and no 5xx once nginx has noticed.
 *
 * The nginx configuration is docs/nginx.conf.example's own `upstream` and `location /`
 * blocks (the instances' addresses put in), so the documented configuration is the one
 * tested. Runs only when TESSERA_TEST_POSTGRES_URL is set and nginx is installed
 * (.ci/run does both); it makes its own database on that server and drops it after.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../helpers/callback-server.js';
import { launchChromium } from '../helpers/chromium.js';
import { freePort } from '../helpers/free-port.js';
import {
  addClientWithCli,
  addUserWithCli,
  basicAuth,
  runCli,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const POSTGRES_URL = process.env.TESSERA_TEST_POSTGRES_URL;
const EXAMPLE_CONF = fileURLToPath(new URL('../../docs/nginx.conf.example', import.meta.url));

/** nginx from TESSERA_NGINX, the Debian package's path, or PATH; undefined when not installed. */
function findNginx(): string | undefined {
  if (process.env.TESSERA_NGINX) return process.env.TESSERA_NGINX;
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : undefined;
}
const NGINX = findNginx();

const PASSWORD = 'correct horse battery staple';
const RACERS = 50;
/**
 * Requests that are not the browser's come from this loopback address, so the instances'
 * logs can show that they believe nginx's X-Forwarded-For (nginx itself connects from 127.0.0.1).
 */
const CLIENT_ADDRESS = '127.0.0.5';
/** The instances trust nginx, and only nginx. */
const PROXY_ADDRESS = '127.0.0.1';

/** A 5xx answer: the flow may be started over. */
class ServerError extends Error {}

// ---------------------------------------------------------------------------------------
// Small tools: a free port, an HTTP client with a cookie jar, the callback server
// ---------------------------------------------------------------------------------------

class Jar {
  private readonly cookies = new Map<string, string>();

  take(headers: IncomingHttpHeaders): void {
    for (const line of headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Every request the tool sent: when, where, and how it ended (status 0: no answer). */
interface Hit {
  start: number;
  end: number;
  method: string;
  path: string;
  status: number;
}
const hits: Hit[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 256, localAddress: CLIENT_ADDRESS });

/** One HTTP request to `base` (nginx or an instance), from CLIENT_ADDRESS; redirects are not followed. */
function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  options: { jar?: Jar; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const cookie = options.jar?.header();
  if (cookie) headers.cookie = cookie;
  const hit: Hit = { start: Date.now(), end: 0, method, path: url.pathname, status: 0 };
  hits.push(hit);
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent, timeout: 20_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        hit.end = Date.now();
        hit.status = res.statusCode ?? 0;
        options.jar?.take(res.headers);
        resolve({ status: hit.status, headers: res.headers, body: text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer in 20 s`)));
    req.on('error', (err) => {
      hit.end = Date.now();
      reject(err);
    });
    req.end(body);
  });
}

function hiddenValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden input ${name} in page`);
  return match[1] as string;
}

// ---------------------------------------------------------------------------------------
// The instances' request logs (pino JSON on stderr, level info)
// ---------------------------------------------------------------------------------------

interface RequestLine {
  time: number;
  ip: string;
  method: string;
  route: string;
  status: number;
}

interface Instance {
  name: string;
  server: ServerProcess;
  port: number;
  /** Every request log line the instance wrote, in order. */
  requests: RequestLine[];
}

function watchRequestLog(server: ServerProcess, into: RequestLine[]): void {
  let partial = '';
  server.child.stderr?.on('data', (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as Partial<RequestLine> & { msg?: string };
        if (entry.msg === 'request') into.push(entry as RequestLine);
      } catch {
        // not a log line (the demo banner, say)
      }
    }
  });
}

/** Which instance logged `method route` at or after `since`, for each step (exactly one each). */
async function servedBy(steps: Array<[string, string]>, since: number): Promise<string[]> {
  const find = () =>
    steps.map(([method, route]) =>
      instances.flatMap((i) =>
        i.requests.filter((r) => r.time >= since && r.method === method && r.route === route).map(() => i.name),
      ),
    );
  // The log is written asynchronously: give the last lines a moment to arrive.
  for (let waited = 0; find().some((found) => found.length === 0) && waited < 3000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const found = find();
  found.forEach((names, i) => {
    if (names.length !== 1) {
      throw new Error(
        `${steps[i]?.join(' ')} was logged ${names.length} times since the flow began: ${names.join(', ')}`,
      );
    }
  });
  return found.map((names) => names[0] as string);
}

// ---------------------------------------------------------------------------------------
// nginx, configured from docs/nginx.conf.example
// ---------------------------------------------------------------------------------------

/** The text of the block that starts with `opening` (up to its matching brace) in `text`. */
function block(text: string, opening: RegExp): string {
  const start = text.search(opening);
  if (start < 0) throw new Error(`docs/nginx.conf.example has no block matching ${opening}`);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unbalanced braces after ${opening} in docs/nginx.conf.example`);
}

/** The example's upstream with its `server` lines pointing at `ports` (same parameters), and its `location /`. */
function configFromExample(ports: number[]): { upstream: string; location: string } {
  const example = readFileSync(EXAMPLE_CONF, 'utf8').replace(/^\s*#.*$/gm, '');
  const upstream = block(example, /upstream tessera\s*\{/);
  const servers = [...upstream.matchAll(/^\s*server\s+\S+(.*);$/gm)];
  if (servers.length === 0) throw new Error('the example upstream lists no server');
  const parameters = (servers[0] as RegExpMatchArray)[1] as string;
  const ours = ports.map((port) => `    server 127.0.0.1:${port}${parameters};`).join('\n');
  let replaced = false;
  const withOurs = upstream.replace(/^\s*server\s+\S+.*;$\n?/gm, () => {
    if (replaced) return '';
    replaced = true;
    return `${ours}\n`;
  });
  return { upstream: withOurs, location: block(example, /location \/\s*\{/) };
}

interface Nginx {
  child: ChildProcess;
  dir: string;
  errorLog: () => string;
  accessLog: () => string;
  stop: () => Promise<void>;
}

async function startNginx(port: number, upstreamPorts: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-nginx-'));
  // As root, nginx's workers run as an unprivileged user: they must reach the temp folders.
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const { upstream, location } = configFromExample(upstreamPorts);
  const conf = `daemon off;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 1024; }
http {
  log_format upstreams '$msec $request_method $uri $status "$upstream_addr" "$upstream_status"';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${upstream}
  server {
    listen 127.0.0.1:${port};
    server_name _;
${location}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(NGINX as string, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: master and workers can be ended together (by that group's id).
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  const nginx: Nginx = {
    child,
    dir,
    errorLog: () => read('error.log'),
    accessLog: () => read('access.log'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM'); // fast shutdown: the master ends its workers
        const timer = setTimeout(() => {
          try {
            process.kill(-(child.pid as number), 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready when it answers through to an instance.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await nginx.stop();
      throw new Error(`nginx exited (${child.exitCode}): ${output}\n${nginx.errorLog()}\n--- config ---\n${conf}`);
    }
    try {
      const res = await call(`http://127.0.0.1:${port}`, 'GET', '/healthz');
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await nginx.stop();
      throw new Error(`nginx did not answer on port ${port} within 10 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return nginx;
}

// ---------------------------------------------------------------------------------------
// Fixtures: a database, three instances, nginx, a browser
// ---------------------------------------------------------------------------------------

let databaseUrl: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
let callback: CallbackServer | undefined;
let instances: Instance[] = [];
let nginx: Nginx | undefined;
let launching: Promise<Browser> | undefined;
let browser: Browser | undefined;
let lb: string;
let app: CliClient;

async function createDatabase(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tessera_multi_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: base, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

describe.skipIf(!POSTGRES_URL || !NGINX)('three instances behind nginx on one PostgreSQL database', () => {
  beforeAll(async () => {
    launching = launchChromium();
    launching.catch(() => undefined); // reported below, when awaited
    const database = await createDatabase(POSTGRES_URL as string);
    databaseUrl = database.url;
    dropDatabase = database.drop;
    callback = await startCallbackServer();

    // The tables, clients and people through the real CLI (only migrate or serve make a database).
    const migrated = runCli(['migrate'], { db: databaseUrl });
    if (migrated.status !== 0) throw new Error(`tessera migrate exited with ${migrated.status}: ${migrated.stderr}`);
    app = addClientWithCli(databaseUrl, ['--name', 'Load-Balanced App', '--redirect-uri', callback.redirectUri]);
    addUserWithCli(databaseUrl, { username: 'alice', password: PASSWORD, roles: ['PATIENT'], name: 'Alice Patel' });

    const lbPort = await freePort();
    lb = `http://127.0.0.1:${lbPort}`;
    const secret = randomBytes(32).toString('base64url');
    const servers = await Promise.allSettled(
      ['A', 'B', 'C'].map(() =>
        startServer({
          db: databaseUrl,
          logLevel: 'info',
          args: ['--issuer', lb, '--trust-proxy', PROXY_ADDRESS],
          env: { TESSERA_SECRET: secret },
        }),
      ),
    );
    instances = servers.flatMap((s, i) => {
      if (s.status !== 'fulfilled') return [];
      const instance: Instance = {
        name: 'ABC'[i] as string,
        server: s.value,
        port: Number(new URL(s.value.baseUrl).port),
        requests: [],
      };
      watchRequestLog(s.value, instance.requests);
      return [instance];
    });
    const failed = servers.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    nginx = await startNginx(
      lbPort,
      instances.map((i) => i.port),
    );
    browser = await launching;
  }, 60_000);

  afterAll(async () => {
    // Everything that was started is ended, whatever failed before.
    await (browser ?? (await launching?.catch(() => undefined)))?.close().catch(() => undefined);
    await nginx?.stop().catch(() => undefined);
    await Promise.all(instances.map((i) => i.server.stop({ killAfterMs: 5000 }).catch(() => undefined)));
    await callback?.close().catch(() => undefined);
    agent.destroy();
    await dropDatabase?.().catch((err: unknown) => console.error(`could not drop the test database: ${String(err)}`));
  }, 60_000);

  // -------------------------------------------------------------------------------------
  // A flow without a browser (for the races and the stream), through nginx
  // -------------------------------------------------------------------------------------

  /** Authorization request → sign-in → consent → code, all through nginx; throws on anything unexpected. */
  async function codeThroughNginx(state: string): Promise<string> {
    const jar = new Jar();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: (callback as CallbackServer).redirectUri,
      scope: 'PATIENT',
      state,
    });
    const expect303 = (res: Answer, what: string, to: string): string => {
      const location = String(res.headers.location ?? '');
      if (res.status >= 500) throw new ServerError(`${what}: ${res.status}`);
      if (!(res.status === 302 || res.status === 303) || !location.startsWith(to)) {
        throw new Error(`${what}: ${res.status} ${location} ${res.body.slice(0, 300)}`);
      }
      return location;
    };
    const expect200 = (res: Answer, what: string): string => {
      if (res.status >= 500) throw new ServerError(`${what}: ${res.status}`);
      if (res.status !== 200) throw new Error(`${what}: ${res.status} ${res.body.slice(0, 300)}`);
      return res.body;
    };
    const toLogin = expect303(await call(lb, 'GET', `/apiAuthorize.action?${query}`, { jar }), 'authorize', '/login?');
    const login = expect200(await call(lb, 'GET', toLogin, { jar }), 'sign-in page');
    const request = hiddenValue(login, 'request');
    const toConsent = expect303(
      await call(lb, 'POST', '/login', {
        jar,
        form: { request, csrf: hiddenValue(login, 'csrf'), username: 'alice', password: PASSWORD },
      }),
      'sign-in',
      '/consent?',
    );
    const consent = expect200(await call(lb, 'GET', toConsent, { jar }), 'consent page');
    const done = expect303(
      await call(lb, 'POST', '/consent', {
        jar,
        form: { request, csrf: hiddenValue(consent, 'csrf'), scope: 'PATIENT', decision: 'allow' },
      }),
      'consent',
      (callback as CallbackServer).redirectUri,
    );
    const landed = new URL(done);
    expect(landed.searchParams.get('state')).toBe(state);
    return landed.searchParams.get('code') as string;
  }

  async function token(form: Record<string, string>): Promise<Answer> {
    return call(lb, 'POST', '/apiToken.action', {
      form: { redirect_uri: (callback as CallbackServer).redirectUri, ...form },
      headers: { authorization: basicAuth(app.client_id, app.client_secret as string) },
    });
  }

  function expectOneWinner(answers: Answer[]): Record<string, unknown> {
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(RACERS - 1);
    for (const loser of answers.filter((a) => a.status !== 200)) {
      expect(JSON.parse(loser.body)).toMatchObject({ error: 'invalid_grant' });
    }
    return JSON.parse((answers.find((a) => a.status === 200) as Answer).body) as Record<string, unknown>;
  }

  /** The instances that logged `route` since `since` (with how many requests each). */
  function spread(route: string, since: number): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const i of instances) {
      const n = i.requests.filter((r) => r.time >= since && r.route === route).length;
      if (n > 0) counts[i.name] = n;
    }
    return counts;
  }

  // -------------------------------------------------------------------------------------

  it('(a) a browser signs in and consents while consecutive requests land on different instances', async () => {
    const context = await (browser as Browser).newContext();
    context.setDefaultTimeout(10_000);
    try {
      const page: Page = await context.newPage();
      const since = Date.now();
      const state = `lb-${randomBytes(4).toString('hex')}`;
      const params = new URLSearchParams({
        response_type: 'code',
        client_id: app.client_id,
        redirect_uri: (callback as CallbackServer).redirectUri,
        scope: 'PATIENT',
        state,
      });
      const opened = await page.goto(`${lb}/apiAuthorize.action?${params}`);
      expect(opened?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();

      await page.getByLabel('Username', { exact: true }).fill('alice');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await Promise.all([
        page.waitForURL((url) => url.origin === lb && url.pathname === '/consent'),
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
      ]);
      await page.getByRole('heading', { name: 'Allow Load-Balanced App to access your account?' }).waitFor();
      await Promise.all([
        page.waitForURL((url) => url.origin === (callback as CallbackServer).origin),
        page.getByRole('button', { name: 'Allow', exact: true }).click(),
      ]);
      const landed = new URL(page.url());
      expect(landed.searchParams.get('state')).toBe(state);
      const code = landed.searchParams.get('code') as string;
      expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);

      const res = await token({ grant_type: 'authorization_code', code });
      expect(res.status).toBe(200);
      const tokens = JSON.parse(res.body) as Record<string, string>;
      const me = await call(lb, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(me.status).toBe(200);
      expect(JSON.parse(me.body)).toMatchObject({ username: 'alice', scope: 'PATIENT', client_id: app.client_id });

      const steps: Array<[string, string]> = [
        ['GET', '/apiAuthorize.action'],
        ['GET', '/login'],
        ['POST', '/login'],
        ['GET', '/consent'],
        ['POST', '/consent'],
        ['POST', '/apiToken.action'],
      ];
      const served = await servedBy(steps, since);
      console.info(`(a) steps served by: ${steps.map(([m, r], i) => `${m} ${r} → ${served[i]}`).join(', ')}`);
      expect(new Set(served).size).toBeGreaterThanOrEqual(2);
      // Where one step's state is made on one instance and the next step reads it: round-robin
      // sends them to different instances (no other request comes between the two).
      expect(served[1], 'the pending authorization made at one instance is read at another').not.toBe(served[0]);
      expect(served[3], 'the sign-in session made at one instance is used at another').not.toBe(served[2]);
      expect(served[5], 'the code issued by one instance is redeemed at another').not.toBe(served[4]);

      // nginx's X-Forwarded-For is believed (the token request came from CLIENT_ADDRESS through
      // nginx at 127.0.0.1), and a client talking to an instance directly cannot forge it.
      const tokenLine = instances.flatMap((i) =>
        i.requests.filter((r) => r.time >= since && r.route === '/apiToken.action'),
      )[0];
      expect(tokenLine?.ip).toBe(CLIENT_ADDRESS);
      const direct = instances[0] as Instance;
      const before = direct.requests.length;
      const forged = await call(direct.server.baseUrl, 'GET', '/healthz', {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      expect(forged.status).toBe(200);
      for (let waited = 0; direct.requests.length === before && waited < 3000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(direct.requests.at(-1)).toMatchObject({ route: '/healthz', ip: CLIENT_ADDRESS });
    } finally {
      await context.close().catch(() => undefined);
    }
  }, 30_000);

  it(`(b) ${RACERS} simultaneous redemptions of one code across the instances: exactly one 200`, async () => {
    const code = await codeThroughNginx('race-code');
    const since = Date.now();
    const answers = await Promise.all(
      Array.from({ length: RACERS }, () => token({ grant_type: 'authorization_code', code })),
    );
    const won = expectOneWinner(answers);
    expect(won.access_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = spread('/apiToken.action', since);
    console.info(`(b) token requests per instance: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it(`(c) ${RACERS} simultaneous uses of one refresh token across the instances: exactly one 200`, async () => {
    const code = await codeThroughNginx('race-refresh');
    const first = await token({ grant_type: 'authorization_code', code });
    expect(first.status).toBe(200);
    const refreshToken = (JSON.parse(first.body) as Record<string, string>).refresh_token as string;
    expect(refreshToken).toBeTruthy();
    const since = Date.now();
    const answers = await Promise.all(
      Array.from({ length: RACERS }, () => token({ grant_type: 'refresh_token', refresh_token: refreshToken })),
    );
    const won = expectOneWinner(answers);
    expect(won.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(won.refresh_token).not.toBe(refreshToken);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = spread('/apiToken.action', since);
    console.info(`(c) refresh requests per instance: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('(d) SIGKILL of one instance during a stream of flows: the others serve, every flow completes', async () => {
    const WORKERS = 4;
    const victim = instances[1] as Instance;
    let killedAt = 0;
    let completed = 0;
    let completedAfterKill = 0;
    let retried = 0;
    const firstHit = hits.length;
    const victimBefore = victim.requests.length;

    /** One whole flow (code, token, a call with the token); started again from scratch after a 5xx. */
    async function flow(n: number): Promise<void> {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const code = await codeThroughNginx(`stream-${n}`);
          const res = await token({ grant_type: 'authorization_code', code });
          if (res.status >= 500) throw new ServerError(`token: ${res.status}`);
          expect(res.status).toBe(200);
          const accessToken = (JSON.parse(res.body) as Record<string, string>).access_token as string;
          const me = await call(lb, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${accessToken}` } });
          if (me.status >= 500) throw new ServerError(`me: ${me.status}`);
          expect(me.status).toBe(200);
          return;
        } catch (err) {
          // A request that was at the killed instance when it died gets a 502 from nginx,
          // as a client would see it; the client starts over. Anything else fails the test.
          if (!(err instanceof ServerError) || attempt >= 3) throw err;
          retried += 1;
        }
      }
    }

    let next = 0;
    const worker = async () => {
      for (;;) {
        const enough = killedAt > 0 && completedAfterKill >= 12 && Date.now() - killedAt >= 3000;
        if (enough) return;
        const n = (next += 1);
        await flow(n);
        completed += 1;
        if (killedAt > 0) completedAfterKill += 1;
      }
    };
    const started = Date.now();
    const workers = Array.from({ length: WORKERS }, () => worker());
    // Mid-run: once the stream is flowing through every instance.
    while (completed < 6 && Date.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(completed, 'flows completed before the kill').toBeGreaterThanOrEqual(6);
    const victimServed = victim.requests.length - victimBefore;
    killedAt = Date.now();
    victim.server.child.kill('SIGKILL');
    await Promise.all(workers);
    const elapsed = Date.now() - killedAt;
    expect((await victim.server.stop()).signal).toBe('SIGKILL');

    const streamHits = hits.slice(firstHit);
    const serverErrors = streamHits.filter((h) => h.status >= 500);
    console.info(
      `(d) ${completed} flows (${completedAfterKill} after the kill, ${elapsed} ms), ${streamHits.length} requests, ` +
        `${retried} flows started over, 5xx: ${JSON.stringify(serverErrors.map((h) => ({ ...h, start: h.start - killedAt, end: h.end - killedAt })))}`,
    );
    expect(victimServed, 'the killed instance served part of the stream').toBeGreaterThan(0);
    expect(completedAfterKill).toBeGreaterThanOrEqual(12);
    // Every request got an answer (nginx never left a client without one).
    expect(streamHits.filter((h) => h.status === 0)).toEqual([]);
    // A 5xx only for a request that was at the killed instance when it died: a 502, begun
    // before nginx could have noticed (within a second of the kill), never afterwards.
    for (const h of serverErrors) {
      expect(h.status).toBe(502);
      expect(h.end).toBeGreaterThanOrEqual(killedAt);
      expect(h.start).toBeLessThan(killedAt + 1000);
    }
    expect(serverErrors.length).toBeLessThanOrEqual(WORKERS);

    // nginx did notice, and the two others served everything after it.
    const deadAddress = `127.0.0.1:${victim.port}`;
    expect((nginx as Nginx).errorLog()).toContain(deadAddress);
    const lateLines = (nginx as Nginx)
      .accessLog()
      .split('\n')
      .filter((line) => Number(line.split(' ')[0]) * 1000 >= killedAt + 1000);
    expect(lateLines.length).toBeGreaterThan(20);
    const answeredBy = new Set(lateLines.map((line) => /"([^"]*)"/.exec(line)?.[1]?.split(', ').at(-1)));
    expect(answeredBy.has(deadAddress)).toBe(false);
    for (const survivor of instances.filter((i) => i !== victim)) {
      expect(answeredBy.has(`127.0.0.1:${survivor.port}`), `instance ${survivor.name} served after the kill`).toBe(
        true,
      );
    }
  }, 60_000);
});
