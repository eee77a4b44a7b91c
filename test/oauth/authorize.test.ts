/**
 * The authorization request error table (RFC 6749 §4.1.2.1, §4.2.2.1): for each bad
 * request, which error it is and whether it may be redirected to the client.
 */
import { describe, expect, it } from 'vitest';
import { buildRedirect, RedirectableError, validateAuthorizationRequest } from '../../src/oauth/authorize.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { parseParams } from '../../src/oauth/params.js';
import { defaultProvider } from '../../src/oauth/provider.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import type { ClientRecord } from '../../src/store/store.js';

const base: ClientRecord = {
  id: 'app',
  name: 'App',
  secretHash: 'a'.repeat(64),
  redirectUris: ['https://app.example/cb'],
  scopes: ['PATIENT', 'CLINICIAN'],
  grantTypes: ['authorization_code', 'refresh_token'],
  pkceRequired: false,
  accessTokenFormat: 'opaque',
  resourceServer: false,
  idTokenAlg: 'RS256',
  skipConsent: false,
  postLogoutRedirectUris: [],
  createdAt: 0,
  disabledAt: null,
};
const clients: Record<string, ClientRecord> = {
  app: base,
  two: { ...base, id: 'two', redirectUris: ['https://app.example/a', 'https://app.example/b'] },
  public: { ...base, id: 'public', secretHash: null, pkceRequired: true },
  implicit: { ...base, id: 'implicit', grantTypes: ['implicit'] },
  off: { ...base, id: 'off', disabledAt: 1 },
};
const store = { getClient: async (id: string) => clients[id] };
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const long = 'x'.repeat(4097);

async function outcome(query: string) {
  try {
    const { request } = await validateAuthorizationRequest(
      parseParams(query),
      store,
      defaultProvider(DEFAULT_LIFETIMES).responseTypes,
    );
    return { ok: request };
  } catch (err) {
    if (err instanceof RedirectableError)
      return { redirect: err.error.code, mode: err.target.mode, state: err.target.state };
    if (err instanceof OAuthError) return { page: err.code, redirectable: err.redirectable };
    throw err;
  }
}

describe('errors shown on Tessera’s page, never redirected', () => {
  it.each([
    ['client_id missing', 'response_type=code'],
    ['client_id empty', 'response_type=code&client_id='],
    ['client_id unknown', 'response_type=code&client_id=nobody'],
    ['client_id disabled', 'response_type=code&client_id=off'],
    ['client_id repeated', 'response_type=code&client_id=app&client_id=app'],
    ['client_id oversized', `response_type=code&client_id=${long}`],
    ['redirect_uri missing with several registered', 'response_type=code&client_id=two'],
    ['redirect_uri not registered', 'response_type=code&client_id=app&redirect_uri=https://evil.example/cb'],
    ['redirect_uri with fragment', 'response_type=code&client_id=app&redirect_uri=https://app.example/cb%23x'],
    ['redirect_uri malformed', 'response_type=code&client_id=app&redirect_uri=not%20a%20uri'],
    [
      'redirect_uri repeated',
      'response_type=code&client_id=app&redirect_uri=https://app.example/cb&redirect_uri=https://app.example/cb',
    ],
    ['redirect_uri oversized', `response_type=code&client_id=app&redirect_uri=https://app.example/cb?x=${long}`],
    ['redirect_uri differs in case', 'response_type=code&client_id=app&redirect_uri=https://APP.example/cb'],
    // A value over 4 KiB is refused with a 4xx, not echoed back in a redirect.
    ['state oversized', `response_type=code&client_id=app&state=${long}`],
    ['scope oversized', `response_type=code&client_id=app&scope=${long}`],
    [
      'redirect_uri unknown even for a bad response_type',
      'response_type=nonsense&client_id=app&redirect_uri=https://evil.example/',
    ],
  ])('%s', async (_name, query) => {
    expect(await outcome(query)).toEqual({ page: 'invalid_request', redirectable: false });
  });
});

describe('errors redirected to the client with state', () => {
  it.each([
    ['response_type missing', 'client_id=app&state=s', 'invalid_request', 'query'],
    ['response_type unknown', 'client_id=app&response_type=id_token&state=s', 'unsupported_response_type', 'query'],
    [
      'response_type combined',
      'client_id=app&response_type=code%20token&state=s',
      'unsupported_response_type',
      'query',
    ],
    ['implicit not registered', 'client_id=app&response_type=token&state=s', 'unauthorized_client', 'fragment'],
    ['code not registered', 'client_id=implicit&response_type=code&state=s', 'unauthorized_client', 'query'],
    ['scope unknown', 'client_id=app&response_type=code&scope=ADMIN&state=s', 'invalid_scope', 'query'],
    [
      'scope not enabled for the client',
      'client_id=app&response_type=code&scope=TEAMCOORD&state=s',
      'invalid_scope',
      'query',
    ],
    ['two roles', 'client_id=app&response_type=code&scope=PATIENT%20CLINICIAN&state=s', 'invalid_scope', 'query'],
    [
      'scope in the fragment for token',
      'client_id=implicit&response_type=token&scope=ADMIN&state=s',
      'invalid_scope',
      'fragment',
    ],
    [
      'scope repeated',
      'client_id=app&response_type=code&scope=PATIENT&scope=PATIENT&state=s',
      'invalid_request',
      'query',
    ],
    [
      'response_type repeated',
      'client_id=app&response_type=code&response_type=code&state=s',
      'invalid_request',
      'query',
    ],
    [
      'code_challenge without method (plain)',
      `client_id=app&response_type=code&code_challenge=${challenge}&state=s`,
      'invalid_request',
      'query',
    ],
    [
      'code_challenge_method plain',
      `client_id=app&response_type=code&code_challenge=${challenge}&code_challenge_method=plain&state=s`,
      'invalid_request',
      'query',
    ],
    [
      'code_challenge malformed',
      'client_id=app&response_type=code&code_challenge=short&code_challenge_method=S256&state=s',
      'invalid_request',
      'query',
    ],
    [
      'method without challenge',
      'client_id=app&response_type=code&code_challenge_method=S256&state=s',
      'invalid_request',
      'query',
    ],
    ['public client without PKCE', 'client_id=public&response_type=code&state=s', 'invalid_request', 'query'],
  ])('%s → %s', async (_name, query, code, mode) => {
    const result = await outcome(query);
    expect(result).toMatchObject({ redirect: code, mode });
    expect(result).toMatchObject({ state: 's' });
  });

  it('does not echo a state sent twice (it cannot know which one is real)', async () => {
    expect(await outcome('client_id=app&response_type=code&state=a&state=b')).toEqual({
      redirect: 'invalid_request',
      mode: 'query',
      state: undefined,
    });
  });
});

describe('valid requests', () => {
  it('takes the only registered redirect URI when none is sent', async () => {
    expect(await outcome('client_id=app&response_type=code&scope=patient&state=x')).toEqual({
      ok: {
        responseType: 'code',
        clientId: 'app',
        redirectUri: 'https://app.example/cb',
        redirectUriSent: false,
        role: 'PATIENT',
        state: 'x',
      },
    });
  });

  it('keeps extra query parameters on the redirect URI and the S256 challenge', async () => {
    const query = `client_id=two&response_type=code&redirect_uri=${encodeURIComponent('https://app.example/b?x=1')}&code_challenge=${challenge}&code_challenge_method=S256`;
    expect(await outcome(query)).toEqual({
      ok: {
        responseType: 'code',
        clientId: 'two',
        redirectUri: 'https://app.example/b?x=1',
        redirectUriSent: true,
        codeChallenge: challenge,
      },
    });
  });

  it('treats an empty parameter as absent (RFC 6749 §3.1)', async () => {
    expect(await outcome('client_id=app&response_type=code&scope=&state=')).toEqual({
      ok: { responseType: 'code', clientId: 'app', redirectUri: 'https://app.example/cb', redirectUriSent: false },
    });
  });
});

describe('building the response redirect', () => {
  it.each([
    ['https://a.example/cb', 'query', 'https://a.example/cb?code=c&state=a%20b%2Bc%26d'],
    ['https://a.example/cb?x=1', 'query', 'https://a.example/cb?x=1&code=c&state=a%20b%2Bc%26d'],
    ['https://a.example/cb?', 'query', 'https://a.example/cb?code=c&state=a%20b%2Bc%26d'],
    ['https://a.example/cb', 'fragment', 'https://a.example/cb#code=c&state=a%20b%2Bc%26d'],
    ['com.example.app:/cb', 'query', 'com.example.app:/cb?code=c&state=a%20b%2Bc%26d'],
  ] as const)('%s (%s)', (uri, mode, expected) => {
    expect(buildRedirect(uri, { code: 'c', state: 'a b+c&d', skipped: undefined }, mode)).toBe(expected);
  });

  it('round-trips any state exactly', () => {
    const state = `ä ö+%20&=#?/\\"'<>{}|^~\`\u{1F600}`;
    const url = new URL(buildRedirect('https://a.example/cb', { state }, 'query'));
    expect(url.searchParams.get('state')).toBe(state);
  });
});
