/**
 * The composition root of the protocol: which response types, grants and endpoints this
 * server has, and the RFC 8414 metadata built from exactly those — a feature that is not
 * listed here has no registry entry, no route (the HTTP layer registers routes for
 * `endpoints` only) and no metadata line. Adding a grant or an endpoint is one module and
 * one line in `defaultProvider`.
 */
import {
  authorizationEndpoint,
  discoveryEndpoint,
  introspectionEndpoint,
  jwksEndpoint,
  logoutEndpoint,
  resourceEndpoint,
  revocationEndpoint,
  tokenEndpoint,
  type Endpoint,
  type EndpointName,
} from './endpoints.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import type { GrantHandler } from './grants/grant.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { jwtAccessTokens } from './jwt-access-token.js';
import { codeResponseType } from './response-types/code.js';
import type { ResponseTypeHandler, ResponseTypeRegistry } from './response-types/response-type.js';
import { tokenResponseType } from './response-types/token.js';
import { ROLES } from './role-scope.js';
import type { KeyStore } from './signing-keys.js';
import { opaqueAccessTokens, tokenService, type AccessTokenStrategy, type TokenService } from './token-service.js';
import type { GrantRegistry } from './token-endpoint.js';
import type { Lifetimes } from './tokens.js';

export interface ProviderParts {
  responseTypes: readonly ResponseTypeHandler[];
  grants: readonly GrantHandler[];
  endpoints: readonly Endpoint[];
  /** The scope values every server has (the roles); registered API scopes come with each metadata call. */
  scopes: readonly string[];
  /** The access-token formats this server issues, one strategy each; a client's `accessTokenFormat` picks one. */
  accessTokens: readonly AccessTokenStrategy[];
  lifetimes: Lifetimes;
}

export interface Provider {
  responseTypes: ResponseTypeRegistry;
  grants: GrantRegistry;
  endpoints: ReadonlyMap<EndpointName, Endpoint>;
  tokens: TokenService;
  /**
   * RFC 8414 §2 authorization server metadata for `issuer`; `scopes_supported` lists the
   * fixed scopes and then `apiScopes`, the API scopes registered at the time of asking.
   */
  metadata(issuer: string, apiScopes?: readonly string[]): Record<string, unknown>;
}

/** Each value once, in first-seen order. */
const unique = <T>(values: T[]): T[] => [...new Set(values)];

export function composeProvider(parts: ProviderParts): Provider {
  const responseTypes = new Map(parts.responseTypes.map((h) => [h.responseType, h]));
  const grants = new Map(parts.grants.map((h) => [h.grantType as string, h]));
  const endpoints = new Map(parts.endpoints.map((e) => [e.name, e]));
  const authorization = endpoints.has('authorization');
  const token = endpoints.has('token');

  function metadata(issuer: string, apiScopes: readonly string[] = []): Record<string, unknown> {
    return {
      issuer,
      ...Object.assign({}, ...parts.endpoints.map((e) => e.metadata?.(issuer) ?? {})),
      scopes_supported: [...parts.scopes, ...apiScopes],
      ...(authorization && {
        response_types_supported: [...responseTypes.keys()],
        response_modes_supported: unique(parts.responseTypes.map((h) => h.responseMode)),
      }),
      grant_types_supported: unique([
        ...(token ? grants.keys() : []),
        ...(authorization ? parts.responseTypes.map((h) => h.grantType as string) : []),
      ]),
      ...(authorization && Object.assign({}, ...parts.responseTypes.map((h) => h.metadata ?? {}))),
    };
  }

  return {
    responseTypes: authorization ? responseTypes : new Map(),
    grants: token ? grants : new Map(),
    endpoints,
    tokens: tokenService(parts.lifetimes, parts.accessTokens),
    metadata,
  };
}

/** What JWT access tokens (RFC 9068) need: the signing keys and the `aud` (default: the issuer). */
export interface JwtSigning {
  keys: Pick<KeyStore, 'signingKey'>;
  audience?: string;
}

/**
 * This server: PKB's code and implicit flows; the code, refresh and client credentials
 * grants; introspection and revocation; the sample resource; and opaque access tokens —
 * plus JWT access tokens and the JWK Set that verifies them when `jwt` has the signing keys.
 */
export function defaultProvider(lifetimes: Lifetimes, jwt?: JwtSigning): Provider {
  return composeProvider({
    responseTypes: [codeResponseType, tokenResponseType],
    grants: [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant],
    endpoints: [
      authorizationEndpoint,
      tokenEndpoint,
      introspectionEndpoint,
      revocationEndpoint,
      resourceEndpoint,
      discoveryEndpoint,
      ...(jwt ? [jwksEndpoint] : []),
      logoutEndpoint,
    ],
    scopes: ROLES,
    accessTokens: [opaqueAccessTokens, ...(jwt ? [jwtAccessTokens(jwt.keys, jwt.audience)] : [])],
    lifetimes,
  });
}
