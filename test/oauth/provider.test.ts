/**
 * The composition root: registries and RFC 8414 metadata come from the handlers that are
 * listed, and nothing else — a response type, grant or endpoint left out has no registry
 * entry, no metadata line and (over HTTP) no route.
 */
import { describe, expect, it } from 'vitest';
import {
  authorizationEndpoint,
  discoveryEndpoint,
  introspectionEndpoint,
  resourceEndpoint,
  revocationEndpoint,
  tokenEndpoint,
} from '../../src/oauth/endpoints.js';
import type { GrantHandler } from '../../src/oauth/grants/grant.js';
import { authorizationCodeGrant } from '../../src/oauth/grants/authorization-code.js';
import { clientCredentialsGrant } from '../../src/oauth/grants/client-credentials.js';
import { refreshTokenGrant } from '../../src/oauth/grants/refresh-token.js';
import { paramsFrom } from '../../src/oauth/params.js';
import { composeProvider, defaultProvider, type ProviderParts } from '../../src/oauth/provider.js';
import { codeResponseType } from '../../src/oauth/response-types/code.js';
import { tokenResponseType } from '../../src/oauth/response-types/token.js';
import { ROLES } from '../../src/oauth/role-scope.js';
import { grantParameters, handleTokenRequest } from '../../src/oauth/token-endpoint.js';
import { opaqueAccessTokens } from '../../src/oauth/token-service.js';
import { DEFAULT_LIFETIMES, hashSecret } from '../../src/oauth/tokens.js';
import type { ClientRecord, GrantRecord } from '../../src/store/store.js';
import { addClient, form, testApp } from '../helpers/harness.js';

const ISSUER = 'https://as.example';

const parts = (overrides: Partial<ProviderParts> = {}): ProviderParts => ({
  responseTypes: [codeResponseType, tokenResponseType],
  grants: [authorizationCodeGrant, refreshTokenGrant],
  endpoints: [authorizationEndpoint, tokenEndpoint, resourceEndpoint, discoveryEndpoint],
  scopes: ROLES,
  accessTokens: [opaqueAccessTokens],
  lifetimes: DEFAULT_LIFETIMES,
  ...overrides,
});

describe('composeProvider', () => {
  it('builds the metadata of the default server from its handlers', () => {
    expect(defaultProvider(DEFAULT_LIFETIMES).metadata(ISSUER)).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/apiAuthorize.action`,
      authorization_response_iss_parameter_supported: true,
      token_endpoint: `${ISSUER}/apiToken.action`,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint: `${ISSUER}/oauth2/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint: `${ISSUER}/oauth2/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: ['PATIENT', 'CLINICIAN', 'TEAMCOORD'],
      response_types_supported: ['code', 'token'],
      response_modes_supported: ['query', 'fragment'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'implicit'],
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('has the introspection and revocation lines only with those endpoints, client_credentials only with its grant', () => {
    const withBoth = composeProvider(
      parts({
        grants: [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant],
        endpoints: [tokenEndpoint, introspectionEndpoint, revocationEndpoint, discoveryEndpoint],
      }),
    );
    const meta = withBoth.metadata(ISSUER);
    expect(meta.introspection_endpoint).toBe(`${ISSUER}/oauth2/introspect`);
    expect(meta.revocation_endpoint).toBe(`${ISSUER}/oauth2/revoke`);
    expect(meta.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    expect([...withBoth.grants.keys()]).toContain('client_credentials');

    const without = composeProvider(parts()).metadata(ISSUER);
    for (const line of [
      'introspection_endpoint',
      'introspection_endpoint_auth_methods_supported',
      'revocation_endpoint',
      'revocation_endpoint_auth_methods_supported',
    ]) {
      expect(without).not.toHaveProperty(line);
    }
    expect(without.grant_types_supported).not.toContain('client_credentials');

    const onlyRevocation = composeProvider(parts({ endpoints: [tokenEndpoint, revocationEndpoint] })).metadata(ISSUER);
    expect(onlyRevocation).toHaveProperty('revocation_endpoint');
    expect(onlyRevocation).not.toHaveProperty('introspection_endpoint');
  });

  it('leaves out what a response type that is not listed would bring', () => {
    const provider = composeProvider(parts({ responseTypes: [codeResponseType] }));
    const meta = provider.metadata(ISSUER);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.response_modes_supported).toEqual(['query']);
    expect(meta.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
    expect([...provider.responseTypes.keys()]).toEqual(['code']);

    const implicitOnly = composeProvider(parts({ responseTypes: [tokenResponseType] })).metadata(ISSUER);
    expect(implicitOnly.response_types_supported).toEqual(['token']);
    expect(implicitOnly).not.toHaveProperty('code_challenge_methods_supported');
  });

  it('has no grants, token endpoint line or auth methods without the token endpoint', () => {
    const provider = composeProvider(parts({ endpoints: [authorizationEndpoint, discoveryEndpoint] }));
    const meta = provider.metadata(ISSUER);
    expect(provider.grants.size).toBe(0);
    expect(meta).not.toHaveProperty('token_endpoint');
    expect(meta).not.toHaveProperty('token_endpoint_auth_methods_supported');
    expect(meta.grant_types_supported).toEqual(['authorization_code', 'implicit']);
    expect([...provider.endpoints.keys()]).toEqual(['authorization', 'discovery']);
  });

  it('has no response types without the authorization endpoint', () => {
    const provider = composeProvider(parts({ endpoints: [tokenEndpoint] }));
    const meta = provider.metadata(ISSUER);
    expect(provider.responseTypes.size).toBe(0);
    expect(meta).not.toHaveProperty('authorization_endpoint');
    expect(meta).not.toHaveProperty('response_types_supported');
    expect(meta).not.toHaveProperty('code_challenge_methods_supported');
    expect(meta.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
  });

  it('makes a new grant one handler in the list: dispatched, advertised, given only its parameters', async () => {
    const seen: string[][] = [];
    const echo: GrantHandler = {
      grantType: 'implicit', // any GrantType the client is registered for
      parameters: ['thing'],
      async handle(params) {
        seen.push([...params.keys()]);
        return {
          response: { access_token: 'x', token_type: 'Bearer', expires_in: 1, scope: params.get('thing')?.[0] ?? '' },
          grant: {} as GrantRecord,
        };
      },
    };
    const provider = composeProvider(parts({ grants: [authorizationCodeGrant, echo] }));
    expect(provider.metadata(ISSUER).grant_types_supported).toEqual(['authorization_code', 'implicit']);
    const client: ClientRecord = {
      id: 'app',
      name: 'App',
      secretHash: hashSecret('s3cret'),
      redirectUris: ['https://app.example/cb'],
      scopes: ['PATIENT'],
      grantTypes: ['implicit'],
      pkceRequired: false,
      accessTokenFormat: 'opaque',
      resourceServer: false,
      idTokenAlg: 'RS256',
      skipConsent: false,
      postLogoutRedirectUris: [],
      createdAt: 0,
      disabledAt: null,
    };
    const store = {
      getClient: async (id: string) => (id === 'app' ? client : undefined),
      claimsEagerly: false,
      claimAuthorizationCode: async () => ({ found: undefined, claimed: false }),
      consumeAuthorizationCode: async () => 'missing' as const,
      claimRefreshToken: async () => ({ found: undefined, claimed: false }),
      rotateRefreshToken: async () => 'missing' as const,
      revokeGrant: async () => true,
      createGrantWithAccessToken: async () => undefined,
      getPerson: async () => undefined,
    };
    const { response } = await handleTokenRequest(
      {
        params: paramsFrom({
          grant_type: 'implicit',
          client_id: 'app',
          client_secret: 's3cret',
          thing: 'hello',
          other: 'x',
        }),
        authorization: undefined,
      },
      provider.grants,
      { store, tokens: provider.tokens, issuer: 'https://as.example', now: Date.now() },
    );
    expect(response.scope).toBe('hello');
    expect(seen).toEqual([['thing']]);
  });

  it('passes a grant exactly the parameters it declares', () => {
    const params = paramsFrom({ grant_type: 'authorization_code', code: 'c', client_secret: 's', redirect_uri: 'r' });
    expect([...grantParameters(params, authorizationCodeGrant).keys()].sort()).toEqual(['code', 'redirect_uri']);
  });
});

describe('the token service', () => {
  const provider = defaultProvider(DEFAULT_LIFETIMES);
  const client = { grantTypes: ['authorization_code', 'refresh_token'] } as ClientRecord;
  const now = 1_000_000;
  const issuer = 'https://as.example';
  const grant = {
    id: 'g',
    personId: 'p',
    clientId: 'app',
    scope: 'PATIENT',
    authTime: now,
    sessionId: null,
    createdAt: now,
    expiresAt: now + 3_600_000,
    revokedAt: null,
    nonce: null,
  };

  it('answers in the field order of PKB’s token response, with a refresh token while the grant lasts', async () => {
    const minted = await provider.tokens.mint({ grant, scope: 'PATIENT', client, issuer, now, refresh: true });
    expect(Object.keys(minted.response)).toEqual([
      'access_token',
      'token_type',
      'expires_in',
      'refresh_token',
      'scope',
    ]);
    expect(minted.access).toEqual({
      hash: hashSecret(minted.response.access_token),
      grantId: 'g',
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: now,
      expiresAt: now + 600_000,
    });
    expect(minted.refresh).toEqual({
      hash: hashSecret(minted.response.refresh_token as string),
      grantId: 'g',
      scope: 'PATIENT',
      expiresAt: grant.expiresAt,
      retiredAt: null,
    });
  });

  it('keeps the refresh token’s own scope when the access token’s is narrowed (RFC 6749 §6)', async () => {
    const minted = await provider.tokens.mint({
      grant,
      scope: 'PATIENT',
      client,
      issuer,
      now,
      refresh: true,
      refreshScope: 'PATIENT a',
    });
    expect(minted.refresh?.scope).toBe('PATIENT a');
    expect(minted.access.scope).toBe('PATIENT');
  });

  it.each([
    ['not asked for (implicit)', { refresh: false }],
    ['a client without the refresh_token grant', { client: { grantTypes: ['authorization_code'] } as ClientRecord }],
    ['a grant that has ended', { grant: { ...grant, expiresAt: now } }],
  ])('issues no refresh token for %s', async (_name, change) => {
    const minted = await provider.tokens.mint({
      grant,
      scope: 'PATIENT',
      client,
      issuer,
      now,
      refresh: true,
      ...change,
    });
    expect(minted.refresh).toBeNull();
    expect(minted.response).not.toHaveProperty('refresh_token');
    expect(minted.response.expires_in).toBe(600);
  });
});

describe('what a provider leaves out has no route', () => {
  it('answers 404 at the endpoints it does not list, and unsupported_response_type for a response type it does not list', async () => {
    const t = await testApp({
      provider: (lifetimes) =>
        composeProvider(
          parts({
            responseTypes: [codeResponseType],
            endpoints: [authorizationEndpoint, discoveryEndpoint],
            lifetimes,
          }),
        ),
    });
    try {
      const { client } = await addClient(t.store, { grants: ['authorization_code', 'refresh_token', 'implicit'] });
      const token = await t.app.inject({ method: 'POST', url: '/apiToken.action', payload: 'grant_type=x' });
      expect(token.statusCode).toBe(404);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/me' })).statusCode).toBe(404);
      for (const url of ['/oauth2/introspect', '/oauth2/revoke']) {
        expect((await t.app.inject({ method: 'POST', url, payload: 'token=x' })).statusCode).toBe(404);
      }
      const meta = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
      expect(meta.response_types_supported).toEqual(['code']);
      expect(meta).not.toHaveProperty('token_endpoint');

      const implicit = await t.app.inject({
        method: 'GET',
        url: `/apiAuthorize.action?${form({ response_type: 'token', client_id: client.id, state: 's' })}`,
      });
      expect(implicit.statusCode).toBe(302);
      const location = new URL(String(implicit.headers.location));
      // Not registered, so not known to answer in the fragment: the error goes in the query.
      expect(location.searchParams.get('error')).toBe('unsupported_response_type');
      expect(location.searchParams.get('state')).toBe('s');
    } finally {
      await t.close();
    }
  });
});
