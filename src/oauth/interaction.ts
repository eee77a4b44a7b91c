/**
 * The interaction between the authorization endpoint and the token it issues: a validated
 * request is kept on the server as a pending authorization (bound to the browser that
 * sent it), the person signs in, consents, and the authorization completes (RFC 6749
 * §4.1.1–§4.1.2: "the authorization server authenticates the resource owner and
 * establishes whether the resource owner grants or denies the client's access request").
 * This module decides what comes next — sign-in, consent, or done — and makes every
 * store call on the way; the HTTP routes only render its answers and carry its cookies.
 * A browser that signed in before keeps a session (stored, so any instance serves any
 * step) that skips the sign-in page; OpenID Connect's `prompt`, `max_age` and
 * `id_token_hint` and the client's skip-consent decide the rest (interactionPolicy).
 * Where a person goes after signing in comes only from the stored request: there is no
 * `next` URL to tamper with.
 */
import type { AuthorizationRequest } from './authorize.js';
import {
  allowAuthorization,
  denyAuthorization,
  refuseAuthorization,
  type Authorized,
  type CompletionDeps,
} from './complete-authorization.js';
import { consentRequired, interactionRequired, loginRequired, type OAuthError } from './errors.js';
import type { IdTokenHint } from './id-token-hint.js';
import { checkPassword, registeredUsername } from './authenticate.js';
import { OPENID_SCOPE_DESCRIPTIONS } from './claims.js';
import { eligibleRoles, parseRole, usesRoles, type GrantRole } from './role-scope.js';
import { admitSignInAttempt, noteSignInSuccess, type ThrottlePolicy } from './sign-in-throttle.js';
import { hashSecret, newSecret, type Lifetimes } from './tokens.js';
import type {
  ClientRecord,
  PendingAuthorizationRecord,
  PersonRecord,
  SignInSessionRecord,
  Store,
} from '../store/store.js';

export interface InteractionDeps {
  store: Pick<
    Store,
    | 'createPendingAuthorization'
    | 'getPendingAuthorization'
    | 'setPendingAuthorizationPerson'
    | 'takePendingAuthorization'
    | 'getClient'
    | 'getPerson'
    | 'getPersonByUsername'
    | 'createSignInSession'
    | 'getSignInSession'
    | 'touchSignInSession'
    | 'deleteSignInSession'
    | 'updateSignInCounts'
    | 'clearSignInFailures'
    | 'listApiScopes'
  >;
  lifetimes: Lifetimes;
  throttle: ThrottlePolicy;
  now: number;
}

/** A pending authorization with the request it holds. */
export interface Interaction {
  pending: PendingAuthorizationRecord;
  request: AuthorizationRequest;
}

/** Keeps a validated request on the server, bound to the browser (by its cookie's hash). */
export async function startInteraction(
  deps: InteractionDeps,
  request: AuthorizationRequest,
  browserHash: string,
): Promise<Interaction> {
  const pending: PendingAuthorizationRecord = {
    id: newSecret(),
    clientId: request.clientId,
    request: JSON.stringify(request),
    browserHash,
    personId: null,
    createdAt: deps.now,
    expiresAt: deps.now + deps.lifetimes.pendingAuthorization * 1000,
  };
  await deps.store.createPendingAuthorization(pending);
  return { pending, request };
}

/** The pending authorization `id` names, while it lasts. */
export async function findInteraction(deps: InteractionDeps, id: string | undefined): Promise<Interaction | undefined> {
  const pending = id ? await deps.store.getPendingAuthorization(id, deps.now) : undefined;
  return pending && { pending, request: JSON.parse(pending.request) as AuthorizationRequest };
}

/** The client the interaction is for, unless it has been removed or disabled meanwhile. */
export async function interactionClient(
  deps: InteractionDeps,
  interaction: Interaction,
): Promise<ClientRecord | undefined> {
  const client = await deps.store.getClient(interaction.pending.clientId);
  return client && client.disabledAt === null ? client : undefined;
}

/** Who is signed in on a browser: the session its cookie names, and its person. */
export interface SignedIn {
  person: PersonRecord;
  session: SignInSessionRecord;
}

/** The browser session a cookie names and its person, while the session lasts and the person is enabled. */
export async function signedIn(deps: InteractionDeps, sessionValue: string | undefined): Promise<SignedIn | undefined> {
  if (!sessionValue) return undefined;
  const session = await deps.store.getSignInSession(hashSecret(sessionValue), deps.now);
  const person = session && (await deps.store.getPerson(session.personId));
  return person && person.disabledAt === null ? { person, session } : undefined;
}

/**
 * The roles a person may use for this request (role-scope.ts); `[null]` for a client
 * enabled for no role: any enabled person may use it, and the grant carries no role.
 */
export function rolesFor(person: PersonRecord, interaction: Interaction, client: ClientRecord): GrantRole[] {
  if (!usesRoles(client.scopes)) return [null];
  return eligibleRoles(person.roles, client.scopes, interaction.request.role);
}

/** A scope value the request asks for besides its role, with the words the consent page shows for it. */
export interface ScopeOnConsent {
  name: string;
  /** What the operator registered for it (`tessera scope add`); absent for a value with none. */
  description?: string;
}

/**
 * The values the request asks for besides its role, in request order, each described as
 * registered: the person should understand what access they grant before allowing it
 * (RFC 6819 §5.2.4.2, informed decisions based on transparency). OpenID scopes have
 * fixed words (claims.ts). A value with no description — an API scope removed since the
 * request was made — comes without one; the page still names it.
 */
export async function describeRequestedScopes(
  deps: InteractionDeps,
  interaction: Interaction,
): Promise<ScopeOnConsent[]> {
  const asked = interaction.request.scopes ?? [];
  if (asked.length === 0) return [];
  const registered = new Map([
    ...Object.entries(OPENID_SCOPE_DESCRIPTIONS),
    ...(await deps.store.listApiScopes()).map((s) => [s.name, s.description] as const),
  ]);
  return asked.map((name) => {
    const description = registered.get(name);
    return description === undefined ? { name } : { name, description };
  });
}

/**
 * What comes next for a pending authorization, decided from what is known — the pure
 * part of the interaction policy (OpenID Connect Core 1.0 §3.1.2.3, §3.1.2.4):
 * - `login`: the password is needed (no usable session, `prompt=login`, `max_age`), or the
 *   signed-in person holds no role the request may use (`problem: 'role'`);
 * - `consent`: the consent page (always, unless the client skips consent and the role is
 *   unambiguous; `prompt=consent` asks for it even then);
 * - `complete`: no page at all — the authorization completes with this role;
 * - `refuse`: the client gets this error (`prompt=none` where a page would be needed,
 *   §3.1.2.6; an `id_token_hint` that is not valid or names someone else).
 */
export type PolicyStep =
  | { show: 'login'; problem?: 'role' }
  | { show: 'consent' }
  | { show: 'complete'; role: GrantRole }
  | { show: 'refuse'; error: OAuthError };

export interface PolicyInput {
  request: Pick<AuthorizationRequest, 'prompt' | 'maxAge'>;
  /** When the pending authorization was made: a sign-in since then was made for this very request. */
  pendingCreatedAt: number;
  skipConsent: boolean;
  /** The browser's live session with its enabled person, if any. */
  who?: SignedIn;
  /** The roles that person may use for this request. */
  roles: readonly GrantRole[];
  /** What the `id_token_hint` said: absent when none was sent, `invalid` when it is no ID token of this server. */
  hint?: { sub: string } | 'invalid';
}

export function interactionPolicy(input: PolicyInput): PolicyStep {
  const prompts = input.request.prompt ?? [];
  const none = prompts.includes('none');
  // §3.1.2.6: with prompt=none, whatever would need a page is an error for the client instead.
  const refuse = (error: OAuthError): PolicyStep => ({ show: 'refuse', error });
  const page = (step: PolicyStep, error: () => OAuthError): PolicyStep => (none ? refuse(error()) : step);
  const signInAgain = () => loginRequired('The person must sign in');

  if (input.hint === 'invalid')
    return refuse(loginRequired('The id_token_hint is not a valid ID token of this server'));
  const { who } = input;
  if (!who) return page({ show: 'login' }, signInAgain);
  // prompt=login (select_account: there is no account chooser, so the same) and max_age
  // (§3.1.2.1) want a sign-in no older than the request (max_age: than that many seconds
  // before it). Measured against the request's arrival, a sign-in made for this very
  // request always satisfies them, however long the consent page then takes.
  const reauthenticate = prompts.includes('login') || prompts.includes('select_account');
  const maxAge = reauthenticate ? 0 : input.request.maxAge;
  if (maxAge !== undefined && who.session.createdAt < input.pendingCreatedAt - maxAge * 1000) {
    return page({ show: 'login' }, signInAgain);
  }
  // §3.1.2.1 id_token_hint: "If the End-User identified by the ID Token is logged in or is
  // logged in by the request, then the Authorization Server returns a positive response;
  // otherwise, it SHOULD return an error, such as login_required."
  if (input.hint !== undefined && input.hint.sub !== who.person.id) {
    return refuse(loginRequired('The person signed in is not the one the id_token_hint names'));
  }
  if (input.roles.length === 0) {
    return page({ show: 'login', problem: 'role' }, () =>
      loginRequired('The person signed in holds no role this client may use'),
    );
  }
  if (!input.skipConsent || prompts.includes('consent')) {
    return page({ show: 'consent' }, () => consentRequired('The person must allow this client'));
  }
  const [role] = input.roles;
  if (input.roles.length > 1 || role === undefined) {
    return page({ show: 'consent' }, () => interactionRequired('The person must choose a role'));
  }
  return { show: 'complete', role };
}

/** What the browser must be shown next. */
export type NextStep =
  | { show: 'login'; problem?: 'role' }
  | ({ show: 'consent'; roles: GrantRole[] } & SignedIn)
  /**
   * Finished without a page (completed, or refused): the browser goes to the client.
   * `authorized` when completed: the grant made without a consent page.
   */
  | { show: 'client'; location: string; authorized?: Authorized }
  /** The pending authorization was finished meanwhile (another tab, a form posted twice). */
  | { show: 'expired' };

/** Reads an `id_token_hint` (id-token-hint.ts, with the server's issuer and published keys). */
export type HintReader = (hint: string) => Promise<IdTokenHint | undefined>;

export type StepDeps = InteractionDeps &
  CompletionDeps & {
    readHint: HintReader;
  };

/**
 * Runs the interaction policy for this browser and acts on it: a usable session is
 * recorded on the pending authorization (its person is who consents) and its idle end
 * moves on; an authorization that needs no page is completed or refused at once.
 * Called when the request arrives and again on the consent page, so a session that ended
 * or changed meanwhile is noticed.
 */
export async function nextStep(
  deps: StepDeps,
  interaction: Interaction,
  client: ClientRecord,
  sessionValue: string | undefined,
): Promise<NextStep> {
  const { request, pending } = interaction;
  const who = await signedIn(deps, sessionValue);
  const roles = who ? rolesFor(who.person, interaction, client) : [];
  const hinted = request.idTokenHint !== undefined ? await deps.readHint(request.idTokenHint) : undefined;
  const step = interactionPolicy({
    request,
    pendingCreatedAt: pending.createdAt,
    skipConsent: client.skipConsent,
    ...(who && { who }),
    roles,
    ...(request.idTokenHint !== undefined && { hint: hinted ?? 'invalid' }),
  });
  if (step.show === 'login') return step;
  if (step.show === 'refuse') {
    if (!(await deps.store.takePendingAuthorization(pending.id, deps.now))) return { show: 'expired' };
    return { show: 'client', location: refuseAuthorization(request, step.error, deps.issuer, deps.responseTypes) };
  }
  const signedInPerson = who as SignedIn;
  await deps.store.touchSignInSession(
    signedInPerson.session.hash,
    deps.now,
    deps.now + deps.lifetimes.sessionIdle * 1000,
  );
  if (step.show === 'consent') {
    if (pending.personId !== signedInPerson.person.id) {
      await deps.store.setPendingAuthorizationPerson(pending.id, signedInPerson.person.id);
    }
    return { show: 'consent', roles, ...signedInPerson };
  }
  if (!(await deps.store.takePendingAuthorization(pending.id, deps.now))) return { show: 'expired' };
  const authorized = await allowAuthorization(request, signedInPerson, step.role, client, deps);
  return { show: 'client', location: authorized.location, authorized };
}

export type SignInResult =
  | { ok: true; person: PersonRecord; /** The new session cookie's value. */ session: string }
  | {
      ok: false;
      problem: 'credentials' | 'role';
      /** A failure that started a wait (a lockout), and until when. */ locks?: Locks;
      /** The registered spelling of the typed username, or null when it names nobody (for the audit log). */
      username: string | null;
    }
  | {
      ok: false;
      problem: 'locked';
      /** When the attempt could be checked, roughly. */ retryAt: number;
      username: string | null;
    };

/** The waits a failed attempt started: for its address, for the username (null: none). */
export interface Locks {
  address: number | null;
  username: number | null;
}

/**
 * Checks a username and password, sent from `address`, for this request. The attempt is
 * counted before the password is checked (sign-in-throttle.ts). On success a new browser session replaces
 * the old one (no session fixation) and the request records who signed in.
 */
export async function signIn(
  deps: InteractionDeps,
  interaction: Interaction,
  client: ClientRecord,
  credentials: { username: string; password: string; address: string },
  oldSession: string | undefined,
): Promise<SignInResult> {
  const { store, now } = deps;
  const { username, password, address } = credentials;
  const admission = await admitSignInAttempt(store, username, address, now, deps.throttle);
  if (!admission.admitted) {
    return {
      ok: false,
      problem: 'locked',
      retryAt: admission.retryAt,
      username: await registeredUsername(store, username),
    };
  }
  const { person, registered } = await checkPassword(store, username, password);
  if (!person) {
    const { locks } = admission;
    return {
      ok: false,
      problem: 'credentials',
      username: registered,
      ...((locks.address ?? locks.username) !== null && { locks }),
    };
  }
  await noteSignInSuccess(store, username, address);
  if (rolesFor(person, interaction, client).length === 0) return { ok: false, problem: 'role', username: registered };

  if (oldSession) await store.deleteSignInSession(hashSecret(oldSession));
  const session = newSecret();
  await store.createSignInSession({
    hash: hashSecret(session),
    personId: person.id,
    createdAt: now,
    expiresAt: now + Math.min(deps.lifetimes.sessionIdle, deps.lifetimes.sessionMax) * 1000,
    maxExpiresAt: now + deps.lifetimes.sessionMax * 1000,
  });
  await store.setPendingAuthorizationPerson(interaction.pending.id, person.id);
  return { ok: true, person, session };
}

/** Ends the browser's session ("sign in as someone else", or signing out). */
export async function endSession(deps: InteractionDeps, sessionValue: string | undefined): Promise<void> {
  if (sessionValue) await deps.store.deleteSignInSession(hashSecret(sessionValue));
}

/**
 * Cancel on the sign-in page: the person ends the request without signing in, and the
 * app hears access_denied (RFC 6749 §4.1.2.1) as after Deny. Taking the pending
 * authorization is the claim, so it ends once; undefined when it was already over.
 */
export async function cancel(
  deps: InteractionDeps & CompletionDeps,
  interaction: Interaction,
): Promise<string | undefined> {
  const taken = await deps.store.takePendingAuthorization(interaction.pending.id, deps.now);
  if (!taken) return undefined;
  return denyAuthorization(interaction.request, deps.issuer, deps.responseTypes);
}

export type ConsentResult =
  | {
      done: true;
      decision: 'allow' | 'deny';
      /** Where the browser goes: the client's redirect URI. */ location: string;
      /** When allowed: the grant made. */
      authorized?: Authorized;
    }
  | { done: false; problem: 'choose-role' | 'allow-or-deny' | 'expired' | 'person-changed' };

/**
 * The person's answer on the consent page: `allow` with one of the offered roles (chosen,
 * or the only one), or `deny`. Taking the pending authorization is the claim, so a form
 * posted twice completes once.
 */
export async function decide(
  deps: InteractionDeps & CompletionDeps,
  interaction: Interaction,
  client: ClientRecord,
  who: SignedIn & { roles: GrantRole[] },
  answer: { decision: string | undefined; role: string | undefined },
): Promise<ConsentResult> {
  // The page named the person recorded on the pending authorization; if another person has
  // signed in on this browser since, they must see the page for themselves first.
  if (interaction.pending.personId !== who.person.id) return { done: false, problem: 'person-changed' };
  const { decision } = answer;
  const role: GrantRole | undefined =
    answer.role !== undefined ? parseRole(answer.role) : who.roles.length === 1 ? who.roles[0] : undefined;
  if (decision !== 'deny' && (decision !== 'allow' || role === undefined || !who.roles.includes(role))) {
    return { done: false, problem: decision === 'allow' ? 'choose-role' : 'allow-or-deny' };
  }
  const taken = await deps.store.takePendingAuthorization(interaction.pending.id, deps.now);
  if (!taken) return { done: false, problem: 'expired' };
  if (decision === 'deny') {
    return { done: true, decision, location: denyAuthorization(interaction.request, deps.issuer, deps.responseTypes) };
  }
  const authorized = await allowAuthorization(interaction.request, who, role as GrantRole, client, deps);
  return { done: true, decision, location: authorized.location, authorized };
}
