/** The secret that signs the server's cookies (RFC 6265 §8.6: a cookie has no integrity of its own). */
import { newSecret } from '../oauth/tokens.js';
import type { Store } from '../store/store.js';
import { InvalidInputError } from './errors.js';

/**
 * The configured secret (TESSERA_SECRET) when there is one, else one generated once and
 * kept in the database, so every instance on the same database signs alike.
 */
export async function cookieSecret(
  store: Pick<Store, 'putSettingIfAbsent'>,
  configured: string | undefined,
): Promise<string> {
  if (checkedServerSecret(configured) !== undefined) return configured as string;
  return store.putSettingIfAbsent('cookie_secret', newSecret());
}

/** TESSERA_SECRET as given, when it is long enough (32 characters or more); undefined when not set. */
export function checkedServerSecret(configured: string | undefined): string | undefined {
  if (configured !== undefined && configured.length < 32) {
    throw new InvalidInputError('TESSERA_SECRET must be at least 32 characters');
  }
  return configured;
}
