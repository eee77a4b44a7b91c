/**
 * The OpenID Foundation's Basic OP conformance modules that ID tokens, keys, discovery
 * and UserInfo cover, one test each, named after the module and asserting what it
 * asserts (OpenID Connect Core 1.0, Discovery 1.0), on the real app: tokens verified with
 * jose against the published JWK Set, the clock moved by the harness instead of waiting.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atHash } from '../../src/oauth/id-token.js';
import { keySealer } from '../../src/oauth/key-seal.js';
import { rotateKey } from '../../src/services/keys.js';
import type { PersonRecord } from '../../src/store/store.js';
import { authorizeThroughPages, form, pkcePair, responseParams, testApp, type TestApp } from '../helpers/harness.js';
import {
  addOpenIdClient,
  addOpenIdPerson,
  CB,
  openIdCode,
  openIdTokens,
  redeem,
  refresh,
  type OpenIdTokens,
} from '../helpers/openid.js';

let t: TestApp;
let alice: PersonRecord;
let rp: Awaited<ReturnType<typeof addOpenIdClient>>;
beforeEach(async () => {
  t = await testApp();
  alice = await addOpenIdPerson(t.store);
  rp = await addOpenIdClient(t.store);
});
afterEach(async () => {
  await t.close();
});

/** Core §3.1.3.7: signature with the published keys, iss, aud, exp, iat; the payload. */
async function validIdToken(tokens: OpenIdTokens): Promise<JWTPayload> {
  expect(tokens.id_token).toBeDefined();
  const jwks = createLocalJWKSet((await t.app.inject({ url: '/.well-known/jwks.json' })).json());
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token as string, jwks, {
    issuer: t.config.issuer,
    audience: rp.client.id,
    algorithms: ['RS256'],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
  });
  expect(protectedHeader.kid).toBeDefined();
  // §3.1.3.8: at_hash, when present, is the access token's.
  if (payload.at_hash !== undefined) expect(payload.at_hash).toBe(atHash(tokens.access_token, 'RS256'));
  return payload;
}

const userinfo = (token: string, method: 'GET' | 'POST' = 'GET') =>
  t.app.inject({ method, url: '/oauth2/userinfo', headers: { authorization: `Bearer ${token}` } });

/** An authorization request that must come back to the client with `error` (Core §3.1.2.6). */
async function errorRedirect(query: Record<string, string | undefined>): Promise<URLSearchParams> {
  const res = await t.app.inject({
    url: `/apiAuthorize.action?${form({ client_id: rp.client.id, state: 'st-1', ...query })}`,
  });
  expect(res.statusCode).toBe(302);
  const location = String(res.headers.location);
  expect(location.startsWith(`${CB}?`)).toBe(true);
  const params = responseParams(location);
  expect(params.get('state')).toBe('st-1');
  return params;
}

describe('OpenID Foundation Basic OP modules', () => {
  it('oidcc-server: a code flow gives a valid ID token with sub, nonce and at_hash', async () => {
    const payload = await validIdToken(await openIdTokens(t.app, rp, { nonce: 'n-server' }));
    expect(payload).toMatchObject({ sub: alice.id, nonce: 'n-server' });
    expect(payload.at_hash).toBeDefined();
  });

  it('oidcc-response-type-missing: an error back to the client, never a code', async () => {
    const params = await errorRedirect({ scope: 'openid', redirect_uri: CB, nonce: 'n' });
    expect(['invalid_request', 'unsupported_response_type']).toContain(params.get('error'));
    expect(params.has('code')).toBe(false);
  });

  it('oidcc-userinfo-get: UserInfo by GET with the bearer header names the ID token’s sub', async () => {
    const tokens = await openIdTokens(t.app, rp);
    const res = await userinfo(tokens.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.json().sub).toBe((await validIdToken(tokens)).sub);
  });

  it('oidcc-userinfo-post-header: UserInfo by POST with the bearer header names the ID token’s sub', async () => {
    const tokens = await openIdTokens(t.app, rp);
    const res = await userinfo(tokens.access_token, 'POST');
    expect(res.statusCode).toBe(200);
    expect(res.json().sub).toBe((await validIdToken(tokens)).sub);
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce sent, none in the ID token', async () => {
    const payload = await validIdToken(await openIdTokens(t.app, rp, { nonce: undefined }));
    expect(payload).not.toHaveProperty('nonce');
  });

  it('oidcc-scope-profile: the profile claims in the ID token and at UserInfo', async () => {
    const tokens = await openIdTokens(t.app, rp, { scope: 'openid profile' });
    const expected = { name: 'alice Example', preferred_username: 'alice' };
    expect(await validIdToken(tokens)).toMatchObject(expected);
    const info = (await userinfo(tokens.access_token)).json();
    expect(info).toEqual({ sub: alice.id, ...expected });
  });

  it('oidcc-scope-email: the email claims in the ID token and at UserInfo', async () => {
    const tokens = await openIdTokens(t.app, rp, { scope: 'openid email' });
    const expected = { email: 'alice@example.org', email_verified: false };
    expect(await validIdToken(tokens)).toMatchObject(expected);
    expect((await userinfo(tokens.access_token)).json()).toEqual({ sub: alice.id, ...expected });
  });

  it('oidcc-codereuse: a code used twice is invalid_grant the second time', async () => {
    const flow = await openIdCode(t.app, rp.client);
    expect((await redeem(t.app, rp, flow)).statusCode).toBe(200);
    const again = await redeem(t.app, rp, flow);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('oidcc-codereuse-30seconds: replayed after 30 s, invalid_grant, and the first tokens are revoked', async () => {
    const flow = await openIdCode(t.app, rp.client);
    const first = await redeem(t.app, rp, flow);
    const tokens = first.json() as OpenIdTokens;
    expect((await userinfo(tokens.access_token)).statusCode).toBe(200);
    t.advance(30_000);
    const again = await redeem(t.app, rp, flow);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(tokens.access_token)).statusCode).toBe(401);
    expect((await refresh(t.app, rp, tokens.refresh_token as string)).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri is an error page, never a redirect', async () => {
    const res = await t.app.inject({
      url: `/apiAuthorize.action?${form({
        response_type: 'code',
        client_id: rp.client.id,
        scope: 'openid',
        redirect_uri: 'https://attacker.example/cb',
        nonce: 'n',
      })}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
  });

  it('oidcc-server-rotate-keys: after keys rotate, new ID tokens carry a new kid found in the JWK Set', async () => {
    const before = decodeProtectedHeader((await openIdTokens(t.app, rp)).id_token as string).kid;
    await rotateKey(t.store, 'ES256', keySealer(undefined), Date.now());
    t.advance(31_000); // every instance reads the keys again within 30 s
    const tokens = await openIdTokens(t.app, rp);
    const kid = decodeProtectedHeader(tokens.id_token as string).kid;
    expect(kid).toBeDefined();
    expect(kid).not.toBe(before);
    const published = (await t.app.inject({ url: '/.well-known/jwks.json' })).json() as {
      keys: Array<{ kid: string }>;
    };
    expect(published.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, before]));
    await validIdToken(tokens);
  });

  it('oidcc-refresh-token: a refresh gives a new ID token for the same person, and its access token works', async () => {
    const tokens = await openIdTokens(t.app, rp, { nonce: 'n-refresh' });
    const original = await validIdToken(tokens);
    t.advance(1_000);
    const res = await refresh(t.app, rp, tokens.refresh_token as string);
    expect(res.statusCode).toBe(200);
    const next = res.json() as OpenIdTokens;
    const renewed = await validIdToken(next);
    for (const claim of ['iss', 'sub', 'aud', 'auth_time'] as const) expect(renewed[claim]).toEqual(original[claim]);
    expect(renewed.iat).toBeGreaterThan(original.iat as number);
    expect((await userinfo(next.access_token)).json().sub).toBe(alice.id);
  });

  it('oidcc-ensure-post-request-succeeds: an authorization request sent by POST', async () => {
    const { verifier, challenge } = pkcePair();
    const flow = await authorizeThroughPages(t.app, {
      authorizeMethod: 'POST',
      query: {
        response_type: 'code',
        client_id: rp.client.id,
        scope: 'openid',
        nonce: 'n-post',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    const code = responseParams(flow.location).get('code') as string;
    const res = await redeem(t.app, rp, { code, verifier });
    expect(res.statusCode).toBe(200);
    expect(await validIdToken(res.json() as OpenIdTokens)).toMatchObject({ nonce: 'n-post' });
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request_not_supported', async () => {
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url'),
      Buffer.from(JSON.stringify({ client_id: rp.client.id, response_type: 'code', scope: 'openid' })).toString(
        'base64url',
      ),
      '',
    ].join('.');
    const params = await errorRedirect({ response_type: 'code', scope: 'openid', request: unsigned });
    expect(params.get('error')).toBe('request_not_supported');
  });

  it('oidcc-claims-essential: a claims parameter is accepted and ignored; the configuration says so', async () => {
    const claims = JSON.stringify({ userinfo: { name: { essential: true } } });
    const tokens = await openIdTokens(t.app, rp, { scope: 'openid profile', claims });
    await validIdToken(tokens);
    expect((await userinfo(tokens.access_token)).json()).toMatchObject({ sub: alice.id, name: 'alice Example' });
    const config = (await t.app.inject({ url: '/.well-known/openid-configuration' })).json();
    expect(config.claims_parameter_supported).toBe(false);
  });

  it.each(['id_token', 'code id_token', 'id_token token', 'code id_token token'])(
    'response_type=%s is unsupported_response_type',
    async (responseType) => {
      const params = await errorRedirect({ response_type: responseType, scope: 'openid', nonce: 'n' });
      expect(params.get('error')).toBe('unsupported_response_type');
    },
  );
});
