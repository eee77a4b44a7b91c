/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.1.2, §4.2.1, §4.2.2; RFC 9207):
 * validating a request, and building the redirect that answers it — in the query for
 * `response_type=code`, in the fragment for `response_type=token`.
 *
 * Until the client and its redirect URI are established, errors are not redirectable
 * (§4.1.2.1: the server MUST NOT redirect to an unverified URI); after that they go to
 * the client with `state`.
 */
import { invalidRequest, invalidScope, OAuthError, unauthorizedClient, unsupportedResponseType } from './errors.js';
import { isOpenIdRequest, openIdParameters, type OpenIdRequest } from './openid-request.js';
import {
  firstOversized,
  firstRepeated,
  firstUnreadable,
  readableValues,
  single,
  unreadableParameter,
  type Params,
} from './params.js';
import { resolveRedirectUri } from './redirect-uri.js';
import type { ResponseTypeHandler, ResponseTypeRegistry } from './response-types/response-type.js';
import { requestedScope, type Role } from './role-scope.js';
import type { ClientRecord, Store } from '../store/store.js';

export type ResponseMode = 'query' | 'fragment';

/**
 * A validated authorization request: everything needed to finish it after consent. With
 * `openid` among its scopes it is an OpenID Connect authentication request and carries
 * that request's fields (openid-request.ts).
 */
export interface AuthorizationRequest extends OpenIdRequest {
  /** A response type registered with the authorization endpoint (response-types/). */
  responseType: string;
  clientId: string;
  /** Where the response goes: the given redirect_uri, or the only registered one. */
  redirectUri: string;
  /** Whether redirect_uri was a parameter: then the token request must repeat it. */
  redirectUriSent: boolean;
  /** The role asked for, or undefined to let the person's roles decide. */
  role?: Role;
  /**
   * The other scope values asked for (API scopes, OpenID scopes), in request order;
   * absent when there are none, so a request for a role alone is stored as before.
   */
  scopes?: string[];
  state?: string;
  codeChallenge?: string;
}

/** Where an error that may be redirected should go, once the redirect URI is known. */
export interface RedirectTarget {
  redirectUri: string;
  mode: ResponseMode;
  state?: string;
}

/** Thrown for a redirectable error: the HTTP layer sends the person to `target`. */
export class RedirectableError extends Error {
  constructor(
    readonly error: OAuthError,
    readonly target: RedirectTarget,
  ) {
    super(error.message, { cause: error });
  }
}

const page = { redirectable: false } as const;

async function establishClient(params: Params, store: Pick<Store, 'getClient'>): Promise<ClientRecord> {
  const clientId = single(params, 'client_id', page);
  if (clientId === undefined) throw invalidRequest('The client_id parameter is missing', page);
  const client = await store.getClient(clientId);
  if (!client) throw invalidRequest('The client_id is not known to this server', { ...page, status: 400 });
  if (client.disabledAt !== null) throw invalidRequest('This client is disabled', page);
  return client;
}

/** The state to echo on an error: only when it was sent exactly once, and as sent. */
function stateForErrors(params: Params): string | undefined {
  const values = readableValues(params, 'state');
  return values && values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/** What an unknown response_type is told: the ones this server has. */
function supportedResponseTypes(registry: ResponseTypeRegistry): string {
  const [first, ...others] = [...registry.keys()];
  if (first === 'code' && others.length === 1 && others[0] === 'token') {
    return 'response_type must be code (or token for the implicit grant)';
  }
  return `response_type must be ${[...registry.keys()].join(' or ')}`;
}

function checkResponseType(
  value: string | undefined,
  client: ClientRecord,
  registry: ResponseTypeRegistry,
): ResponseTypeHandler {
  if (value === undefined) throw invalidRequest('The response_type parameter is missing');
  const handler = registry.get(value);
  if (!handler) throw unsupportedResponseType(supportedResponseTypes(registry));
  if (!client.grantTypes.includes(handler.grantType)) {
    throw unauthorizedClient(`This client is not registered for response_type=${value}`);
  }
  return handler;
}

/**
 * Validates an authorization request. Throws a non-redirectable OAuthError while the
 * client or redirect URI is in doubt, and a RedirectableError after that.
 */
export async function validateAuthorizationRequest(
  params: Params,
  store: Pick<Store, 'getClient'>,
  responseTypes: ResponseTypeRegistry,
): Promise<{ request: AuthorizationRequest; client: ClientRecord }> {
  // A value over 4 KiB is refused with a 4xx, so it is shown on the page
  // rather than redirected (and echoed back in a Location header no proxy would pass).
  const oversized = firstOversized(params);
  if (oversized) throw invalidRequest(`The ${oversized} parameter is too long`, page);
  const client = await establishClient(params, store);
  const givenRedirectUri = single(params, 'redirect_uri', page);
  const redirectUri = resolveRedirectUri(givenRedirectUri, client.redirectUris);

  const target: RedirectTarget = {
    redirectUri,
    mode: responseTypes.get(readableValues(params, 'response_type')?.[0] ?? '')?.responseMode ?? 'query',
    state: stateForErrors(params),
  };
  try {
    // A NUL byte or bytes that are not UTF-8 (params.ts): refused, never echoed back.
    const unreadable = firstUnreadable(params);
    if (unreadable) throw unreadableParameter(unreadable);
    const repeated = firstRepeated(params);
    if (repeated) throw invalidRequest(`The ${repeated} parameter was sent more than once`);
    const handler = checkResponseType(single(params, 'response_type'), client, responseTypes);
    const { role, others } = requestedScope(single(params, 'scope'), client.scopes);
    // OpenID Connect here is the code flow only: the implicit grant stays OAuth (RFC 6749 §4.2).
    if (isOpenIdRequest(others) && handler.responseType !== 'code') {
      throw invalidScope('The openid scope needs response_type=code');
    }
    const openId = openIdParameters(params, others);
    const fields = handler.validate(params, client);
    const request: AuthorizationRequest = {
      responseType: handler.responseType,
      clientId: client.id,
      redirectUri,
      redirectUriSent: givenRedirectUri !== undefined,
      ...(role && { role }),
      ...(others.length > 0 && { scopes: others }),
      ...(target.state !== undefined && { state: target.state }),
      ...fields,
      ...openId,
    };
    return { request, client };
  } catch (err) {
    if (err instanceof OAuthError && err.redirectable) throw new RedirectableError(err, target);
    throw err;
  }
}

/**
 * The redirect URI with response parameters added: to its query (keeping the client's
 * own query parameters) or as its fragment. Values are percent-encoded with
 * encodeURIComponent so that `state` comes back exactly as sent, `+` and all.
 */
export function buildRedirect(
  redirectUri: string,
  params: Record<string, string | number | undefined>,
  mode: ResponseMode,
): string {
  const encoded = Object.entries(params)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  if (mode === 'fragment') return `${redirectUri}#${encoded}`;
  const separator = !redirectUri.includes('?')
    ? '?'
    : redirectUri.endsWith('?') || redirectUri.endsWith('&')
      ? ''
      : '&';
  return `${redirectUri}${separator}${encoded}`;
}

/** The redirect that reports an error to the client (RFC 6749 §4.1.2.1, §4.2.2.1; RFC 9207 `iss`). */
export function errorRedirect(error: OAuthError, target: RedirectTarget, issuer: string): string {
  return buildRedirect(
    target.redirectUri,
    { error: error.code, error_description: error.description, state: target.state, iss: issuer },
    target.mode,
  );
}
