/**
 * Key rotation across instances: two real `tessera serve` processes on one PostgreSQL
 * database agree on the first signing key, and after `tessera keys rotate` both publish
 * the new key at once (RFC 7517 §5 JWK Set read from the database) and both sign with it
 * within their key refresh interval (TESSERA_KEY_REFRESH_SECONDS, 2 s here; 30 s by
 * default, so within the minute). Tokens are RFC 9068 JWTs, verified with jose against
 * the other instance's JWK Set. Runs only when TESSERA_TEST_POSTGRES_URL is set; it makes
 * its own schema in that database and drops it after.
 */
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const SECRET = randomBytes(32).toString('base64url');
const REFRESH_SECONDS = 2;
const AUDIENCE = 'https://api.example/records';
const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'https://app.example/cb';
const env = { TESSERA_SECRET: SECRET, TESSERA_KEY_REFRESH_SECONDS: String(REFRESH_SECONDS) };

/** name=value pairs from Set-Cookie, sent back as a browser would. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function hiddenValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden input ${name} in page`);
  return match[1] as string;
}

describe.skipIf(!POSTGRES_URL)('key rotation across two instances on one PostgreSQL database', () => {
  const schema = `keys_${randomBytes(6).toString('hex')}`;
  const base = POSTGRES_URL as string;
  const db = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let client: CliClient;

  async function admin(query: string): Promise<void> {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(query);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    await admin(`create schema ${schema}`);
    const args = ['--audience', AUDIENCE];
    // Started together: both find no key, one makes the first.
    [a, b] = await Promise.all([startServer({ db, env, args }), startServer({ db, env, args })]);
    client = addClientWithCli(db, [
      '--name',
      'API caller',
      '--redirect-uri',
      REDIRECT_URI,
      '--access-token-format',
      'jwt',
    ]);
    addUserWithCli(db, { username: 'alice', password: PASSWORD, roles: ['PATIENT'] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await admin(`drop schema if exists ${schema} cascade`);
  });

  const auth = () => ({ authorization: basicAuth(client.client_id, client.client_secret as string) });

  /** Authorization request → sign-in → consent → code → tokens, at one instance. */
  async function codeFlow(server: ServerProcess): Promise<{ access_token: string; refresh_token: string }> {
    const jar = new Jar();
    const go = async (path: string, form?: Record<string, string>) => {
      const res = await fetch(new URL(path, server.baseUrl), {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          cookie: jar.header(),
          ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(form && { body: new URLSearchParams(form).toString() }),
      });
      jar.take(res);
      return { status: res.status, location: res.headers.get('location') ?? '', body: await res.text() };
    };
    const query = new URLSearchParams({ response_type: 'code', client_id: client.client_id, scope: 'PATIENT' });
    const start = await go(`/apiAuthorize.action?${query}`);
    const login = await go(start.location);
    const request = hiddenValue(login.body, 'request');
    const signedIn = await go('/login', {
      request,
      csrf: hiddenValue(login.body, 'csrf'),
      username: 'alice',
      password: PASSWORD,
    });
    const consent = await go(signedIn.location);
    const decided = await go('/consent', { request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' });
    const code = new URL(decided.location).searchParams.get('code');
    if (!code) throw new Error(`no code: ${decided.status} ${decided.location}`);
    return token(server, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
  }

  async function token(server: ServerProcess, form: Record<string, string>) {
    const res = await fetch(`${server.baseUrl}/apiToken.action`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
      body: new URLSearchParams(form).toString(),
    });
    if (res.status !== 200) throw new Error(`token request at ${server.baseUrl}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { access_token: string; refresh_token: string };
  }

  async function jwksKids(server: ServerProcess): Promise<string[]> {
    const res = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
  }

  /** Verifies `jwt` as an API that trusts `server` would (iss is the instance that issued it). */
  async function verifyWith(server: ServerProcess, issuer: ServerProcess, jwt: string) {
    const jwks = createRemoteJWKSet(new URL(`${server.baseUrl}/.well-known/jwks.json`));
    return jwtVerify(jwt, jwks, { issuer: issuer.baseUrl, audience: AUDIENCE, typ: 'at+jwt' });
  }

  it('both publish a rotated key at once and both sign with it within the refresh interval', async () => {
    const [sa, sb] = [a as ServerProcess, b as ServerProcess];
    // One first key, although both started at once.
    const [kidsA, kidsB] = [await jwksKids(sa), await jwksKids(sb)];
    expect(kidsA).toHaveLength(1);
    expect(kidsB).toEqual(kidsA);
    const first = kidsA[0] as string;

    // A refresh token chain per instance: each refresh is signed by that instance.
    const chains = new Map<ServerProcess, string>();
    for (const s of [sa, sb]) {
      const tokens = await codeFlow(s);
      expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ kid: first, alg: 'ES256', typ: 'at+jwt' });
      await verifyWith(s === sa ? sb : sa, s, tokens.access_token);
      chains.set(s, tokens.refresh_token);
    }
    const refresh = async (s: ServerProcess) => {
      const tokens = await token(s, { grant_type: 'refresh_token', refresh_token: chains.get(s) as string });
      chains.set(s, tokens.refresh_token);
      return tokens.access_token;
    };

    const rotated = runCli(['keys', 'rotate', '--alg', 'RS256', '--json'], { db, env });
    expect(rotated.status).toBe(0);
    const next = (JSON.parse(rotated.stdout) as { kid: string }).kid;
    const rotatedAt = Date.now();

    // Published at once by both, the previous key still beside it.
    for (const s of [sa, sb]) expect(await jwksKids(s)).toEqual([next, first]);

    // Each signs with the new key within the refresh interval (plus the time a request takes).
    for (const s of [sa, sb]) {
      let jwt = await refresh(s);
      while (decodeProtectedHeader(jwt).kid !== next) {
        expect(decodeProtectedHeader(jwt).kid).toBe(first);
        expect(Date.now() - rotatedAt).toBeLessThan(REFRESH_SECONDS * 1000 + 5_000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        jwt = await refresh(s);
      }
      expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'RS256', kid: next });
      const { payload } = await verifyWith(s === sa ? sb : sa, s, jwt);
      expect(payload).toMatchObject({ aud: AUDIENCE, client_id: client.client_id, scope: 'PATIENT' });
    }
    expect(Date.now() - rotatedAt).toBeLessThan(60_000);
  }, 90_000);
});
