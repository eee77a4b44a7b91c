/**
 * Role scopes (PKB REST API authorization): a token carries exactly one of PATIENT,
 * CLINICIAN or TEAMCOORD. RFC 6749 §3.3 makes scope a space-delimited list; PKB makes
 * each value a role, so more than one value is refused as invalid_scope.
 */
import { invalidScope, type OAuthErrorOptions } from './errors.js';

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

/**
 * The role a `scope` parameter asks for, or undefined when none was asked for.
 * Throws invalid_scope for an unknown role, several roles, or a role the client is not
 * enabled for.
 */
export function requestedRole(
  scope: string | undefined,
  clientRoles: readonly Role[],
  errorOptions?: OAuthErrorOptions,
): Role | undefined {
  if (scope === undefined) return undefined;
  const values = scope.split(' ').filter((v) => v !== '');
  if (values.length === 0) return undefined;
  const roles = [...new Set(values.map((v) => parseRole(v)))];
  if (roles.some((r) => r === undefined)) {
    throw invalidScope('scope must be one of PATIENT, CLINICIAN or TEAMCOORD', errorOptions);
  }
  if (roles.length > 1) throw invalidScope('Only one role scope may be requested', errorOptions);
  const role = roles[0] as Role;
  if (!clientRoles.includes(role)) {
    throw invalidScope(`This client is not enabled for the ${role} scope`, errorOptions);
  }
  return role;
}

/** The roles a person may use with a client: the requested one, or all the client allows. */
export function eligibleRoles(personRoles: readonly Role[], clientRoles: readonly Role[], requested?: Role): Role[] {
  const wanted = requested ? [requested] : clientRoles;
  return ROLES.filter((r) => wanted.includes(r) && personRoles.includes(r));
}
