/**
 * Test harness: a real SQLite file per test, the real app built by buildApp, and a
 * browserless driver for the sign-in and consent pages (cookies carried like a browser).
 * HTTP goes through Fastify's inject unless a test listens on a real port itself.
 */
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import type { TrustProxy } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { registerClient, type NewClient } from '../../src/services/clients.js';
import { addPerson } from '../../src/services/people.js';
import type { Provider } from '../../src/oauth/provider.js';
import { parseRole, ROLES } from '../../src/oauth/role-scope.js';
import { DEFAULT_LIFETIMES, newId, type Lifetimes } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { ClientRecord, PersonRecord } from '../../src/store/store.js';

export const ISSUER = 'http://tessera.test';
export const PASSWORD = 'correct horse battery';

/**
 * The engine the store and HTTP tests run on: SQLite always, PostgreSQL in the vitest
 * project that sets TESSERA_TEST_ENGINE=postgres (when TESSERA_TEST_POSTGRES_URL is set).
 */
export const TEST_ENGINE = process.env.TESSERA_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** A fresh, empty PostgreSQL schema in the test database: tests never see each other's rows. */
export async function tempPostgresUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TESSERA_TEST_POSTGRES_URL;
  if (!base) throw new Error('TESSERA_TEST_ENGINE=postgres needs TESSERA_TEST_POSTGRES_URL');
  const schema = `t_${randomBytes(8).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

/** A migrated store on a fresh database (SQLite file or PostgreSQL schema); `cleanup` closes and removes it. */
export async function tempStore(): Promise<{
  store: KyselyStore;
  url: string;
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const pgTemp = TEST_ENGINE === 'postgres' ? await tempPostgresUrl() : undefined;
  const url = pgTemp?.url ?? `sqlite:${join(dir, 'tessera.db')}`;
  const store = await openStore(url);
  return {
    store,
    url,
    dir,
    cleanup: async () => {
      await store.close().catch(() => undefined);
      await pgTemp?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  store: KyselyStore;
  config: AppConfig;
  /** The database URL, for a command run against the same database. */
  url: string;
  /** Moves the app's clock forward (ms). */
  advance: (ms: number) => void;
  close: () => Promise<void>;
}

export async function testApp(
  options: {
    demo?: boolean;
    lifetimes?: Partial<Lifetimes>;
    issuer?: string;
    issuerAliases?: string[];
    /** The `aud` of JWT access tokens; default the issuer. */
    audience?: string;
    /** What the protocol has; default the server's own (oauth/provider.ts). */
    provider?: (lifetimes: Lifetimes) => Provider;
    /** A logger whose lines the test reads; default none. */
    logger?: FastifyBaseLogger;
    /** `--trust-proxy`: then X-Forwarded-For sets a request's address. */
    trustProxy?: TrustProxy;
  } = {},
): Promise<TestApp> {
  const { store, url, cleanup } = await tempStore();
  const config: AppConfig = {
    issuer: options.issuer ?? ISSUER,
    demo: options.demo ?? false,
    lifetimes: { ...DEFAULT_LIFETIMES, ...options.lifetimes },
    secret: randomBytes(32).toString('base64url'),
    ...(options.issuerAliases && { issuerAliases: options.issuerAliases }),
    ...(options.audience && { audience: options.audience }),
  };
  let offset = 0;
  const app = await buildApp(config, store, {
    now: () => Date.now() + offset,
    ...(options.provider && { provider: options.provider(config.lifetimes) }),
    ...(options.logger && { logger: options.logger }),
    ...(options.trustProxy !== undefined && { trustProxy: options.trustProxy }),
  });
  return {
    app,
    store,
    config,
    url,
    advance: (ms) => {
      offset += ms;
    },
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}

export async function addClient(
  store: KyselyStore,
  input: Partial<NewClient> = {},
): Promise<{ client: ClientRecord; secret?: string }> {
  return registerClient(store, { name: 'Test App', redirectUris: ['https://app.example/cb'], ...input }, Date.now());
}

export async function addUser(
  store: KyselyStore,
  username: string,
  roles: string[],
  name?: string,
): Promise<PersonRecord> {
  return addPerson(store, { username, password: PASSWORD, roles, ...(name && { name }) }, Date.now());
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

export function form(values: Record<string, string | string[] | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  }
  return params.toString();
}

/** A cookie jar for inject: keeps name=value pairs from Set-Cookie. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: LightMyRequestResponse): void {
    for (const c of response.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now());
      if (expired || c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

export function hiddenValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden input ${name} in page`);
  return match[1] as string;
}

export interface PageFlowOptions {
  query: Record<string, string | undefined>;
  username?: string;
  password?: string;
  decision?: 'allow' | 'deny';
  /** The role to pick on the consent page (when several are offered). */
  scope?: string;
  jar?: CookieJar;
  /** How the authorization request is sent: GET with a query (default) or POST with a form. */
  authorizeMethod?: 'GET' | 'POST';
  /** The authorization endpoint path; default /apiAuthorize.action. */
  authorizePath?: string;
}

export interface PageFlowResult {
  /** The final Location the person is sent to (the client's redirect URI with the response). */
  location: string;
  status: number;
  /** Responses along the way, for assertions. */
  steps: LightMyRequestResponse[];
}

/**
 * Drives a person through /apiAuthorize.action → /login → /consent with real page
 * requests, as a browser without JavaScript would. Throws when a step does not lead on.
 */
export async function authorizeThroughPages(app: FastifyInstance, options: PageFlowOptions): Promise<PageFlowResult> {
  const jar = options.jar ?? new CookieJar();
  const steps: LightMyRequestResponse[] = [];
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
    jar.store(res);
    steps.push(res);
    return res;
  };
  const post = async (url: string, body: Record<string, string | undefined>) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(body),
    });
    jar.store(res);
    steps.push(res);
    return res;
  };

  const authorizePath = options.authorizePath ?? '/apiAuthorize.action';
  const start =
    options.authorizeMethod === 'POST'
      ? await post(authorizePath, options.query)
      : await get(`${authorizePath}?${form(options.query)}`);
  if (start.statusCode !== 302 || !String(start.headers.location).startsWith('/login')) {
    return { location: String(start.headers.location ?? ''), status: start.statusCode, steps };
  }
  const login = await get(String(start.headers.location));
  const request = hiddenValue(login.body, 'request');
  const csrf = hiddenValue(login.body, 'csrf');
  const signedIn = await post('/login', {
    request,
    csrf,
    username: options.username ?? 'alice',
    password: options.password ?? PASSWORD,
  });
  const next = String(signedIn.headers.location ?? '');
  if (signedIn.statusCode !== 303 || !next.startsWith('/consent')) {
    return { location: next, status: signedIn.statusCode, steps };
  }
  const consent = await get(next);
  if (consent.statusCode !== 200)
    return { location: String(consent.headers.location ?? ''), status: consent.statusCode, steps };
  const decided = await post('/consent', {
    request,
    csrf: hiddenValue(consent.body, 'csrf'),
    decision: options.decision ?? 'allow',
    scope: options.scope,
  });
  return { location: String(decided.headers.location ?? ''), status: decided.statusCode, steps };
}

/** The response parameters of a redirect: from the query, or the fragment. */
export function responseParams(location: string, mode: 'query' | 'fragment' = 'query'): URLSearchParams {
  const url = new URL(location);
  return new URLSearchParams(mode === 'query' ? url.search : url.hash.slice(1));
}

// ---------------------------------------------------------------------------------------
// Additions for the HTTP suite (test/http/*)
// ---------------------------------------------------------------------------------------

export interface TokenCallOptions {
  /** The Authorization header, e.g. basic(id, secret). */
  authorization?: string;
  /** Default application/x-www-form-urlencoded. */
  contentType?: string;
  /** Default /apiToken.action. */
  url?: string;
  /** A raw body instead of form(body). */
  payload?: string;
}

/** POSTs a token request (form-encoded body; arrays repeat a parameter). */
export async function postToken(
  app: FastifyInstance,
  body: Record<string, string | string[] | undefined>,
  options: TokenCallOptions = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: options.url ?? '/apiToken.action',
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      ...(options.authorization !== undefined && { authorization: options.authorization }),
    },
    payload: options.payload ?? form(body),
  });
}

/**
 * Runs the pages with `options` and returns the code from the final redirect; throws
 * when the flow did not end with a code (so a broken flow fails loudly, not later).
 */
export async function codeThroughPages(app: FastifyInstance, options: PageFlowOptions): Promise<string> {
  const flow = await authorizeThroughPages(app, options);
  const code = flow.location.includes('?') ? responseParams(flow.location).get('code') : null;
  if (flow.status !== 303 || !code) throw new Error(`no code: ${flow.status} ${flow.location}`);
  return code;
}

export interface LoginStart {
  jar: CookieJar;
  /** The response of the authorization endpoint (302 to /login). */
  start: LightMyRequestResponse;
  /** The sign-in page. */
  login: LightMyRequestResponse;
  /** The pending authorization's id and the page's CSRF token (hidden inputs). */
  request: string;
  csrf: string;
}

/** Sends an authorization request from a browser (`jar`) and opens the sign-in page it leads to. */
export async function openLogin(
  app: FastifyInstance,
  query: Record<string, string | undefined>,
  jar: CookieJar = new CookieJar(),
): Promise<LoginStart> {
  const start = await app.inject({
    method: 'GET',
    url: `/apiAuthorize.action?${form(query)}`,
    headers: { cookie: jar.header() },
  });
  jar.store(start);
  const location = String(start.headers.location ?? '');
  if (start.statusCode !== 302 || !location.startsWith('/login?')) {
    throw new Error(`authorization request did not lead to sign-in: ${start.statusCode} ${location}`);
  }
  const login = await app.inject({ method: 'GET', url: location, headers: { cookie: jar.header() } });
  jar.store(login);
  return { jar, start, login, request: hiddenValue(login.body, 'request'), csrf: hiddenValue(login.body, 'csrf') };
}

/** A form POST from a browser (`jar`); the jar keeps the cookies it sets. */
export async function postPage(
  app: FastifyInstance,
  url: string,
  body: Record<string, string | string[] | undefined>,
  jar: CookieJar,
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form(body),
  });
  jar.store(res);
  return res;
}

/** A page GET from a browser (`jar`); the jar keeps the cookies it sets. */
export async function getPage(app: FastifyInstance, url: string, jar: CookieJar): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  jar.store(res);
  return res;
}

let cheapPasswordHash: string | undefined;

/**
 * PASSWORD hashed in the stored format of src/oauth/passwords.ts
 * (`scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`) but with N = 2^10 instead of 2^15. The format
 * carries its own parameters, so signing in runs the very same verifyPassword code path,
 * only about 30 times faster. For suites that sign in many times.
 */
function cheapHashOfPassword(): string {
  if (cheapPasswordHash === undefined) {
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD.normalize('NFKC'), salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    cheapPasswordHash = ['scrypt', 10, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
  }
  return cheapPasswordHash;
}

/**
 * Like addUser (same PASSWORD, same record), but with a cheap scrypt hash (see
 * cheapHashOfPassword): creating the person costs nothing and signing in is fast.
 */
export async function addTestUser(
  store: KyselyStore,
  username: string,
  roles: string[],
  name?: string,
): Promise<PersonRecord> {
  const person: PersonRecord = {
    id: newId(),
    username,
    displayName: name ?? username,
    passwordHash: cheapHashOfPassword(),
    email: null,
    roles: ROLES.filter((role) =>
      roles
        .map((r) => {
          const parsed = parseRole(r);
          if (!parsed) throw new Error(`unknown role ${r}`);
          return parsed;
        })
        .includes(role),
    ),
    createdAt: Date.now(),
    disabledAt: null,
  };
  if (!(await store.createPerson(person))) throw new Error(`user ${username} exists`);
  return person;
}

/**
 * Counts one sign-in attempt under `key` (a username's count, with an address's count
 * beside it) through the store's read-decide-write, with no wait ever; the username's
 * count after it. For tests that need counts in the store, not the throttle's policy.
 */
export function countSignInAttempt(
  store: Pick<KyselyStore, 'updateSignInCounts'>,
  key: string,
  now: number,
  windowMs: number,
): Promise<number> {
  return store.updateSignInCounts({ address: `${key} from an address`, username: key }, now, windowMs, (counts) => {
    const next = (c: { failures: number }) => ({ failures: c.failures + 1, waitUntil: 0 });
    const write = { address: next(counts.address), username: next(counts.username) };
    return { write, result: write.username.failures };
  });
}
