/**
 * Greedy clients against a real server on a real port (buildApp, as `serve` builds it):
 * the per-address rate limit of the browser endpoints that write (429 page with
 * Retry-After, per address and per endpoint, the forwarded address behind a trusted
 * proxy), the token endpoint never limited, the default allowing 600 authorization
 * requests a minute from one address, and the connection caps — per address (127.0.0.1
 * and 127.0.0.2 are two addresses of this machine), idle keep-alive connections closed
 * first, trusted proxies not capped, and in all.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits, type TrustProxy } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { addClient, basic, form, tempStore } from '../helpers/harness.js';

interface Served {
  app: FastifyInstance;
  store: KyselyStore;
  port: number;
  clientId: string;
  clientSecret: string;
  advance: (ms: number) => void;
  logs: Array<Record<string, unknown>>;
}

const cleanups: Array<() => Promise<void>> = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(limits: Partial<Limits> = {}, trustProxy?: TrustProxy): Promise<Served> {
  const { store, cleanup } = await tempStore();
  const config: AppConfig = {
    issuer: 'http://127.0.0.1',
    demo: false,
    lifetimes: DEFAULT_LIFETIMES,
    secret: randomBytes(32).toString('base64url'),
  };
  let offset = 0;
  const logs: Array<Record<string, unknown>> = [];
  const { pino } = await import('pino');
  const logger = pino(
    { level: 'warn', base: undefined },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const app = await buildApp(config, store, {
    now: () => Date.now() + offset,
    logger,
    limits: { ...DEFAULT_LIMITS, ...limits },
    ...(trustProxy !== undefined && { trustProxy }),
  });
  const { client, secret } = await addClient(store, {
    id: 'greedy-app',
    redirectUris: ['https://app.example/cb'],
    public: false,
    grants: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  // Listening on every address of the machine, so that 127.0.0.2 reaches it too.
  await app.listen({ host: '0.0.0.0', port: 0 });
  cleanups.push(async () => {
    await app.close();
    await cleanup();
  });
  return {
    app,
    store,
    port: (app.server.address() as AddressInfo).port,
    clientId: client.id,
    clientSecret: secret as string,
    advance: (ms) => (offset += ms),
    logs,
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    from?: string;
    agent?: Agent;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        ...(options.from !== undefined && { localAddress: options.from }),
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const authorizePath = (clientId: string, path = '/oauth2/authorize') =>
  `${path}?${form({ response_type: 'code', client_id: clientId, state: 's' })}`;

function expect429Page(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['content-type']).toMatch(/^text\/html/);
  expect(answer.body).toContain('Too many requests');
}

async function pendingCount(store: KyselyStore): Promise<number> {
  const row = await store.db
    .selectFrom('pending_authorizations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('rate limit of the browser endpoints that write', () => {
  it('answers 429 with Retry-After after the limit and not before, per address, and again once the bucket refills', async () => {
    const s = await serve({ rateLimit: 5 });
    for (let i = 0; i < 5; i += 1) {
      // Both aliases share the endpoint's one budget.
      const res = await send(s.port, {
        path: authorizePath(s.clientId, i % 2 ? '/oauth2/authorize' : '/apiAuthorize.action'),
      });
      expect(res.status, `request ${i + 1}`).toBe(302);
    }
    const before = await pendingCount(s.store);
    const refused = await send(s.port, { path: authorizePath(s.clientId) });
    expect429Page(refused);
    // 5 a minute: one more request in 12 s.
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(12);
    // A POST to the endpoint too; and the refused requests wrote nothing.
    const post = await send(s.port, {
      method: 'POST',
      path: '/apiAuthorize.action',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ response_type: 'code', client_id: s.clientId }),
    });
    expect429Page(post);
    expect(await pendingCount(s.store)).toBe(before);
    // One warn line for the address, not one per refused request.
    expect(s.logs.filter((l) => l.event === 'rate_limited')).toHaveLength(1);

    // Another address has its own budget.
    expect((await send(s.port, { path: authorizePath(s.clientId), from: '127.0.0.2' })).status).toBe(302);

    // A minute later the first address may go on.
    s.advance(60_000);
    expect((await send(s.port, { path: authorizePath(s.clientId) })).status).toBe(302);
  });

  it('limits the sign-in, consent and logout forms per address too, each with its own budget', async () => {
    const s = await serve({ rateLimit: 3 });
    // Exhaust the authorization endpoint: the sign-in form is still answered.
    for (let i = 0; i < 4; i += 1) await send(s.port, { path: authorizePath(s.clientId) });
    const formPost = (path: string) => ({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'request=nope',
    });
    const statuses = async (requests: Array<Parameters<typeof send>[1]>) => {
      const out: number[] = [];
      for (const r of requests) out.push((await send(s.port, r)).status);
      return out;
    };
    // GET and POST /login share the sign-in budget: 3 a minute between them.
    expect(await statuses([formPost('/login'), { path: '/login?request=nope' }, formPost('/login')])).not.toContain(
      429,
    );
    expect429Page(await send(s.port, formPost('/login')));
    expect429Page(await send(s.port, { path: '/login?request=nope' }));
    expect429Page(await send(s.port, formPost('/login/switch')));
    for (const request of [formPost('/consent'), { path: '/oauth2/logout' }]) {
      expect(await statuses([request, request, request]), request.path).not.toContain(429);
      expect429Page(await send(s.port, request));
    }
  });

  it('counts the forwarded client address behind a trusted proxy, not the proxy', async () => {
    const s = await serve({ rateLimit: 2 }, ['127.0.0.1']);
    const from = (client: string) => ({ path: authorizePath(s.clientId), headers: { 'x-forwarded-for': client } });
    expect((await send(s.port, from('203.0.113.7'))).status).toBe(302);
    expect((await send(s.port, from('203.0.113.7'))).status).toBe(302);
    expect429Page(await send(s.port, from('203.0.113.7')));
    expect((await send(s.port, from('203.0.113.8'))).status).toBe(302);
    // An IPv6 client counts by its /64: another address of the same network shares it.
    expect((await send(s.port, from('2001:db8:1:2::1'))).status).toBe(302);
    expect((await send(s.port, from('2001:db8:1:2:ffff::9'))).status).toBe(302);
    expect429Page(await send(s.port, from('2001:db8:1:2::abcd')));
    expect((await send(s.port, from('2001:db8:1:3::1'))).status).toBe(302);
  });

  it('never limits the token, introspection, revocation, userinfo, JWKS or discovery endpoints', async () => {
    const s = await serve({ rateLimit: 2 });
    const auth = { authorization: basic(s.clientId, s.clientSecret) };
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(async () => agent.destroy());
    const hammer = (n: number, options: Parameters<typeof send>[1]) =>
      Promise.all(Array.from({ length: n }, () => send(s.port, { ...options, agent })));

    const tokens = await hammer(60, {
      method: 'POST',
      path: '/oauth2/token',
      headers: { ...auth, ...formType },
      body: form({ grant_type: 'client_credentials' }),
    });
    expect(tokens.map((r) => r.status)).toEqual(Array(60).fill(200));
    const bad = await hammer(20, {
      method: 'POST',
      path: '/apiToken.action',
      headers: formType,
      body: form({ grant_type: 'authorization_code', client_id: s.clientId, code: 'nope' }),
    });
    expect(bad.map((r) => r.status)).not.toContain(429);
    const accessToken = (JSON.parse(tokens[0]?.body ?? '{}') as { access_token: string }).access_token;
    for (const [path, extra] of [
      ['/oauth2/introspect', { method: 'POST', headers: { ...auth, ...formType }, body: form({ token: accessToken }) }],
      ['/oauth2/revoke', { method: 'POST', headers: { ...auth, ...formType }, body: form({ token: 'nope' }) }],
      ['/oauth2/userinfo', { headers: { authorization: `Bearer ${accessToken}` } }],
      ['/.well-known/jwks.json', {}],
      ['/.well-known/openid-configuration', {}],
      ['/.well-known/oauth-authorization-server', {}],
    ] as const) {
      const answers = await hammer(10, { path, ...extra });
      expect(
        answers.map((r) => r.status),
        path,
      ).not.toContain(429);
    }
  });

  it('with the defaults, lets 600 authorization requests from one address through at once', async () => {
    const s = await serve();
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    cleanups.push(async () => agent.destroy());
    const answers = await Promise.all(
      Array.from({ length: 600 }, () => send(s.port, { path: authorizePath(s.clientId), agent })),
    );
    expect(answers.filter((r) => r.status === 429)).toHaveLength(0);
    expect(new Set(answers.map((r) => r.status))).toEqual(new Set([302]));
  }, 60_000);
});

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

/** A raw connection; `closed` resolves when the server closes it. */
async function open(
  port: number,
  from = '127.0.0.1',
): Promise<{ socket: Socket; closed: Promise<void>; data: () => string }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  sockets.push(socket);
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, data: () => data };
}

/** Whether `closed` settles within `ms`. */
async function closesWithin(closed: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

/** Sends one keep-alive GET /healthz on a raw connection and waits for the answer. */
async function healthz(conn: Awaited<ReturnType<typeof open>>): Promise<void> {
  const before = conn.data().length;
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < 100 && !conn.data().slice(before).includes('\r\n\r\n'); i += 1) {
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(conn.data().slice(before)).toMatch(/^HTTP\/1\.1 200 /);
}

describe('connection caps', () => {
  it('refuses the connection over the cap from one address, not one from another address', async () => {
    const s = await serve({ connectionsPerAddress: 3 });
    // Three connections still sending their first request: none is idle.
    const held = await Promise.all([open(s.port), open(s.port), open(s.port)]);
    for (const h of held) h.socket.write('GET /healthz HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const over = await open(s.port);
    expect(await closesWithin(over.closed, 2000)).toBe(true);
    expect(over.data()).toBe('');
    // The held ones are untouched, and another address is served.
    for (const h of held) expect(h.socket.destroyed).toBe(false);
    const other = await open(s.port, '127.0.0.2');
    await healthz(other);
    expect(s.logs.filter((l) => l.event === 'connection_refused')).toHaveLength(1);
    // Once one closes, the address may connect again.
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await new Promise((r) => setTimeout(r, 50));
    await healthz(await open(s.port));
  });

  it('at the cap, closes an idle keep-alive connection of the address instead of refusing the new one', async () => {
    const s = await serve({ connectionsPerAddress: 2 });
    const idle = await open(s.port);
    await healthz(idle);
    const busy = await open(s.port);
    busy.socket.write('GET /healthz HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const next = await open(s.port);
    expect(await closesWithin(idle.closed, 2000)).toBe(true);
    await healthz(next);
    expect(busy.socket.destroyed).toBe(false);
  });

  it('does not cap connections from a trusted proxy', async () => {
    const s = await serve({ connectionsPerAddress: 2 }, ['127.0.0.1']);
    const fromProxy = await Promise.all([open(s.port), open(s.port), open(s.port), open(s.port)]);
    for (const c of fromProxy) await healthz(c);
    // An address that is not the proxy is still capped.
    const a = await open(s.port, '127.0.0.2');
    const b = await open(s.port, '127.0.0.2');
    a.socket.write('GET /healthz HTTP/1.1\r\n');
    b.socket.write('GET /healthz HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(await closesWithin((await open(s.port, '127.0.0.2')).closed, 2000)).toBe(true);
  });

  it('caps the connections in all', async () => {
    const s = await serve({ maxConnections: 3, connectionsPerAddress: 0 });
    await Promise.all([open(s.port), open(s.port, '127.0.0.2'), open(s.port, '127.0.0.3')]);
    await new Promise((r) => setTimeout(r, 50));
    const over = await open(s.port, '127.0.0.4');
    expect(await closesWithin(over.closed, 2000)).toBe(true);
    expect(s.logs.filter((l) => l.event === 'connection_refused')).toHaveLength(1);
  });
});
