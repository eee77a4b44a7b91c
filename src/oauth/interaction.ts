/**
 * The interaction between the authorization endpoint and the token it issues: a validated
 * request is kept on the server as a pending authorization (bound to the browser that
 * sent it), the person signs in, consents, and the authorization completes (RFC 6749
 * §4.1.1–§4.1.2: "the authorization server authenticates the resource owner and
 * establishes whether the resource owner grants or denies the client's access request").
 * This module decides what comes next — sign-in, consent, or done — and makes every
 * store call on the way; the HTTP routes only render its answers and carry its cookies.
 * Where a person goes after signing in comes only from the stored request: there is no
 * `next` URL to tamper with.
 */
import type { AuthorizationRequest } from './authorize.js';
import { allowAuthorization, denyAuthorization, type CompletionDeps } from './complete-authorization.js';
import { authenticatePerson } from './authenticate.js';
import { eligibleRoles, parseRole, type Role } from './role-scope.js';
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
    | 'deleteSignInSession'
    | 'recordSignInAttempt'
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

/** Keeps a validated request on the server, bound to the browser (by its cookie's hash); returns its id. */
export async function startInteraction(
  deps: InteractionDeps,
  request: AuthorizationRequest,
  browserHash: string,
): Promise<string> {
  const id = newSecret();
  await deps.store.createPendingAuthorization({
    id,
    clientId: request.clientId,
    request: JSON.stringify(request),
    browserHash,
    personId: null,
    createdAt: deps.now,
    expiresAt: deps.now + deps.lifetimes.pendingAuthorization * 1000,
  });
  return id;
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

/** The roles a person may use for this request (role-scope.ts). */
export function rolesFor(person: PersonRecord, interaction: Interaction, client: ClientRecord): Role[] {
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
 * (RFC 6819 §5.2.4.2, informed decisions based on transparency). A value with no
 * registered description — an OpenID scope, or an API scope removed since the request
 * was made — comes without one; the page still names it.
 */
export async function describeRequestedScopes(
  deps: InteractionDeps,
  interaction: Interaction,
): Promise<ScopeOnConsent[]> {
  const asked = interaction.request.scopes ?? [];
  if (asked.length === 0) return [];
  const registered = new Map((await deps.store.listApiScopes()).map((s) => [s.name, s.description]));
  return asked.map((name) => {
    const description = registered.get(name);
    return description === undefined ? { name } : { name, description };
  });
}

/** What the browser must be shown next. */
export type NextStep = { show: 'login'; problem?: 'role' } | ({ show: 'consent'; roles: Role[] } & SignedIn);

/**
 * Consent needs the person who signed in for this very request, still signed in on this
 * browser and holding a role the request may use; anything else goes back to sign-in.
 */
export async function nextStep(
  deps: InteractionDeps,
  interaction: Interaction,
  client: ClientRecord,
  sessionValue: string | undefined,
): Promise<NextStep> {
  const who = await signedIn(deps, sessionValue);
  if (!who || who.person.id !== interaction.pending.personId) return { show: 'login' };
  const roles = rolesFor(who.person, interaction, client);
  if (roles.length === 0) return { show: 'login', problem: 'role' };
  return { show: 'consent', roles, ...who };
}

export type SignInResult =
  | { ok: true; person: PersonRecord; /** The new session cookie's value. */ session: string }
  | { ok: false; problem: 'locked' | 'credentials' | 'role' };

/**
 * Checks a username and password for this request. The attempt is counted before the
 * password is checked (sign-in-throttle.ts). On success a new browser session replaces
 * the old one (no session fixation) and the request records who signed in.
 */
export async function signIn(
  deps: InteractionDeps,
  interaction: Interaction,
  client: ClientRecord,
  credentials: { username: string; password: string },
  oldSession: string | undefined,
): Promise<SignInResult> {
  const { store, now } = deps;
  const { username, password } = credentials;
  if (!(await admitSignInAttempt(store, username, now, deps.throttle))) return { ok: false, problem: 'locked' };
  const person = await authenticatePerson(store, username, password);
  if (!person) return { ok: false, problem: 'credentials' };
  await noteSignInSuccess(store, username);
  if (rolesFor(person, interaction, client).length === 0) return { ok: false, problem: 'role' };

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

export type ConsentResult =
  | {
      done: true;
      decision: 'allow' | 'deny';
      /** Where the browser goes: the client's redirect URI. */ location: string;
    }
  | { done: false; problem: 'choose-role' | 'allow-or-deny' | 'expired' };

/**
 * The person's answer on the consent page: `allow` with one of the offered roles (chosen,
 * or the only one), or `deny`. Taking the pending authorization is the claim, so a form
 * posted twice completes once.
 */
export async function decide(
  deps: InteractionDeps & CompletionDeps,
  interaction: Interaction,
  client: ClientRecord,
  who: SignedIn & { roles: Role[] },
  answer: { decision: string | undefined; role: string | undefined },
): Promise<ConsentResult> {
  const { decision } = answer;
  const role = answer.role !== undefined ? parseRole(answer.role) : who.roles.length === 1 ? who.roles[0] : undefined;
  if (decision !== 'deny' && (decision !== 'allow' || !role || !who.roles.includes(role))) {
    return { done: false, problem: decision === 'allow' ? 'choose-role' : 'allow-or-deny' };
  }
  const taken = await deps.store.takePendingAuthorization(interaction.pending.id, deps.now);
  if (!taken) return { done: false, problem: 'expired' };
  if (decision === 'deny') {
    return { done: true, decision, location: denyAuthorization(interaction.request, deps.issuer, deps.responseTypes) };
  }
  const location = await allowAuthorization(interaction.request, who, role as Role, client, deps);
  return { done: true, decision, location };
}
