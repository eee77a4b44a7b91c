/**
 * The endpoints this server can have, each with its paths and the metadata lines it
 * contributes (RFC 8414 §2). PKB's paths come first: they are what its clients call and
 * what the metadata advertises; the `/oauth2/…` aliases follow common practice.
 */
import { CLIENT_AUTH_METHODS } from './client-auth.js';

export type EndpointName =
  | 'authorization'
  | 'token'
  | 'introspection'
  | 'revocation'
  | 'resource'
  | 'discovery'
  | 'jwks'
  | 'userinfo'
  | 'openid-discovery'
  | 'logout';

export interface Endpoint {
  name: EndpointName;
  /** The paths it answers at; the first is the one metadata names. */
  paths: readonly string[];
  metadata?(issuer: string): Record<string, unknown>;
  /** Lines only the OpenID Provider document has (Discovery 1.0 §3), not RFC 8414's. */
  openidMetadata?(issuer: string): Record<string, unknown>;
}

/** RFC 6749 §3.1; RFC 9207 (every authorization response carries `iss`). */
export const authorizationEndpoint: Endpoint = {
  name: 'authorization',
  paths: ['/apiAuthorize.action', '/oauth2/authorize'],
  metadata: (issuer) => ({
    authorization_endpoint: `${issuer}/apiAuthorize.action`,
    authorization_response_iss_parameter_supported: true,
  }),
};

/** RFC 6749 §3.2, with the client authentication methods of §2.3 (client-auth.ts). */
export const tokenEndpoint: Endpoint = {
  name: 'token',
  paths: ['/apiToken.action', '/oauth2/token'],
  metadata: (issuer) => ({
    token_endpoint: `${issuer}/apiToken.action`,
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  }),
};

/**
 * RFC 7662 §2 (introspection.ts). Only confidential clients may introspect (RFC 8414 §2:
 * `introspection_endpoint_auth_methods_supported`), so `none` is not listed.
 */
export const introspectionEndpoint: Endpoint = {
  name: 'introspection',
  paths: ['/oauth2/introspect'],
  metadata: (issuer) => ({
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((m) => m !== 'none'),
  }),
};

/** RFC 7009 §2 (revocation.ts), with the token endpoint's client authentication: a public client sends its id. */
export const revocationEndpoint: Endpoint = {
  name: 'revocation',
  paths: ['/oauth2/revoke'],
  metadata: (issuer) => ({
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  }),
};

/** The sample protected resource (RFC 6750). */
export const resourceEndpoint: Endpoint = { name: 'resource', paths: ['/api/v1/me'] };

/** RFC 8414 §3: the metadata document itself. */
export const discoveryEndpoint: Endpoint = {
  name: 'discovery',
  paths: ['/.well-known/oauth-authorization-server'],
};

/** RFC 7517 §5: the JWK Set that verifies this server's JWTs (RFC 8414 §2 `jwks_uri`). */
export const jwksEndpoint: Endpoint = {
  name: 'jwks',
  paths: ['/.well-known/jwks.json'],
  metadata: (issuer) => ({ jwks_uri: `${issuer}/.well-known/jwks.json` }),
};

/** OpenID Connect Core 1.0 §5.3 (userinfo.ts); `userinfo_endpoint` is RFC 8414 §2 metadata too. */
export const userinfoEndpoint: Endpoint = {
  name: 'userinfo',
  paths: ['/oauth2/userinfo'],
  metadata: (issuer) => ({ userinfo_endpoint: `${issuer}/oauth2/userinfo` }),
};

/** OpenID Connect Discovery 1.0 §4: the OpenID Provider configuration document. */
export const openIdDiscoveryEndpoint: Endpoint = {
  name: 'openid-discovery',
  paths: ['/.well-known/openid-configuration'],
};

/**
 * OpenID Connect RP-Initiated Logout 1.0 §2, §2.1 (logout.ts): ends the browser's session
 * at Tessera. `end_session_endpoint` is an OpenID Provider line: the RFC 8414 document
 * stays as PKB clients know it.
 */
export const logoutEndpoint: Endpoint = {
  name: 'logout',
  paths: ['/oauth2/logout'],
  openidMetadata: (issuer) => ({ end_session_endpoint: `${issuer}/oauth2/logout` }),
};
