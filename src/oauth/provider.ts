/**
 * The composition root of the protocol: which response types, grants and endpoints this
 * server has, and the RFC 8414 metadata built from exactly those — a feature that is not
 * listed here has no registry entry, no route (the HTTP layer registers routes for
 * `endpoints` only) and no metadata line. Adding a grant or an endpoint is one module and
 * one line in `defaultProvider`. OpenID Connect (ID tokens, UserInfo, the OpenID Provider
 * configuration of Discovery 1.0 §3) is on when the provider has ID tokens to sign.
 */
import {
  authorizationEndpoint,
  discoveryEndpoint,
  introspectionEndpoint,
  jwksEndpoint,
  openIdDiscoveryEndpoint,
  logoutEndpoint,
  resourceEndpoint,
  revocationEndpoint,
  tokenEndpoint,
  userinfoEndpoint,
  type Endpoint,
  type EndpointName,
} from './endpoints.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import type { GrantHandler } from './grants/grant.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { SUPPORTED_CLAIMS } from './claims.js';
import { idTokens, type IdTokenIssuer } from './id-token.js';
import { jwtAccessTokens } from './jwt-access-token.js';
import { PROMPT_VALUES } from './openid-request.js';
import { codeResponseType } from './response-types/code.js';
import type { ResponseTypeHandler, ResponseTypeRegistry } from './response-types/response-type.js';
import { tokenResponseType } from './response-types/token.js';
import { ROLES } from './role-scope.js';
import { OPENID_SCOPES } from './scope.js';
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
  /** OpenID Connect: the ID tokens of the code and refresh grants. Absent, the server is OAuth only. */
  idTokens?: IdTokenIssuer;
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
  /**
   * OpenID Connect Discovery 1.0 §3: the RFC 8414 document — the same values for every
   * member they share, endpoint lines included — with the OpenID Provider's own members,
   * and `scopes_supported` with the OpenID scopes after the roles. Absent without ID tokens.
   */
  openIdMetadata?(issuer: string, apiScopes?: readonly string[]): Record<string, unknown>;
}

/** OpenID Connect Discovery 1.0 §3: the ID token algorithms (RS256 first: §3 requires it). */
export const ID_TOKEN_SIGNING_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;

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

  function openIdMetadata(issuer: string, apiScopes: readonly string[] = []): Record<string, unknown> {
    return {
      ...metadata(issuer, apiScopes),
      ...Object.assign({}, ...parts.endpoints.map((e) => e.openidMetadata?.(issuer) ?? {})),
      scopes_supported: [...parts.scopes, ...OPENID_SCOPES, ...apiScopes],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...ID_TOKEN_SIGNING_ALGS],
      claims_supported: [...SUPPORTED_CLAIMS],
      prompt_values_supported: [...PROMPT_VALUES],
      // Each is true (or, for request_uri, assumed true) unless said otherwise (§3).
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
    };
  }

  return {
    responseTypes: authorization ? responseTypes : new Map(),
    grants: token ? grants : new Map(),
    endpoints,
    tokens: tokenService(parts.lifetimes, parts.accessTokens, parts.idTokens),
    metadata,
    ...(parts.idTokens && { openIdMetadata }),
  };
}

/**
 * What signed tokens need: the signing keys (JWT access tokens, RFC 9068, and ID tokens)
 * and the access tokens' `aud` (default: the issuer).
 */
export interface JwtSigning {
  keys: Pick<KeyStore, 'signingKey' | 'signingKeyFor'>;
  audience?: string;
}

/**
 * This server: PKB's code and implicit flows; the code, refresh and client credentials
 * grants; introspection and revocation; the sample resource; and opaque access tokens —
 * plus, when `jwt` has the signing keys, JWT access tokens, the JWK Set that verifies
 * them and OpenID Connect (ID tokens, UserInfo, the OpenID Provider configuration).
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
      ...(jwt ? [jwksEndpoint, userinfoEndpoint, openIdDiscoveryEndpoint, logoutEndpoint] : []),
    ],
    scopes: ROLES,
    accessTokens: [opaqueAccessTokens, ...(jwt ? [jwtAccessTokens(jwt.keys, jwt.audience)] : [])],
    lifetimes,
    ...(jwt && { idTokens: idTokens(jwt.keys) }),
  });
}
