/**
 * Behind a reverse proxy: with `--trust-proxy` the client address,
 * scheme and host come from X-Forwarded-For/-Proto/-Host — in the request log, in
 * Fastify's `request.ip/protocol/host`, and in a real route (the demo's own address) —
 * and only from the proxies trusted; without it they do not. Also: the values
 * `--trust-proxy` accepts, and the page and log line when the sign-in cookie does not
 * come back because of an http/https mix-up or a proxy.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/seed.js';
import { parseTrustProxy, resolveServerConfig, type TrustProxy } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { InvalidInputError } from '../../src/services/errors.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import { addClient, form, tempStore } from '../helpers/harness.js';
import { runCli } from '../helpers/server-process.js';

// ---------------------------------------------------------------------------------------
// An app built the way `serve` builds it, with a logger whose lines the test can read.
// ---------------------------------------------------------------------------------------

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface ProxiedApp {
  app: FastifyInstance;
  logs: LogLine[];
  /** The request log line (msg "request") of the last request to `route`. */
  requestLine: (route: string) => LogLine | undefined;
  close: () => Promise<void>;
}

const opened: ProxiedApp[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close()));
});

async function proxiedApp(
  trustProxy: TrustProxy | undefined,
  options: { issuer?: string; demo?: boolean } = {},
): Promise<ProxiedApp> {
  const { store, cleanup } = await tempStore();
  const config: AppConfig = {
    issuer: options.issuer ?? 'https://auth.example',
    demo: options.demo ?? false,
    lifetimes: DEFAULT_LIFETIMES,
    secret: randomBytes(32).toString('base64url'),
  };
  if (options.demo) await seedDemo(store, config.issuer, config.secret, Date.now());
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'info', base: undefined },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const app = await buildApp(config, store, { logger, ...(trustProxy !== undefined && { trustProxy }) });
  // A route of the test's own that shows what the routes see.
  app.get('/test/whoami', async (request) => ({
    ip: request.ip,
    ips: request.ips ?? [request.ip],
    protocol: request.protocol,
    host: request.host,
  }));
  if (!options.demo) await addClient(store, { id: 'proxied-app', redirectUris: ['https://app.example/cb'] });
  let closing: Promise<void> | undefined;
  const proxied: ProxiedApp = {
    app,
    logs,
    requestLine: (route) => logs.filter((l) => l.msg === 'request' && l.route === route).at(-1),
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await cleanup();
      })()),
  };
  opened.push(proxied);
  return proxied;
}

/** What the proxy in front says: the browser at 203.0.113.7 used https://auth.example. */
const FORWARDED = {
  'x-forwarded-for': '203.0.113.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'auth.example',
};

async function whoami(
  p: ProxiedApp,
  from: string,
  headers: Record<string, string> = FORWARDED,
): Promise<{ ip: string; ips: string[]; protocol: string; host: string }> {
  const res = await p.app.inject({
    method: 'GET',
    url: '/test/whoami',
    remoteAddress: from,
    headers: { host: 'tessera-1:9000', ...headers },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

// ---------------------------------------------------------------------------------------

describe('--trust-proxy values', () => {
  it('accepts true, false, a hop count, and lists of addresses, CIDR ranges and named ranges', () => {
    expect(parseTrustProxy(true)).toBe(true); // the bare flag
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('TRUE')).toBe(true);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy(' 2 ')).toBe(2);
    expect(parseTrustProxy('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.10,::1,fd00::/8')).toEqual([
      '10.0.0.0/8',
      '192.168.1.10',
      '::1',
      'fd00::/8',
    ]);
    expect(parseTrustProxy('loopback,uniquelocal')).toEqual(['loopback', 'uniquelocal']);
    expect(resolveServerConfig({}).trustProxy).toBe(false);
    expect(resolveServerConfig({ trustProxy: '127.0.0.1' }).trustProxy).toEqual(['127.0.0.1']);
  });

  it.each([
    'yes',
    '0',
    '101',
    '-1',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.1,',
    '10.0.0.300',
    'proxy.example',
    '10.0.0.0/8/1',
    '1.5',
  ])('refuses %j with one clear error', (value) => {
    expect(() => parseTrustProxy(value)).toThrow(InvalidInputError);
    expect(() => parseTrustProxy(value)).toThrow(/trust-proxy/);
  });

  it('tessera serve --trust-proxy with a bad value: one line on stderr, exit 2 (also from TESSERA_TRUST_PROXY)', () => {
    const flag = runCli(['serve', '--port', '0', '--trust-proxy', '10.0.0.0/33'], { db: 'sqlite::memory:' });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/^tessera: trust-proxy must be .*'10\.0\.0\.0\/33'.*\n$/);
    expect(flag.stderr.trim().split('\n')).toHaveLength(1);
    expect(flag.stdout).toBe('');

    const env = runCli(['serve', '--port', '0'], { db: 'sqlite::memory:', env: { TESSERA_TRUST_PROXY: 'sometimes' } });
    expect(env.status).toBe(2);
    expect(env.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^tessera: trust-proxy must be .*'sometimes'/),
    ]);
  });
});

describe('without --trust-proxy', () => {
  it('X-Forwarded-* are ignored: the address, scheme and host are the connection’s own, in routes and in the request log', async () => {
    const p = await proxiedApp(undefined);
    expect(await whoami(p, '10.0.0.2')).toEqual({
      ip: '10.0.0.2',
      ips: ['10.0.0.2'],
      protocol: 'http',
      host: 'tessera-1:9000',
    });
    expect(p.requestLine('/test/whoami')).toMatchObject({ ip: '10.0.0.2', method: 'GET', status: 200 });

    // A real endpoint's log line too.
    const res = await p.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.2', headers: FORWARDED });
    expect(res.statusCode).toBe(200);
    expect(p.requestLine('/healthz')).toMatchObject({ ip: '10.0.0.2', route: '/healthz' });
    expect(JSON.stringify(p.logs)).not.toContain('203.0.113.7');
  });
});

describe('with --trust-proxy', () => {
  it('true: every sender’s X-Forwarded-For/-Proto/-Host is believed', async () => {
    const p = await proxiedApp(true);
    expect(await whoami(p, '10.0.0.2')).toMatchObject({ ip: '203.0.113.7', protocol: 'https', host: 'auth.example' });
    expect(p.requestLine('/test/whoami')).toMatchObject({ ip: '203.0.113.7', status: 200 });
    const res = await p.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.2', headers: FORWARDED });
    expect(res.statusCode).toBe(200);
    expect(p.requestLine('/healthz')).toMatchObject({ ip: '203.0.113.7', route: '/healthz' });
  });

  it('a list: only the listed proxies are believed; a direct client cannot pretend', async () => {
    const p = await proxiedApp(parseTrustProxy('127.0.0.1,10.0.0.0/8'));
    expect(await whoami(p, '10.9.8.7')).toMatchObject({ ip: '203.0.113.7', protocol: 'https', host: 'auth.example' });
    expect(p.requestLine('/test/whoami')).toMatchObject({ ip: '203.0.113.7' });

    // Someone reaching Tessera directly, not through the proxy.
    expect(await whoami(p, '198.51.100.9')).toEqual({
      ip: '198.51.100.9',
      ips: ['198.51.100.9'],
      protocol: 'http',
      host: 'tessera-1:9000',
    });
    expect(p.requestLine('/test/whoami')).toMatchObject({ ip: '198.51.100.9' });

    // Through two trusted proxies: the first untrusted address from the right is the client;
    // what the client itself wrote in the header (a forged leftmost entry) is not believed.
    const chained = await whoami(p, '127.0.0.1', {
      ...FORWARDED,
      'x-forwarded-for': '192.0.2.66, 203.0.113.7, 10.1.2.3',
    });
    expect(chained.ip).toBe('203.0.113.7');
  });

  it('a hop count: only that many nearest proxies are believed', async () => {
    const headers = { ...FORWARDED, 'x-forwarded-for': '192.0.2.66, 203.0.113.7' };
    const one = await proxiedApp(1);
    expect(await whoami(one, '10.0.0.2', headers)).toMatchObject({
      ip: '203.0.113.7',
      protocol: 'https',
      host: 'auth.example',
    });
    expect(one.requestLine('/test/whoami')).toMatchObject({ ip: '203.0.113.7' });
    // One app (and its database) at a time.
    await one.close();
    const two = await proxiedApp(2);
    expect((await whoami(two, '10.0.0.2', headers)).ip).toBe('192.0.2.66');
  });

  it('a route that builds URLs from the request (the demo) sees the forwarded host, and not without trust', async () => {
    const start = async (p: ProxiedApp) => {
      const res = await p.app.inject({
        method: 'GET',
        url: '/demo/start?scope=PATIENT',
        remoteAddress: '127.0.0.1',
        // The proxy reaches the instance by an internal name; the person opened 127.0.0.1:9000.
        headers: {
          host: 'tessera-1:9000',
          'x-forwarded-host': '127.0.0.1:9000',
          'x-forwarded-proto': 'http',
          accept: 'text/html',
        },
      });
      expect(res.statusCode).toBe(200);
      const href = /href="(http[^"]*\/apiAuthorize\.action[^"]*)"/.exec(res.body)?.[1] ?? '';
      await p.close(); // one app (and its database) at a time
      return new URL(href.replace(/&amp;/g, '&'));
    };
    const behind = await start(await proxiedApp(['127.0.0.1'], { issuer: 'http://localhost:9000', demo: true }));
    expect(behind.origin).toBe('http://127.0.0.1:9000');
    expect(behind.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:9000/demo/callback');

    const untrusted = await start(await proxiedApp(undefined, { issuer: 'http://localhost:9000', demo: true }));
    expect(untrusted.origin).toBe('http://localhost:9000');
    expect(untrusted.searchParams.get('redirect_uri')).toBe('http://localhost:9000/demo/callback');
  });
});

describe('when the sign-in cookie does not come back', () => {
  /** Starts an authorization through the proxy; returns the sign-in page's path and the Set-Cookie header. */
  async function startAuthorization(p: ProxiedApp, headers: Record<string, string>) {
    const start = await p.app.inject({
      method: 'GET',
      url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: 'proxied-app', scope: 'PATIENT', state: 's' })}`,
      remoteAddress: '127.0.0.1',
      headers,
    });
    expect(start.statusCode).toBe(302);
    return { login: String(start.headers.location), setCookie: String(start.headers['set-cookie']) };
  }

  function problem(
    p: ProxiedApp,
    login: string,
    headers: Record<string, string>,
  ): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
    return p.app.inject({ method: 'GET', url: login, remoteAddress: '127.0.0.1', headers } as InjectOptions);
  }

  function warning(p: ProxiedApp): LogLine {
    const line = p.logs.filter((l) => l.level === 40 && l.msg.startsWith('sign-in cookie did not come back')).at(-1);
    expect(line).toBeDefined();
    return line as LogLine;
  }

  it('an https issuer opened over http through the proxy: the page says to use https, the log names the mix-up', async () => {
    const p = await proxiedApp(['127.0.0.1']);
    const http = { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'auth.example' };
    const { login, setCookie } = await startAuthorization(p, http);
    // Cookies stay Secure when the issuer is https, whatever the proxy says.
    expect(setCookie).toMatch(/tessera_browser=[^;]+;.*Secure/i);
    // The browser (on http) did not keep the Secure cookie, so it sends none back.
    const res = await problem(p, login, http);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Tessera could not recognise your browser');
    expect(res.body).toContain('only work over https');
    expect(res.body).toContain('https://auth.example');
    const line = warning(p);
    expect(line.msg).toMatch(/is https, so the cookie is Secure, but this request came over http/);
    expect(line).toMatchObject({ protocol: 'http', present: false, secureCookies: true });
  });

  it('a proxy that strips cookies: the log says no Cookie header arrived; the page asks to allow cookies', async () => {
    const p = await proxiedApp(['127.0.0.1']);
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example' };
    const { login } = await startAuthorization(p, https);
    const res = await problem(p, login, https);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Allow cookies for this site');
    expect(warning(p).msg).toMatch(/no Cookie header at all: .*a proxy in front strips the Cookie header/);
  });

  it('https at the proxy but --trust-proxy missing: the log says X-Forwarded-Proto is not believed', async () => {
    const p = await proxiedApp(undefined);
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example' };
    const { login } = await startAuthorization(p, https);
    const res = await problem(p, login, https);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('tell the site');
    expect(warning(p).msg).toMatch(/X-Forwarded-Proto.*not believed: start Tessera with --trust-proxy/);
  });

  it('with the cookie sent back through the proxy, the sign-in page opens', async () => {
    const p = await proxiedApp(['127.0.0.1']);
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example' };
    const { login, setCookie } = await startAuthorization(p, https);
    const cookie = (/tessera_browser=[^;]+/.exec(setCookie) as RegExpExecArray)[0];
    const res = await problem(p, login, { ...https, cookie });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Sign in');
  });
});
