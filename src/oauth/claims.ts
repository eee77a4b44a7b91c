/**
 * The claims about a person that the OpenID Connect scopes release (OpenID Connect Core
 * 1.0 §5.4), the same in an ID token (§2) and at the UserInfo endpoint (§5.3.2): `profile`
 * gives `name` and `preferred_username` (§5.1), `email` gives `email` and
 * `email_verified` — always false, since addresses are set by the operator and Tessera
 * never checks that the person can read mail there — when the person has an address.
 * Claims a person has no value for are left out, not sent empty (§5.3.2).
 */
import type { PersonRecord } from '../store/store.js';

/** Every claim this server can release, for `claims_supported` (OpenID Connect Discovery 1.0 §3). */
export const SUPPORTED_CLAIMS = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'at_hash',
  'sid',
  'name',
  'preferred_username',
  'email',
  'email_verified',
] as const;

export interface ScopeClaims {
  name?: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
}

/** The claims of `person` that `scopes` release (§5.4). */
export function scopeClaims(
  person: Pick<PersonRecord, 'username' | 'displayName' | 'email'>,
  scopes: readonly string[],
): ScopeClaims {
  return {
    ...(scopes.includes('profile') && { name: person.displayName, preferred_username: person.username }),
    ...(scopes.includes('email') && person.email !== null && { email: person.email, email_verified: false }),
  };
}

/**
 * What each OpenID Connect scope lets the app learn, in the words the consent page shows
 * (RFC 6819 §5.2.4.2: the person should understand what they allow).
 */
export const OPENID_SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'Who you are: the account you sign in with here',
  profile: 'Your name and username',
  email: 'Your e-mail address',
};
