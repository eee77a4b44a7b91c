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
