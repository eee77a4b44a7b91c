/**
 * What an operator does with API scopes: scope values registered server-wide (RFC 6749
 * §3.3 scope-tokens), each with the plain words the consent page shows for it. A client
 * may then be enabled for one (`client add --scope`). Used by `tessera scope …`; a
 * broken rule, a name taken or unknown, or a scope still in use is an InvalidInputError.
 */
import { parseRole } from '../oauth/role-scope.js';
import { isScopeToken, RESERVED_SCOPE_NAMES } from '../oauth/scope.js';
import { InvalidInputError } from './errors.js';
import type { ApiScopeRecord, Store } from '../store/store.js';

/** The longest name: short enough to read in a token's `scope` and on the consent page. */
export const MAX_SCOPE_NAME = 64;
/** The longest description: one line on the consent page. */
export const MAX_SCOPE_DESCRIPTION = 200;

export interface NewApiScope {
  name: string;
  description: string | undefined;
}

/**
 * A name an API scope may take: scope-token characters (RFC 6749 §3.3), not a role in any
 * letter case (PKB roles match without regard to case, so `patient` would be read as the
 * role), and not a name kept for OpenID Connect.
 */
export function checkScopeName(name: string): string {
  if (!isScopeToken(name)) {
    throw new InvalidInputError(
      `scope name '${name}' is not a scope token: use printable ASCII characters other than space, " and \\`,
    );
  }
  if (name.length > MAX_SCOPE_NAME) {
    throw new InvalidInputError(`scope name must be at most ${MAX_SCOPE_NAME} characters`);
  }
  const role = parseRole(name);
  if (role) throw new InvalidInputError(`'${name}' is the role ${role}: roles are built in, not API scopes`);
  if (RESERVED_SCOPE_NAMES.includes(name)) {
    throw new InvalidInputError(`'${name}' is reserved for OpenID Connect (${RESERVED_SCOPE_NAMES.join(', ')})`);
  }
  return name;
}

/** The words the consent page shows: required, one line, trimmed. */
export function checkScopeDescription(description: string | undefined): string {
  const trimmed = description?.trim() ?? '';
  if (trimmed === '') throw new InvalidInputError('--description is required: the words the consent page shows');
  if (trimmed.length > MAX_SCOPE_DESCRIPTION) {
    throw new InvalidInputError(`--description must be at most ${MAX_SCOPE_DESCRIPTION} characters`);
  }
  if (/\p{Cc}/u.test(trimmed)) throw new InvalidInputError('--description must not contain control characters');
  return trimmed;
}

function noScope(name: string): InvalidInputError {
  return new InvalidInputError(`no scope '${name}' ('tessera scope list' shows the registered ones)`);
}

/** Registers an API scope; a name that exists already is an InvalidInputError. */
export async function addApiScope(
  store: Pick<Store, 'createApiScope'>,
  input: NewApiScope,
  now: number,
): Promise<ApiScopeRecord> {
  const scope: ApiScopeRecord = {
    name: checkScopeName(input.name),
    description: checkScopeDescription(input.description),
    createdAt: now,
  };
  if (!(await store.createApiScope(scope))) throw new InvalidInputError(`scope '${scope.name}' already exists`);
  return scope;
}

/** Every API scope, by name. */
export function listApiScopes(store: Pick<Store, 'listApiScopes'>): Promise<ApiScopeRecord[]> {
  return store.listApiScopes();
}

/** The API scope with this name; an unknown name is an InvalidInputError. */
export async function getApiScope(store: Pick<Store, 'listApiScopes'>, name: string): Promise<ApiScopeRecord> {
  const scope = (await store.listApiScopes()).find((s) => s.name === name);
  if (!scope) throw noScope(name);
  return scope;
}

/**
 * Removes an API scope. One still enabled for a client stays (the line names the
 * clients): its tokens and consent page would otherwise name a scope nobody can explain.
 */
export async function removeApiScope(
  store: Pick<Store, 'listApiScopes' | 'listClients' | 'removeApiScope'>,
  name: string,
): Promise<void> {
  await getApiScope(store, name);
  const users = (await store.listClients()).filter((c) => c.scopes.includes(name));
  if (users.length > 0) {
    const named = users.map((c) => `${c.id} (${c.name})`).join(', ');
    throw new InvalidInputError(
      `scope '${name}' is still enabled for ${users.length === 1 ? 'client' : 'clients'} ${named}: remove ${users.length === 1 ? 'that client' : 'those clients'} first`,
    );
  }
  if (!(await store.removeApiScope(name))) throw noScope(name);
}

/** What an API scope looks like to its operator. */
export function describeApiScope(scope: ApiScopeRecord): Record<string, unknown> {
  return { name: scope.name, description: scope.description, created_at: new Date(scope.createdAt).toISOString() };
}
