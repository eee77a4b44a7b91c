/**
 * The PKB scope policy (PKB REST API authorization): the scope values PATIENT, CLINICIAN
 * and TEAMCOORD are roles. A token carries exactly one role — the one requested, or, when
 * none was, one the person holds and the client is enabled for — and a person may use
 * only a role they hold. Role names match in any letter case and are returned in capitals.
 * Every other scope value is kept apart from the role (scope.ts: a scope is a set of
 * strings); a token's `scope` lists its role first, then the others in request order.
 */
import { invalidScope, type OAuthErrorOptions } from './errors.js';
import { formatScope, parseScope } from './scope.js';

export const ROLES = ['PATIENT', 'CLINICIAN', 'TEAMCOORD'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  PATIENT: 'Patient',
  CLINICIAN: 'Clinician',
  TEAMCOORD: 'Team coordinator',
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

/**
 * The role a `scope` parameter asks for, or undefined when none was asked for.
 * Throws invalid_scope for a value that is not a role, several roles, or a role the client
 * is not enabled for.
 */
export function requestedRole(
  scope: string | undefined,
  clientScopes: readonly string[],
  errorOptions?: OAuthErrorOptions,
): Role | undefined {
  const values = parseScope(scope);
  if (values.length === 0) return undefined;
  const roles = [...new Set(values.map((v) => parseRole(v)))];
  if (roles.some((r) => r === undefined)) {
    throw invalidScope('scope must be one of PATIENT, CLINICIAN or TEAMCOORD', errorOptions);
  }
  if (roles.length > 1) throw invalidScope('Only one role scope may be requested', errorOptions);
  const role = roles[0] as Role;
  if (!clientScopes.includes(role)) {
    throw invalidScope(`This client is not enabled for the ${role} scope`, errorOptions);
  }
  return role;
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

/** A token's scope: its one role first, then the other granted values. */
export function tokenScope(role: Role, others: readonly string[] = []): string {
  return formatScope([role, ...others.filter((v) => v !== role)]);
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
