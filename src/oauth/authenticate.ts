/** The sign-in check: a username and password against the people in the store. */
import { decoyPasswordHash, verifyPassword } from './passwords.js';
import type { PersonRecord, Store } from '../store/store.js';

/**
 * The person with this username and password, or undefined. Unknown usernames, wrong
 * passwords and disabled people look and take the same, so the answer says nothing
 * about which usernames exist.
 */
export async function authenticatePerson(
  store: Pick<Store, 'getPersonByUsername'>,
  username: string,
  password: string,
): Promise<PersonRecord | undefined> {
  const person = username.length <= 100 ? await store.getPersonByUsername(username) : undefined;
  const ok = await verifyPassword(password.slice(0, 1024), person?.passwordHash ?? (await decoyPasswordHash()));
  return ok && person && person.disabledAt === null ? person : undefined;
}

/**
 * The registered spelling of a typed username, or undefined when it names nobody: what
 * the audit log may say about a failed sign-in (a typed name that names nobody may be a
 * password typed into the wrong field, so it is not logged).
 */
export async function registeredUsername(
  store: Pick<Store, 'getPersonByUsername'>,
  typed: string,
): Promise<string | undefined> {
  return typed.length <= 100 && typed !== '' ? (await store.getPersonByUsername(typed))?.username : undefined;
}
