/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.1.2, §4.2.1, §4.2.2; RFC 9207):
 * validating a request, and building the redirect that answers it — in the query for
 * `response_type=code`, in the fragment for `response_type=token`.
 *
 * Until the client and its redirect URI are established, errors are not redirectable
 * (§4.1.2.1: the server MUST NOT redirect to an unverified URI); after that they go to
 * the client with `state`.
 */
import { invalidRequest, OAuthError, unauthorizedClient, unsupportedResponseType } from './errors.js';
import { single, firstOversized, firstRepeated, type Params } from './params.js';
import { checkChallenge } from './pkce.js';
import { resolveRedirectUri } from './redirect-uri.js';
import { requestedRole, type Role } from './scope.js';
import type { ClientRecord, Store } from '../store/store.js';

export type ResponseType = 'code' | 'token';
export type ResponseMode = 'query' | 'fragment';

/** A validated authorization request: everything needed to finish it after consent. */
export interface AuthorizationRequest {
  responseType: ResponseType;
  clientId: string;
  /** Where the response goes: the given redirect_uri, or the only registered one. */
  redirectUri: string;
  /** Whether redirect_uri was a parameter: then the token request must repeat it. */
  redirectUriSent: boolean;
  /** The role asked for, or undefined to let the person's roles decide. */
  role?: Role;
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

/** The state to echo on an error: only when it was sent exactly once. */
function stateForErrors(params: Params): string | undefined {
  const values = params.get('state');
  return values && values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

function checkResponseType(value: string | undefined, client: ClientRecord): ResponseType {
  if (value === undefined) throw invalidRequest('The response_type parameter is missing');
  if (value !== 'code' && value !== 'token') {
    throw unsupportedResponseType('response_type must be code (or token for the implicit grant)');
  }
  const grant = value === 'code' ? 'authorization_code' : 'implicit';
  if (!client.grantTypes.includes(grant)) {
    throw unauthorizedClient(`This client is not registered for response_type=${value}`);
  }
  return value;
}

function checkPkce(params: Params, client: ClientRecord): string | undefined {
  const challenge = checkChallenge(single(params, 'code_challenge'), single(params, 'code_challenge_method'));
  if (challenge === undefined && client.pkceRequired) {
    throw invalidRequest('This client must use PKCE: send code_challenge and code_challenge_method=S256');
  }
  return challenge;
}

/**
 * Validates an authorization request. Throws a non-redirectable OAuthError while the
 * client or redirect URI is in doubt, and a RedirectableError after that.
 */
export async function validateAuthorizationRequest(
  params: Params,
  store: Pick<Store, 'getClient'>,
): Promise<{ request: AuthorizationRequest; client: ClientRecord }> {
  // SPEC §3.1: a value over 4 KiB is refused with a 4xx, so it is shown on the page
  // rather than redirected (and echoed back in a Location header no proxy would pass).
  const oversized = firstOversized(params);
  if (oversized) throw invalidRequest(`The ${oversized} parameter is too long`, page);
  const client = await establishClient(params, store);
  const givenRedirectUri = single(params, 'redirect_uri', page);
  const redirectUri = resolveRedirectUri(givenRedirectUri, client.redirectUris);

  const target: RedirectTarget = {
    redirectUri,
    mode: params.get('response_type')?.[0] === 'token' ? 'fragment' : 'query',
    state: stateForErrors(params),
  };
  try {
    const repeated = firstRepeated(params);
    if (repeated) throw invalidRequest(`The ${repeated} parameter was sent more than once`);
    const responseType = checkResponseType(single(params, 'response_type'), client);
    const role = requestedRole(single(params, 'scope'), client.scopes as Role[]);
    const codeChallenge = responseType === 'code' ? checkPkce(params, client) : undefined;
    const request: AuthorizationRequest = {
      responseType,
      clientId: client.id,
      redirectUri,
      redirectUriSent: givenRedirectUri !== undefined,
      ...(role && { role }),
      ...(target.state !== undefined && { state: target.state }),
      ...(codeChallenge && { codeChallenge }),
    };
    return { request, client };
  } catch (err) {
    if (err instanceof OAuthError && err.redirectable) throw new RedirectableError(err, target);
    throw err;
  }
}

export function responseModeOf(request: Pick<AuthorizationRequest, 'responseType'>): ResponseMode {
  return request.responseType === 'token' ? 'fragment' : 'query';
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
