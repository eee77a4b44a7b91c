/**
 * What an operator does with the people who sign in: the rules for creating them and
 * for their passwords, looking them up, changing a password, disabling, enabling and
 * removing. Used by `tessera user …` and by the demo's seeding; an unknown username or a
 * broken rule is an InvalidInputError. The sign-in check itself is oauth/authenticate.ts.
 */
import { hashPassword } from '../oauth/passwords.js';
import { parseRole, ROLES, type Role } from '../oauth/role-scope.js';
import { newId } from '../oauth/tokens.js';
import { InvalidInputError } from './errors.js';
import type { PersonRecord, Store } from '../store/store.js';

export interface NewPerson {
  username: string;
  password: string;
  roles: string[];
  name?: string;
  /** The `email` claim (OpenID Connect Core §5.1). */
  email?: string;
  /** One of the demo's people (seeded by `serve --demo`): refused by a server without --demo. */
  demo?: boolean;
}

/**
 * An e-mail address as people write one: a local part and a domain, no spaces or control
 * characters, at most 254 characters (RFC 5321 §4.5.3.1.3). Not a full RFC 5322 parser:
 * the address is shown, never mailed to.
 */
export function checkEmail(email: string): string {
  const trimmed = email.trim();
  if (trimmed.length > 254 || !/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u.test(trimmed)) {
    throw new InvalidInputError(`--email must be an e-mail address like name@example.org, not '${email}'`);
  }
  return trimmed;
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
  store: Pick<Store, 'createPerson' | 'getPersonByUsername'>,
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
    email: input.email === undefined ? null : checkEmail(input.email),
    ...(input.demo && { demo: true }),
  };
  if (!(await store.createPerson(person))) {
    // Usernames match without regard to case or Unicode form: `eve` is refused beside `Eve`.
    const existing = await store.getPersonByUsername(username);
    const twin =
      existing && existing.username !== username
        ? ` as '${existing.username}' (usernames match without regard to case)`
        : '';
    throw new InvalidInputError(`user '${username}' already exists${twin}`);
  }
  return person;
}

export function describePerson(person: PersonRecord): Record<string, unknown> {
  return {
    id: person.id,
    username: person.username,
    name: person.displayName,
    email: person.email,
    roles: person.roles,
    disabled: person.disabledAt !== null,
    created_at: new Date(person.createdAt).toISOString(),
    ...(person.demo && { demo: true }),
  };
}

function noUser(username: string): InvalidInputError {
  return new InvalidInputError(`no user '${username}'`);
}

/** Everyone. */
export function listPeople(store: Pick<Store, 'listPeople'>): Promise<PersonRecord[]> {
  return store.listPeople();
}

/** The person with this username, or undefined. */
export function findPerson(
  store: Pick<Store, 'getPersonByUsername'>,
  username: string,
): Promise<PersonRecord | undefined> {
  return store.getPersonByUsername(username);
}

/** The person with this username; an unknown username is an InvalidInputError. */
export async function getPerson(store: Pick<Store, 'getPersonByUsername'>, username: string): Promise<PersonRecord> {
  const person = await store.getPersonByUsername(username);
  if (!person) throw noUser(username);
  return person;
}

/** Removes a person, their sign-in sessions and every token issued to them. */
export async function removePerson(store: Pick<Store, 'removePerson'>, username: string): Promise<void> {
  if (!(await store.removePerson(username))) throw noUser(username);
}

/**
 * Sets a person's password (checked first; the store ends their sign-in sessions); returns
 * them as they are now. With `revokeGrantsAt`, every grant of theirs is revoked too (the
 * old password may have been stolen, and the apps signed in with it kept).
 */
export async function setPassword(
  store: Pick<Store, 'getPersonByUsername' | 'setPassword'>,
  username: string,
  password: string,
  revokeGrantsAt: number | null = null,
): Promise<PersonRecord> {
  const checked = checkPassword(password);
  await getPerson(store, username);
  if (!(await store.setPassword(username, await hashPassword(checked), revokeGrantsAt))) throw noUser(username);
  return getPerson(store, username);
}

/**
 * Disables (`disable`) or enables a person; returns them as they are now and whether
 * anything changed. Disabling twice keeps the first time; enabling an enabled person
 * changes nothing.
 */
export async function setPersonDisabled(
  store: Pick<Store, 'getPersonByUsername' | 'setPersonDisabled'>,
  username: string,
  disable: boolean,
  now: number,
): Promise<{ person: PersonRecord; changed: boolean }> {
  const before = await getPerson(store, username);
  if ((before.disabledAt !== null) === disable) return { person: before, changed: false };
  if (!(await store.setPersonDisabled(username, disable ? now : null))) throw noUser(username);
  return { person: await getPerson(store, username), changed: true };
}
