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
  if (configured !== undefined) {
    if (configured.length < 32) throw new InvalidInputError('TESSERA_SECRET must be at least 32 characters');
    return configured;
  }
  return store.putSettingIfAbsent('cookie_secret', newSecret());
}
