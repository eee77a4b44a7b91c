/**
 * The PKB scope policy (PKB REST API authorization): the scope values PATIENT, CLINICIAN
 * and TEAMCOORD are roles. A token carries exactly one role — the one requested, or, when
 * none was, one the person holds and the client is enabled for — and a person may use
 * only a role they hold. Role names match in any letter case and are returned in capitals.
 * Every other scope value — an API scope, an OpenID scope — is case-sensitive, as RFC 6749
 * §3.3 has it, and must be one the client is enabled for; it is kept apart from the role
 * (scope.ts: a scope is a set of strings). A token's `scope` lists its role first, then
 * the others in request order.
 */
import { invalidScope, type OAuthErrorOptions } from './errors.js';
import { formatScope, isScopeToken, parseScope } from './scope.js';

export const ROLES = ['PATIENT', 'CLINICIAN', 'TEAMCOORD'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  PATIENT: 'Patient',
  CLINICIAN: 'Clinician',
  TEAMCOORD: 'Team coordinator',
};

/**
 * What an app may do for a person in each role, in one sentence for the consent page: the
 * PKB roles are a patient's own record, a clinician's care of the patients who share
 * their record with them, and a team coordinator's running of a care team.
 */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  PATIENT: 'See and add to your own health record, such as your test results, letters and messages, in your name.',
  CLINICIAN:
    'See and update the records of the patients who share them with you, and message them, in your name as their clinician.',
  TEAMCOORD:
    "Run your care team's administration in your name, such as inviting patients and managing the team's members.",
};

/** A role name in any letter case, or undefined when it is not a role. */
export function parseRole(value: string): Role | undefined {
  const upper = value.toUpperCase();
  return (ROLES as readonly string[]).includes(upper) ? (upper as Role) : undefined;
}

/** The roles among a list of scope values (a client's enabled scopes, a person's roles). */
export function rolesIn(values: readonly string[]): Role[] {
  return ROLES.filter((r) => values.includes(r));
}

/** What an authorization request's `scope` asks for: at most one role, and the other scope values. */
export interface RequestedScope {
  /** The role asked for, in capitals; undefined to let the person's roles decide. */
  role?: Role;
  /** The other values (API scopes, OpenID scopes), exactly as sent, each once, in request order. */
  others: string[];
}

/** A value short and plain enough to name in an error_description. */
function named(value: string): string {
  return isScopeToken(value) && value.length <= 64 ? ` ${value}` : '';
}

/**
 * The scope an authorization request asks for (RFC 6749 §3.3, §4.1.2.1 invalid_scope):
 * space-delimited values in any order; at most one role, in any letter case; every other
 * value case-sensitive and one the client is enabled for. Throws invalid_scope for a
 * second role, a role the client is not enabled for, or any other value the client is not
 * enabled for (whether or not the server knows it).
 */
export function requestedScope(
  scope: string | undefined,
  clientScopes: readonly string[],
  errorOptions?: OAuthErrorOptions,
): RequestedScope {
  let role: Role | undefined;
  const others: string[] = [];
  for (const value of parseScope(scope)) {
    const asRole = parseRole(value);
    if (asRole === undefined) {
      if (!clientScopes.includes(value)) {
        throw invalidScope(`This client may not ask for the scope${named(value)}`, errorOptions);
      }
      others.push(value);
    } else if (role !== undefined && role !== asRole) {
      throw invalidScope('Only one role scope may be requested', errorOptions);
    } else if (!clientScopes.includes(asRole)) {
      throw invalidScope(`This client is not enabled for the ${asRole} scope`, errorOptions);
    } else {
      role = asRole;
    }
  }
  return role === undefined ? { others } : { role, others };
}

/**
 * What a grant acts as: one of PKB's roles, or `null` for a client enabled for no role at
 * all — an OpenID Connect app that only signs people in, or an app of the operator's own
 * API scopes — whose tokens carry no role and which any enabled person may use.
 */
export type GrantRole = Role | null;

/** Whether a client is enabled for any role (PKB's rule applies to it). */
export function usesRoles(clientScopes: readonly string[]): boolean {
  return clientScopes.some((s) => (ROLES as readonly string[]).includes(s));
}

/** The roles a person may use with a client: the requested one, or all the client allows. */
export function eligibleRoles(
  personRoles: readonly string[],
  clientScopes: readonly string[],
  requested?: Role,
): Role[] {
  const wanted = requested ? [requested] : clientScopes;
  return ROLES.filter((r) => wanted.includes(r) && personRoles.includes(r));
}

/** A token's scope: its one role first (when it has one), then the other granted values. */
export function tokenScope(role: GrantRole, others: readonly string[] = []): string {
  return role === null ? formatScope(others) : formatScope([role, ...others.filter((v) => v !== role)]);
}

/**
 * The role a token's scope carries (its first value), or undefined when it has none.
 * `scope` is what the store kept: space-delimited, role in capitals.
 */
export function roleOf(scope: string): Role | undefined {
  const first = parseScope(scope)[0];
  return first === undefined ? undefined : (ROLES as readonly string[]).includes(first) ? (first as Role) : undefined;
}

/**
 * A refresh request's `scope` (RFC 6749 §6): it may narrow what was granted, never widen
 * it, and never changes the role — every value asked for must have been granted (a role
 * in any letter case); the role stays whether or not it is named. Returns the scope of
 * the new tokens.
 */
export function narrowedScope(requested: string | undefined, granted: string): string {
  const asked = parseScope(requested).map((v) => parseRole(v) ?? v);
  if (asked.length === 0) return granted;
  const grantedValues = parseScope(granted);
  if (asked.some((v) => !grantedValues.includes(v))) {
    throw invalidScope(`The scope may only narrow: this refresh token carries ${granted}`);
  }
  const role = roleOf(granted);
  const others = asked.filter((v) => v !== role);
  return role === undefined ? formatScope(others) : tokenScope(role, others);
}
