/**
 * The OpenID Connect authentication request (OpenID Connect Core 1.0 §3.1.2.1, §3.1.2.6):
 * which parameters a request with `openid` carries on, which it refuses and how, and that
 * a request without `openid` reads exactly as a plain OAuth request.
 */
import { describe, expect, it } from 'vitest';
import { RedirectableError, validateAuthorizationRequest } from '../../src/oauth/authorize.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { parseParams } from '../../src/oauth/params.js';
import { defaultProvider } from '../../src/oauth/provider.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import type { ClientRecord } from '../../src/store/store.js';

const app: ClientRecord = {
  id: 'app',
  name: 'App',
  secretHash: 'a'.repeat(64),
  redirectUris: ['https://app.example/cb'],
  scopes: ['PATIENT', 'openid', 'profile', 'email'],
  grantTypes: ['authorization_code', 'refresh_token', 'implicit'],
  pkceRequired: false,
  accessTokenFormat: 'opaque',
  resourceServer: false,
  idTokenAlg: 'RS256',
  skipConsent: false,
  postLogoutRedirectUris: [],
  createdAt: 0,
  disabledAt: null,
};
const store = { getClient: async (id: string) => (id === 'app' ? app : undefined) };
const BASE = 'response_type=code&client_id=app&state=s1';

async function outcome(query: string) {
  try {
    const { request } = await validateAuthorizationRequest(
      parseParams(query),
      store,
      defaultProvider(DEFAULT_LIFETIMES).responseTypes,
    );
    return { ok: request };
  } catch (err) {
    if (err instanceof RedirectableError) return { redirect: err.error.code, state: err.target.state };
    if (err instanceof OAuthError) return { page: err.code };
    throw err;
  }
}

describe('an OpenID Connect authentication request', () => {
  it('carries nonce, prompt, max_age, login_hint and id_token_hint as sent', async () => {
    const { ok } = await outcome(
      `${BASE}&scope=openid%20profile&nonce=n-0S6_WzA2Mj&prompt=login%20consent&max_age=0&login_hint=alice&id_token_hint=eyJ.x.y`,
    );
    expect(ok).toMatchObject({
      scopes: ['openid', 'profile'],
      nonce: 'n-0S6_WzA2Mj',
      prompt: ['login', 'consent'],
      maxAge: 0,
      loginHint: 'alice',
      idTokenHint: 'eyJ.x.y',
    });
  });

  it('has none of those fields when they were not sent, and needs no nonce for the code flow', async () => {
    const { ok } = await outcome(`${BASE}&scope=openid`);
    expect(ok).toBeDefined();
    for (const field of ['nonce', 'prompt', 'maxAge', 'loginHint', 'idTokenHint']) expect(ok).not.toHaveProperty(field);
  });

  it('leaves out prompt values it does not know, and reads select_account', async () => {
    expect((await outcome(`${BASE}&scope=openid&prompt=select_account%20fancy`)).ok?.prompt).toEqual([
      'select_account',
    ]);
    expect((await outcome(`${BASE}&scope=openid&prompt=fancy`)).ok).not.toHaveProperty('prompt');
  });

  it.each([
    ['prompt=none with another value', 'prompt=none%20login', 'invalid_request'],
    ['max_age not a number', 'max_age=ten', 'invalid_request'],
    ['max_age negative', 'max_age=-1', 'invalid_request'],
    ['max_age a fraction', 'max_age=1.5', 'invalid_request'],
    ['max_age too large', 'max_age=99999999999', 'invalid_request'],
    ['nonce twice', 'nonce=a&nonce=b', 'invalid_request'],
    ['a request object', 'request=eyJhbGciOiJub25lIn0.e30.', 'request_not_supported'],
    ['a request_uri', 'request_uri=https%3A%2F%2Fapp.example%2Frequest.jwt', 'request_uri_not_supported'],
    ['a registration parameter', 'registration=%7B%7D', 'registration_not_supported'],
  ])('refuses %s, redirected with state', async (_name, extra, code) => {
    expect(await outcome(`${BASE}&scope=openid&${extra}`)).toEqual({ redirect: code, state: 's1' });
  });

  it('is the code flow only: openid with response_type=token is invalid_scope', async () => {
    expect(await outcome('response_type=token&client_id=app&state=s1&scope=openid')).toEqual({
      redirect: 'invalid_scope',
      state: 's1',
    });
  });

  it.each(['id_token', 'code id_token', 'id_token token', 'code token', 'code id_token token'])(
    'refuses response_type=%s as unsupported_response_type',
    async (responseType) => {
      const query = `response_type=${encodeURIComponent(responseType)}&client_id=app&state=s1&scope=openid&nonce=n`;
      expect(await outcome(query)).toEqual({ redirect: 'unsupported_response_type', state: 's1' });
    },
  );
});

describe('a request without openid', () => {
  it('ignores every OpenID Connect parameter, request objects included', async () => {
    const { ok } = await outcome(
      `${BASE}&scope=PATIENT&nonce=n&prompt=none%20login&max_age=x&login_hint=a&id_token_hint=h&request=r&request_uri=u`,
    );
    expect(ok).toEqual({
      responseType: 'code',
      clientId: 'app',
      redirectUri: 'https://app.example/cb',
      redirectUriSent: false,
      role: 'PATIENT',
      state: 's1',
    });
  });
});
