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
  return (await checkPassword(store, username, password)).person;
}

/**
 * authenticatePerson, and besides the registered spelling of the typed username, or null
 * when it names nobody: what the audit log may say about a failed sign-in (a typed name
 * that names nobody may be a password typed into the wrong field, so it is not logged).
 * One lookup serves both.
 */
export async function checkPassword(
  store: Pick<Store, 'getPersonByUsername'>,
  username: string,
  password: string,
): Promise<{ person: PersonRecord | undefined; registered: string | null }> {
  const found = await lookUp(store, username);
  const ok = await verifyPassword(password.slice(0, 1024), found?.passwordHash ?? (await decoyPasswordHash()));
  return { person: ok && found && found.disabledAt === null ? found : undefined, registered: found?.username ?? null };
}

/** The registered spelling of a typed username, or null (see checkPassword). */
export async function registeredUsername(
  store: Pick<Store, 'getPersonByUsername'>,
  typed: string,
): Promise<string | null> {
  return (await lookUp(store, typed))?.username ?? null;
}

function lookUp(store: Pick<Store, 'getPersonByUsername'>, username: string): Promise<PersonRecord | undefined> {
  return username.length <= 100 && username !== '' ? store.getPersonByUsername(username) : Promise.resolve(undefined);
}
