/**
 * OpenID Connect RP-Initiated Logout 1.0 §2, §3, §4: a relying party sends the browser to
 * the end-session endpoint to end the person's session at Tessera, and may have it sent
 * back to one of its registered post-logout redirect URIs. Only the browser's session
 * ends: grants and their tokens stay valid (§2 asks the OP to log the End-User out of the
 * OP, not to revoke what the RP holds; revocation is RFC 7009's job).
 *
 * The decision table:
 * - a valid `id_token_hint` that names the signed-in person, or no one signed in: act at
 *   once (§2: the hint tells the OP the logout is expected); otherwise the person
 *   confirms first (§2: "the OP SHOULD ask the End-User whether to log out"), so that a
 *   link on another site cannot sign them out unasked;
 * - the client is the hint's `aud` or `client_id`; both given and different is an error (§2);
 * - `post_logout_redirect_uri` is followed only when it exactly matches one the client
 *   registered (§3.1) and every check passed (§4); otherwise never: no open redirect.
 */
import type { JSONWebKeySet } from 'jose';
import { invalidRequest } from './errors.js';
import { readIdTokenHint, type IdTokenHint } from './id-token-hint.js';
import { endSession, signedIn, type InteractionDeps, type SignedIn } from './interaction.js';
import { single, type Params } from './params.js';
import type { ClientRecord, Store } from '../store/store.js';

/** The parameters of §2 this server acts on (`ui_locales` and `logout_hint` are accepted and ignored). */
export interface LogoutRequest {
  idTokenHint?: string;
  clientId?: string;
  postLogoutRedirectUri?: string;
  state?: string;
}

const PARAMETERS = {
  idTokenHint: 'id_token_hint',
  clientId: 'client_id',
  postLogoutRedirectUri: 'post_logout_redirect_uri',
  state: 'state',
} as const satisfies Record<keyof LogoutRequest, string>;

/**
 * The request's parameters: a repeated, over-long or unreadable one (a NUL byte, bytes
 * that are not UTF-8) is invalid_request, shown on a page — there is nowhere trusted to
 * send an error to.
 */
export function readLogoutRequest(params: Params): LogoutRequest {
  const request: LogoutRequest = {};
  for (const [field, name] of Object.entries(PARAMETERS) as [keyof LogoutRequest, string][]) {
    const value = single(params, name, { redirectable: false });
    if (value !== undefined) request[field] = value;
  }
  for (const ignored of ['ui_locales', 'logout_hint']) single(params, ignored, { redirectable: false });
  return request;
}

/** The request's parameters as a query string (the confirmation form and a POST moved to GET carry them). */
export function logoutQuery(request: LogoutRequest): string {
  const query = new URLSearchParams();
  for (const [field, name] of Object.entries(PARAMETERS) as [keyof LogoutRequest, string][]) {
    const value = request[field];
    if (value !== undefined) query.set(name, value);
  }
  return query.toString();
}

/** Why a `post_logout_redirect_uri` that was sent is not followed. */
export type NotFollowed =
  /** The client did not register it (exact match, §3.1). */
  | 'unregistered'
  /** No client is known to check it against (§3: it needs `id_token_hint` or `client_id`). */
  | 'no-client'
  /** The `id_token_hint` is not an ID token of this server (§4: no redirect when a check fails). */
  | 'invalid-hint';

export interface CheckedLogout {
  /** The client the request is for: the hint's audience or `client_id`, when enabled. */
  client?: ClientRecord;
  /** The hint, when it is an ID token of this server (an expired one counts). */
  hint?: IdTokenHint;
  /** Where the browser goes afterwards, with `state` added: only a registered URI. */
  location?: string;
  /** Set when a `post_logout_redirect_uri` was sent but will not be followed. */
  notFollowed?: NotFollowed;
}

export interface LogoutDeps extends InteractionDeps {
  issuer: string;
  /** This server's published keys, which a hint must verify with. */
  jwks(): Promise<JSONWebKeySet>;
}

/** The registered URI with `state` added to its query (§3: "the OP passes this value to the RP using the state parameter"). */
function withState(uri: string, state: string | undefined): string {
  if (state === undefined) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}`;
}

/**
 * Checks the request: verifies the hint, finds the client, and decides whether the
 * redirect URI may be followed. An unknown or disabled `client_id`, or one that is not
 * the hint's audience, is invalid_request.
 */
export async function checkLogoutRequest(
  deps: Pick<LogoutDeps, 'issuer' | 'jwks'> & { store: Pick<Store, 'getClient'> },
  request: LogoutRequest,
): Promise<CheckedLogout> {
  const hint =
    request.idTokenHint === undefined
      ? undefined
      : await readIdTokenHint(request.idTokenHint, deps.issuer, await deps.jwks());
  const hintInvalid = request.idTokenHint !== undefined && hint === undefined;

  let clientId = request.clientId;
  if (hint) {
    if (clientId !== undefined && !hint.audience.includes(clientId)) {
      throw invalidRequest('The client_id is not the client the id_token_hint was issued to', { redirectable: false });
    }
    // An ID token of ours has one audience; with several, only client_id can say which.
    if (clientId === undefined && hint.audience.length === 1) clientId = hint.audience[0];
  }

  let client: ClientRecord | undefined;
  if (clientId !== undefined) {
    const found = await deps.store.getClient(clientId);
    if (found && found.disabledAt === null) client = found;
    else if (request.clientId !== undefined) {
      throw invalidRequest('The client_id is not a registered client', { redirectable: false });
    }
  }

  const checked: CheckedLogout = { ...(client && { client }), ...(hint && { hint }) };
  const uri = request.postLogoutRedirectUri;
  if (uri === undefined) return checked;
  if (hintInvalid) return { ...checked, notFollowed: 'invalid-hint' };
  if (!client) return { ...checked, notFollowed: 'no-client' };
  if (!client.postLogoutRedirectUris.includes(uri)) return { ...checked, notFollowed: 'unregistered' };
  return { ...checked, location: withState(uri, request.state) };
}

/** Whether the person must confirm: someone is signed in and no valid hint names them. */
export function needsConfirmation(checked: CheckedLogout, who: SignedIn | undefined): boolean {
  return who !== undefined && checked.hint?.sub !== who.person.id;
}

export type LogoutResult =
  | {
      done: false;
      /** Who would be signed out. */
      who: SignedIn;
      checked: CheckedLogout;
    }
  | {
      done: true;
      /** Whether a live session ended. */
      endedSession: boolean;
      /** Whose session it was (for the audit log). */
      person?: string;
      checked: CheckedLogout;
    };

/**
 * The end-session request from a browser whose session cookie is `sessionValue`:
 * `confirmed` when the person answered the confirmation page (the caller has checked its
 * CSRF token). Either asks for confirmation or ends the session — the browser's
 * session only, never a grant.
 */
export async function logout(
  deps: LogoutDeps,
  request: LogoutRequest,
  sessionValue: string | undefined,
  confirmed: boolean,
): Promise<LogoutResult> {
  const checked = await checkLogoutRequest(deps, request);
  const who = await signedIn(deps, sessionValue);
  if (!confirmed && needsConfirmation(checked, who)) return { done: false, who: who as SignedIn, checked };
  await endSession(deps, sessionValue);
  return { done: true, endedSession: who !== undefined, ...(who && { person: who.person.id }), checked };
}
