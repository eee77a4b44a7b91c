/**
 * What an operator does with the people who sign in: the rules for creating them and
 * for their passwords, looking them up, changing a password, disabling, enabling and
 * removing. Used by `tessera user …` and by the demo's seeding; an unknown username or a
 * broken rule is an InvalidInputError. The sign-in check itself is oauth/authenticate.ts.
 */
import { hashPassword } from '../oauth/passwords.js';
import { parseRole, ROLES, type Role } from '../oauth/role-scope.js';
import { clearSignInThrottle, signInThrottleState, type ThrottleState } from '../oauth/sign-in-throttle.js';
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

function checkDisplayName(name: string, fallback: string): string {
  const displayName = name.trim() || fallback;
  if (displayName.length > 200 || /\p{Cc}/u.test(displayName)) {
    throw new InvalidInputError('--name must be at most 200 characters with no control characters');
  }
  return displayName;
}

export async function addPerson(
  store: Pick<Store, 'createPerson' | 'getPersonByUsername'>,
  input: NewPerson,
  now: number,
): Promise<PersonRecord> {
  const username = checkUsername(input.username);
  const roles = parseRoles(input.roles);
  const displayName = checkDisplayName(input.name ?? username, username);
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

/** A person and the sign-in throttle's state for their username (oauth/sign-in-throttle.ts). */
export async function getPersonWithSignIn(
  store: Pick<Store, 'getPersonByUsername' | 'listSignInCounts'>,
  username: string,
  now: number,
): Promise<{ person: PersonRecord; signIn: ThrottleState }> {
  const person = await getPerson(store, username);
  return { person, signIn: await signInThrottleState(store, person.username, now) };
}

/** The throttle's state in words, for `user show`: `throttled from 2 addresses until …` or `not throttled`. */
export function describeSignInState(state: ThrottleState): string {
  const iso = (t: number) => new Date(t).toISOString();
  const parts: string[] = [];
  if (state.addressesUntil !== null) {
    const n = state.throttledAddresses;
    parts.push(`throttled from ${n} address${n === 1 ? '' : 'es'} until ${iso(state.addressesUntil)}`);
  }
  if (state.usernameUntil !== null) {
    parts.push(`every address that failed waits until ${iso(state.usernameUntil)}`);
  }
  const failures =
    state.failures > 0
      ? ` (${state.failures} recent failure${state.failures === 1 ? '' : 's'} from ${state.addresses} address${state.addresses === 1 ? '' : 'es'})`
      : '';
  return `${parts.length > 0 ? parts.join('; ') : 'not throttled'}${failures}`;
}

/** The state as JSON, for `user show --json`. */
export function signInStateJson(state: ThrottleState): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    throttled: state.addressesUntil !== null || state.usernameUntil !== null,
    throttled_addresses: state.throttledAddresses,
    throttled_until: iso(state.addressesUntil),
    username_throttled_until: iso(state.usernameUntil),
    failures: state.failures,
    addresses_with_failures: state.addresses,
  };
}

/**
 * Forgets every sign-in throttle count of a username, from every address (the operator
 * has checked that the person is who they say); how many counts there were. An unknown
 * username is an InvalidInputError, as everywhere in `tessera user`.
 */
export async function unlockSignIn(
  store: Pick<Store, 'getPersonByUsername' | 'clearSignInCounts'>,
  username: string,
): Promise<{ person: PersonRecord; cleared: number }> {
  const person = await getPerson(store, username);
  return { person, cleared: await clearSignInThrottle(store, person.username) };
}

/** What `tessera user update` may change; absent: unchanged. */
export interface PersonChanges {
  name?: string;
  /** Replaces the roles. Not with addRoles/removeRoles. */
  roles?: string[];
  addRoles?: string[];
  removeRoles?: string[];
  /** A new address, or null to remove it. */
  email?: string | null;
}

/** How `user update` ended: the person before and after, what changed, and the grants revoked. */
export interface PersonUpdate {
  before: PersonRecord;
  person: PersonRecord;
  /** The describePerson fields whose value changed. */
  changed: string[];
  removedRoles: Role[];
  grantsRevoked: number;
}

/** Attempts when another change to the same person lands between the read and the write. */
const UPDATE_ATTEMPTS = 5;

/**
 * Changes a person's name, roles or e-mail address with the rules of `user add`. A role
 * taken away revokes, in the same transaction, their grants that carry it (a token speaks
 * for one role, which the person must hold); nothing else ends.
 */
export async function updatePerson(
  store: Pick<Store, 'getPersonByUsername' | 'updatePerson'>,
  username: string,
  changes: PersonChanges,
  now: number,
): Promise<PersonUpdate> {
  const { name, roles, addRoles = [], removeRoles = [], email } = changes;
  if (
    name === undefined &&
    roles === undefined &&
    addRoles.length === 0 &&
    removeRoles.length === 0 &&
    email === undefined
  ) {
    throw new InvalidInputError(`nothing to update: give at least one option (see 'tessera user update --help')`);
  }
  if (roles !== undefined && (addRoles.length > 0 || removeRoles.length > 0)) {
    throw new InvalidInputError('use --role (replaces every role) or --add-role/--remove-role, not both');
  }
  for (let attempt = 1; ; attempt++) {
    const before = await getPerson(store, username);
    const person: PersonRecord = {
      ...before,
      displayName: name === undefined ? before.displayName : checkDisplayName(name, before.username),
      roles: roles !== undefined ? parseRoles(roles) : editRoles(before.roles, addRoles, removeRoles),
      email: email === undefined ? before.email : email === null ? null : checkEmail(email),
    };
    const removedRoles = ROLES.filter((r) => before.roles.includes(r) && !person.roles.includes(r));
    const was = describePerson(before);
    const is = describePerson(person);
    const changed = Object.keys(is).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(is[k]));
    if (changed.length === 0) return { before, person, changed, removedRoles, grantsRevoked: 0 };
    const revoked = await store.updatePerson(before, person, removedRoles, now);
    if (revoked === 'missing') throw noUser(username);
    if (revoked !== 'changed') return { before, person, changed, removedRoles, grantsRevoked: revoked };
    if (attempt === UPDATE_ATTEMPTS) {
      throw new InvalidInputError(`user '${username}' kept being changed by someone else meanwhile: try again`);
    }
  }
}

/** The roles with `add` added and `remove` taken away; taking away a role they do not hold is refused (a typo would pass unseen). */
function editRoles(current: readonly string[], add: string[], remove: string[]): Role[] {
  const added = add.length > 0 ? parseRoles(add) : [];
  const removed = remove.length > 0 ? parseRoles(remove) : [];
  const both = added.find((r) => removed.includes(r));
  if (both !== undefined) throw new InvalidInputError(`role ${both} is both added and removed`);
  const missing = removed.find((r) => !current.includes(r));
  if (missing !== undefined) throw new InvalidInputError(`the user does not hold the role ${missing}`);
  const result = ROLES.filter((r) => (current.includes(r) || added.includes(r)) && !removed.includes(r));
  if (result.length === 0) {
    throw new InvalidInputError('a person needs at least one role: keep one, or disable or remove the user');
  }
  return result;
}
