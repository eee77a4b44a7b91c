/**
 * GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3, §4): the RFC 8414
 * document with the same value for every member they share — endpoint lines included,
 * whatever endpoint brings them — plus the OpenID Provider's members; built per request,
 * cacheable, readable from any origin. Without ID tokens a provider has none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizationEndpoint, discoveryEndpoint, tokenEndpoint, type Endpoint } from '../../src/oauth/endpoints.js';
import { authorizationCodeGrant } from '../../src/oauth/grants/authorization-code.js';
import type { IdTokenIssuer } from '../../src/oauth/id-token.js';
import { composeProvider, defaultProvider } from '../../src/oauth/provider.js';
import { codeResponseType } from '../../src/oauth/response-types/code.js';
import { ROLES } from '../../src/oauth/role-scope.js';
import { opaqueAccessTokens } from '../../src/oauth/token-service.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import { ISSUER, testApp, type TestApp } from '../helpers/harness.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
  await t.store.createApiScope({ name: 'records.read', description: 'Read records', createdAt: Date.now() });
});
afterEach(async () => {
  await t.close();
});

const fetchJson = async (url: string) => {
  const res = await t.app.inject({ url, headers: { origin: 'https://spa.example' } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['access-control-allow-origin']).toBe('*');
  expect(res.headers['cache-control']).toBe('public, max-age=300');
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  return res.json() as Record<string, unknown>;
};

describe('the OpenID Provider configuration', () => {
  it('is the RFC 8414 document plus the OpenID members, with the same values for the members they share', async () => {
    const oauth = await fetchJson('/.well-known/oauth-authorization-server');
    const openid = await fetchJson('/.well-known/openid-configuration');
    for (const [member, value] of Object.entries(oauth)) {
      if (member !== 'scopes_supported') expect({ [member]: openid[member] }).toEqual({ [member]: value });
    }
    // The roles, the OpenID scopes, then the registered API scopes.
    expect(openid.scopes_supported).toEqual([...ROLES, 'openid', 'profile', 'email', 'records.read']);
    expect(oauth.scopes_supported).toEqual([...ROLES, 'records.read']);
    expect(openid).toMatchObject({
      issuer: ISSUER,
      userinfo_endpoint: `${ISSUER}/oauth2/userinfo`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
    });
    expect(openid.response_types_supported).toContain('code');
    expect(openid.claims_supported).toEqual(
      expect.arrayContaining(['sub', 'iss', 'auth_time', 'nonce', 'sid', 'name', 'preferred_username', 'email']),
    );
  });

  it('carries every endpoint’s metadata lines, and exists only when the provider has ID tokens', () => {
    const logout: Endpoint = {
      name: 'resource',
      paths: ['/somewhere'],
      metadata: (issuer) => ({ end_session_endpoint: `${issuer}/somewhere` }),
    };
    const idTokens: IdTokenIssuer = { issue: async () => 'x' };
    const provider = composeProvider({
      responseTypes: [codeResponseType],
      grants: [authorizationCodeGrant],
      endpoints: [authorizationEndpoint, tokenEndpoint, discoveryEndpoint, logout],
      scopes: ROLES,
      accessTokens: [opaqueAccessTokens],
      lifetimes: DEFAULT_LIFETIMES,
      idTokens,
    });
    expect(provider.openIdMetadata?.(ISSUER)).toMatchObject({ end_session_endpoint: `${ISSUER}/somewhere` });
    expect(defaultProvider(DEFAULT_LIFETIMES).openIdMetadata).toBeUndefined();
  });

  it('answers 404 on a server without ID tokens', async () => {
    const plain = await testApp({ provider: (lifetimes) => defaultProvider(lifetimes) });
    try {
      expect((await plain.app.inject({ url: '/.well-known/openid-configuration' })).statusCode).toBe(404);
      expect((await plain.app.inject({ url: '/oauth2/userinfo' })).statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
