/**
 * A certified relying-party library against a real port: openid-client v6 discovers
 * Tessera (OpenID Connect Discovery 1.0), runs the code flow with PKCE, state and nonce
 * and validates the ID token as strictly as against any provider (Core §3.1.3.7), fetches
 * UserInfo (§5.3) and refreshes (§12.2); jose verifies each ID token with the remote JWK
 * Set. ES256 and EdDSA clients get ID tokens in their algorithm; a PKB client that does
 * not ask for `openid` gets exactly the token response it always had.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PersonRecord } from '../../src/store/store.js';
import { authorizeThroughPages, basic, testApp, type TestApp } from '../helpers/harness.js';
import { addOpenIdClient, addOpenIdPerson, CB } from '../helpers/openid.js';

let t: TestApp;
let base: string;
let alice: PersonRecord;
beforeEach(async () => {
  t = await testApp();
  alice = await addOpenIdPerson(t.store);
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  // The issuer is the address the library reaches: it checks the document's issuer against it (Discovery §4.3).
  t.config.issuer = base;
});
afterEach(async () => {
  await t.close();
});

async function relyingParty(idTokenAlg?: string): Promise<oidc.Configuration> {
  const rp = await addOpenIdClient(t.store, { ...(idTokenAlg && { idTokenAlg }) });
  return oidc.discovery(
    new URL(base),
    rp.client.id,
    { redirect_uris: [CB], ...(idTokenAlg && { id_token_signed_response_alg: idTokenAlg }) },
    oidc.ClientSecretBasic(rp.secret),
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** The code flow as the library drives it; the person signs in on the pages. */
async function signIn(config: oidc.Configuration, scope = 'openid profile email') {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CB,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const flow = await authorizeThroughPages(t.app, { query: Object.fromEntries(url.searchParams) });
  const tokens = await oidc.authorizationCodeGrant(config, new URL(flow.location), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  return { tokens, nonce };
}

const verifyWithJwks = (config: oidc.Configuration, idToken: string) =>
  jwtVerify(idToken, createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string)), {
    issuer: base,
    audience: config.clientMetadata().client_id,
    typ: 'JWT',
  });

describe('openid-client against Tessera', () => {
  it('discovers the OpenID Provider configuration', async () => {
    const meta = (await relyingParty()).serverMetadata();
    expect(meta).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/apiAuthorize.action`,
      token_endpoint: `${base}/apiToken.action`,
      userinfo_endpoint: `${base}/oauth2/userinfo`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      subject_types_supported: ['public'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(meta.id_token_signing_alg_values_supported).toContain('RS256');
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
  });

  it('signs in with PKCE, nonce and state; fetches UserInfo; refreshes to a new ID token with the same sub and auth_time', async () => {
    const config = await relyingParty();
    const { tokens, nonce } = await signIn(config);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: base,
      sub: alice.id,
      aud: config.clientMetadata().client_id,
      nonce,
      name: 'alice Example',
      preferred_username: 'alice',
      email: 'alice@example.org',
      email_verified: false,
    });
    expect(typeof claims?.auth_time).toBe('number');
    expect(typeof claims?.sid).toBe('string');
    expect(decodeProtectedHeader(tokens.id_token as string)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect((await verifyWithJwks(config, tokens.id_token as string)).payload.sub).toBe(alice.id);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, alice.id);
    expect(info).toEqual({
      sub: alice.id,
      name: 'alice Example',
      preferred_username: 'alice',
      email: 'alice@example.org',
      email_verified: false,
    });

    t.advance(2_000);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    const again = refreshed.claims();
    expect(again?.sub).toBe(alice.id);
    expect(again?.auth_time).toBe(claims?.auth_time);
    expect(again).not.toHaveProperty('nonce');
    expect(refreshed.id_token).not.toBe(tokens.id_token);
    expect((await verifyWithJwks(config, refreshed.id_token as string)).payload.auth_time).toBe(claims?.auth_time);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it.each(['ES256', 'EdDSA'])('a client registered with --id-token-alg %s gets ID tokens signed so', async (alg) => {
    const config = await relyingParty(alg);
    const { tokens } = await signIn(config, 'openid');
    expect(decodeProtectedHeader(tokens.id_token as string).alg).toBe(alg);
    const { payload, protectedHeader } = await verifyWithJwks(config, tokens.id_token as string);
    expect(payload.sub).toBe(alice.id);
    expect(protectedHeader.alg).toBe(alg);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(decodeProtectedHeader(refreshed.id_token as string).alg).toBe(alg);
  });

  it('a PKB client that does not ask for openid gets no id_token and the response it always had', async () => {
    const { client, secret } = await addOpenIdClient(t.store, { scopes: ['PATIENT'] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: client.id, scope: 'PATIENT', state: 'xyz' },
    });
    const code = new URL(flow.location).searchParams.get('code') as string;
    const res = await fetch(`${base}/apiToken.action`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, secret) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const text = await res.text();
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'access_token',
      'token_type',
      'expires_in',
      'refresh_token',
      'scope',
    ]);
    expect(JSON.parse(text)).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'PATIENT' });
    expect(text).toMatch(
      /^\{"access_token":"[^"]+","token_type":"Bearer","expires_in":600,"refresh_token":"[^"]+","scope":"PATIENT"\}$/,
    );
  });
});
