/** The people who sign in: creation rules and password checks. */
import { hashPassword } from '../oauth/passwords.js';
import { parseRole, ROLES, type Role } from '../oauth/scope.js';
import { newId } from '../oauth/tokens.js';
import { InvalidInputError } from './errors.js';
import type { PersonRecord, Store } from '../store/store.js';

export interface NewPerson {
  username: string;
  password: string;
  roles: string[];
  name?: string;
}

export function checkUsername(username: string): string {
  // It starts with a letter or digit: `tessera user show -x` would read as an option.
  if (!/^[\p{L}\p{N}][\p{L}\p{N}._@+-]{0,99}$/u.test(username)) {
    throw new InvalidInputError(
      'username must be 1 to 100 letters, digits or . _ @ + -, starting with a letter or digit (no spaces)',
    );
  }
  return username;
}

export function checkPassword(password: string): string {
  if (password.length < 8) throw new InvalidInputError('password must be at least 8 characters');
  if (password.length > 1024) throw new InvalidInputError('password must be at most 1024 characters');
  return password;
}

function parseRoles(values: string[]): Role[] {
  if (values.length === 0)
    throw new InvalidInputError('at least one --role is required (PATIENT, CLINICIAN, TEAMCOORD)');
  const roles = values.map((v) => {
    const role = parseRole(v);
    if (!role) throw new InvalidInputError(`unknown role '${v}': use PATIENT, CLINICIAN or TEAMCOORD`);
    return role;
  });
  return ROLES.filter((r) => roles.includes(r));
}

export async function addPerson(
  store: Pick<Store, 'createPerson'>,
  input: NewPerson,
  now: number,
): Promise<PersonRecord> {
  const username = checkUsername(input.username);
  const roles = parseRoles(input.roles);
  const displayName = (input.name ?? username).trim() || username;
  if (displayName.length > 200 || /\p{Cc}/u.test(displayName)) {
    throw new InvalidInputError('--name must be at most 200 characters with no control characters');
  }
  const person: PersonRecord = {
    id: newId(),
    username,
    displayName,
    passwordHash: await hashPassword(checkPassword(input.password)),
    roles,
    createdAt: now,
    disabledAt: null,
  };
  if (!(await store.createPerson(person))) throw new InvalidInputError(`user '${username}' already exists`);
  return person;
}

export function describePerson(person: PersonRecord): Record<string, unknown> {
  return {
    id: person.id,
    username: person.username,
    name: person.displayName,
    roles: person.roles,
    disabled: person.disabledAt !== null,
    created_at: new Date(person.createdAt).toISOString(),
  };
}
