/**
 * RFC 9068 JWT access tokens end to end: a client registered for JWTs gets tokens that
 * an API verifies with nothing but the JWK Set (jose's remote key set on a real port);
 * the token is still a credential of its grant at /api/v1/me; opaque clients see no
 * change. Runs on SQLite and PostgreSQL.
 */
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotateKey } from '../../src/services/keys.js';
import { keySealer } from '../../src/oauth/key-seal.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import type { PersonRecord } from '../../src/store/store.js';
import {
  addClient,
  addTestUser,
  authorizeThroughPages,
  basic,
  codeThroughPages,
  ISSUER,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const OPAQUE = /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/;

let t: TestApp;
let base: string;
let alice: PersonRecord;
/** How far the test has moved the app's clock (ms): jose verifies `exp` at that time too. */
let offset: number;

async function start(options: { audience?: string } = {}) {
  t = await testApp(options);
  offset = 0;
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  alice = await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
}

function advance(ms: number) {
  offset += ms;
  t.advance(ms);
}

afterEach(async () => {
  await t.close();
});

/** Verifies as an API would: the JWK Set fetched from the server, RFC 9068 §4's checks. */
async function verify(token: string, audience = ISSUER) {
  // A fresh key set each time: jose's own would not fetch again within its cool-down.
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  return jwtVerify(token, jwks, {
    issuer: ISSUER,
    audience,
    typ: 'at+jwt',
    currentDate: new Date(Date.now() + offset),
  });
}

async function me(token: string) {
  return t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
}

async function jwtClient(extra: Parameters<typeof addClient>[1] = {}) {
  const { client, secret } = await addClient(t.store, { accessTokenFormat: 'jwt', ...extra });
  return { client, auth: { authorization: basic(client.id, secret as string) } };
}

async function codeFlow(clientId: string, auth: { authorization: string }) {
  const code = await codeThroughPages(t.app, { query: { response_type: 'code', client_id: clientId } });
  const res = await postToken(t.app, { grant_type: 'authorization_code', code }, auth);
  expect(res.statusCode).toBe(200);
  return { code, body: res.json() as { access_token: string; refresh_token: string; expires_in: number } };
}

describe('JWT access tokens (RFC 9068)', () => {
  beforeEach(async () => {
    await start();
  });

  it('the code flow gives a JWT an API verifies with the JWK Set, with the claims of RFC 9068 §2.2', async () => {
    const { client, auth } = await jwtClient();
    const { body } = await codeFlow(client.id, auth);
    const { payload, protectedHeader } = await verify(body.access_token);
    expect(protectedHeader).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
    expect(payload).toMatchObject({ iss: ISSUER, aud: ISSUER, sub: alice.id, client_id: client.id, scope: 'PATIENT' });
    expect(payload.exp).toBe((payload.iat as number) + body.expires_in);
    expect(Math.abs((payload.iat as number) * 1000 - Date.now())).toBeLessThan(5_000);

    // Stored like an opaque token: by its hash, with its jti and format.
    const found = await t.store.findAccessToken(hashSecret(body.access_token));
    expect(found?.token).toMatchObject({ format: 'jwt', jti: payload.jti, scope: 'PATIENT' });
    expect(found?.token.expiresAt).toBe((found?.token.createdAt ?? 0) + 600_000);

    const res = await me(body.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ sub: payload.sub, username: 'alice', client_id: client.id, scope: 'PATIENT' });
  });

  it('publishes the keys at jwks_uri: public parts only, cacheable for at most 5 minutes, for any origin', async () => {
    const { client, auth } = await jwtClient();
    const { body } = await codeFlow(client.id, auth);
    const meta = (await t.app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
    expect(meta.jwks_uri).toBe(`${ISSUER}/.well-known/jwks.json`);
    const res = await t.app.inject({ url: '/.well-known/jwks.json', headers: { origin: 'https://spa.example' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/(jwk-set\+)?json/);
    const maxAge = /^public, max-age=(\d+)$/.exec(String(res.headers['cache-control']));
    expect(Number(maxAge?.[1])).toBeGreaterThan(0);
    expect(Number(maxAge?.[1])).toBeLessThanOrEqual(300);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const { keys } = res.json() as { keys: Array<Record<string, unknown>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: decodeProtectedHeader(body.access_token).kid,
    });
    expect(res.body).not.toMatch(/"(d|p|q|dp|dq|qi)"\s*:/);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/.well-known/jwks.json',
      headers: { origin: 'https://spa.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(204);
  });

  it('a refresh gives a new JWT; presenting the old refresh token again ends both at /api/v1/me', async () => {
    const { client, auth } = await jwtClient();
    const { body } = await codeFlow(client.id, auth);
    const refreshed = await postToken(t.app, { grant_type: 'refresh_token', refresh_token: body.refresh_token }, auth);
    expect(refreshed.statusCode).toBe(200);
    const next = refreshed.json().access_token as string;
    const [first, second] = [(await verify(body.access_token)).payload, (await verify(next)).payload];
    expect(second.jti).not.toBe(first.jti);
    expect(second).toMatchObject({ sub: alice.id, client_id: client.id, scope: 'PATIENT' });
    expect((await me(next)).statusCode).toBe(200);

    const reuse = await postToken(t.app, { grant_type: 'refresh_token', refresh_token: body.refresh_token }, auth);
    expect(reuse.statusCode).toBe(400);
    // Still validly signed, but its grant has ended (RFC 9700 §4.14.2).
    await verify(next);
    expect((await me(next)).statusCode).toBe(401);
    expect((await me(body.access_token)).statusCode).toBe(401);
  });

  it('a replayed code ends the JWT issued from it (RFC 6749 §4.1.2)', async () => {
    const { client, auth } = await jwtClient();
    const { code, body } = await codeFlow(client.id, auth);
    expect((await me(body.access_token)).statusCode).toBe(200);
    expect((await postToken(t.app, { grant_type: 'authorization_code', code }, auth)).statusCode).toBe(400);
    expect((await me(body.access_token)).statusCode).toBe(401);
  });

  it('a disabled person or a removed client ends their JWTs', async () => {
    const { client, auth } = await jwtClient();
    const forPerson = (await codeFlow(client.id, auth)).body.access_token;
    await t.store.setPersonDisabled('alice', Date.now());
    expect((await me(forPerson)).statusCode).toBe(401);

    await addTestUser(t.store, 'bob', ['PATIENT']);
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id },
      username: 'bob',
    });
    const forClient = (await postToken(t.app, { grant_type: 'authorization_code', code }, auth)).json().access_token;
    expect((await me(forClient)).statusCode).toBe(200);
    await t.store.removeClient(client.id);
    expect((await me(forClient)).statusCode).toBe(401);
  });

  it('the implicit grant gives a JWT client a JWT in the fragment', async () => {
    const { client } = await addClient(t.store, { accessTokenFormat: 'jwt', grants: ['implicit'], public: true });
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'token', client_id: client.id } });
    const token = responseParams(flow.location, 'fragment').get('access_token') as string;
    const { payload } = await verify(token);
    expect(payload).toMatchObject({ sub: alice.id, client_id: client.id, scope: 'PATIENT' });
    expect((await me(token)).statusCode).toBe(200);
  });

  it('opaque clients are unchanged', async () => {
    const { client, secret } = await addClient(t.store);
    const { body } = await codeFlow(client.id, { authorization: basic(client.id, secret as string) });
    expect(body.access_token).toMatch(OPAQUE);
    expect((await t.store.findAccessToken(hashSecret(body.access_token)))?.token).toMatchObject({
      format: 'opaque',
      jti: null,
    });
    expect((await me(body.access_token)).statusCode).toBe(200);
  });

  it('signs with an RS256, then an EdDSA key once rotated; the previous key stays published', async () => {
    const { client, auth } = await jwtClient();
    const before = (await codeFlow(client.id, auth)).body.access_token;
    const seen: JWTPayload[] = [];
    for (const alg of ['RS256', 'EdDSA']) {
      const key = await rotateKey(t.store, alg, keySealer(undefined), Date.now() + offset);
      // Instances read the keys again within 30 s (the default refresh interval).
      advance(30_000);
      const token = (await codeFlow(client.id, auth)).body.access_token;
      expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid: key.kid, typ: 'at+jwt' });
      const { payload } = await verify(token);
      seen.push(payload);
      expect((await me(token)).statusCode).toBe(200);
    }
    expect(seen).toHaveLength(2);
    // The first (ES256) token still verifies: its key was retired less than its lifetime ago.
    await verify(before);
    const { keys } = (await t.app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: Array<{ alg: string }> };
    expect(keys.map((k) => k.alg)).toEqual(['EdDSA', 'RS256', 'ES256']);
  });
});

describe('the audience of JWT access tokens', () => {
  it('is the configured audience, and a token for it does not pass as one for the issuer', async () => {
    await start({ audience: 'https://api.example/records' });
    const { client, auth } = await jwtClient();
    const token = (await codeFlow(client.id, auth)).body.access_token;
    const { payload } = await verify(token, 'https://api.example/records');
    expect(payload.aud).toBe('https://api.example/records');
    await expect(verify(token, ISSUER)).rejects.toThrow(/aud/);
  });
});
