/**
 * Finishing an authorization once the person has signed in and allowed it (RFC 6749
 * §4.1.2, §4.2.2): the grant — the authorization session codes and tokens belong to — is
 * created, its response type issues what the response carries, and the redirect that
 * carries it back is built. Or the person said no (§4.1.2.1 access_denied).
 */
import { accessDenied, serverError, type OAuthError } from './errors.js';
import { buildRedirect, errorRedirect, type AuthorizationRequest, type ResponseMode } from './authorize.js';
import type { ResponseTypeDeps, ResponseTypeHandler, ResponseTypeRegistry } from './response-types/response-type.js';
import { tokenScope, type GrantRole } from './role-scope.js';
import { newId, type Lifetimes } from './tokens.js';
import type { ClientRecord, GrantRecord, PersonRecord, SignInSessionRecord } from '../store/store.js';

export interface CompletionDeps extends ResponseTypeDeps {
  responseTypes: ResponseTypeRegistry;
  lifetimes: Pick<Lifetimes, 'code' | 'grant'>;
  issuer: string;
}

/** The handler a stored request was validated with; gone only if the server was reconfigured meanwhile. */
function handlerFor(request: AuthorizationRequest, registry: ResponseTypeRegistry): ResponseTypeHandler {
  const handler = registry.get(request.responseType);
  if (!handler) throw serverError(new Error(`response_type ${request.responseType} is no longer registered`));
  return handler;
}

function modeOf(request: AuthorizationRequest, registry: ResponseTypeRegistry): ResponseMode {
  return registry.get(request.responseType)?.responseMode ?? 'query';
}

/** An allowed request: where the browser goes, and (for the audit log) the grant made and its grant type. */
export interface Authorized {
  location: string;
  grant: GrantRecord;
  grantType: ResponseTypeHandler['grantType'];
}

/**
 * Allows the request for the signed-in person: the grant records who (`personId`), when
 * they authenticated (`authTime`, the browser session's start) and in which session.
 */
export async function allowAuthorization(
  request: AuthorizationRequest,
  who: { person: PersonRecord; session: Pick<SignInSessionRecord, 'hash' | 'createdAt'> },
  role: GrantRole,
  client: ClientRecord,
  deps: CompletionDeps,
): Promise<Authorized> {
  const handler = handlerFor(request, deps.responseTypes);
  const grant: GrantRecord = {
    id: newId(),
    personId: who.person.id,
    clientId: request.clientId,
    // The role first, then the other values in the order of the request (role-scope.ts).
    scope: tokenScope(role, request.scopes),
    authTime: who.session.createdAt,
    sessionId: who.session.hash,
    createdAt: deps.now,
    // The client's own authorization session lifetime when it has one.
    expiresAt: deps.now + (client.lifetimes?.grant ?? deps.lifetimes.grant) * 1000,
    revokedAt: null,
    nonce: request.nonce ?? null,
  };
  const response = await handler.issue(request, grant, client, deps);
  const location = buildRedirect(
    request.redirectUri,
    { ...response, state: request.state, iss: deps.issuer },
    handler.responseMode,
  );
  return { location, grant, grantType: handler.grantType };
}

/** The person said no (RFC 6749 §4.1.2.1 access_denied). */
export function denyAuthorization(
  request: AuthorizationRequest,
  issuer: string,
  registry: ResponseTypeRegistry,
): string {
  return refuseAuthorization(request, accessDenied('The person denied the request'), issuer, registry);
}

/**
 * Ends the request with an error for the client, with `state` and `iss` like every
 * authorization error (RFC 6749 §4.1.2.1; OpenID Connect Core 1.0 §3.1.2.6 for
 * `login_required`, `consent_required`, `interaction_required`).
 */
export function refuseAuthorization(
  request: AuthorizationRequest,
  error: OAuthError,
  issuer: string,
  registry: ResponseTypeRegistry,
): string {
  return errorRedirect(
    error,
    { redirectUri: request.redirectUri, mode: modeOf(request, registry), state: request.state },
    issuer,
  );
}
