/**
 * The ID token (OpenID Connect Core 1.0 §2, §3.1.3.3): the extension of the code grant
 * (and of the refresh grant, §12.2) that tells the client who signed in. It is issued in
 * the token response when the granted scope holds `openid`, signed (§10.1) with the
 * active key of the client's algorithm (`idTokenAlg`: RS256 unless registered otherwise,
 * signing-keys.ts), header `typ: JWT`. Claims: `iss`, `sub` (the person's stable id, the
 * same as everywhere else), `aud` (the client_id), `exp` (it lives as long as the access
 * token beside it, so the keys' retention covers it), `iat`, `auth_time` (when the person
 * entered a password, §2), `nonce` (the authentication request's, §3.1.2.1 — in the
 * code grant's ID token only: a refreshed one SHOULD NOT carry it, §12.2), `at_hash`
 * (§3.1.3.6), `sid` (the browser session, Front-Channel Logout 1.0 §3) and the claims
 * of the granted `profile` and `email` scopes (claims.ts). A refresh keeps `sub` and
 * `auth_time` (§12.2): both come from the grant.
 */
import { createHash } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { scopeClaims } from './claims.js';
import { invalidGrant } from './errors.js';
import { parseScope, scopeHas } from './scope.js';
import { isSigningAlg, type KeyStore, type SigningAlg } from './signing-keys.js';
import { sessionSid } from './tokens.js';
import type { ClientRecord, GrantRecord, PersonRecord, Store } from '../store/store.js';

/**
 * The hash behind `at_hash` for each algorithm (§3.1.3.6: the one of the JWS `alg`). EdDSA
 * names no hash; Ed25519 uses SHA-512 internally, which is what node-oidc-provider and
 * the OpenID Foundation's conformance suite take for it.
 */
const AT_HASH_DIGEST: Record<SigningAlg, 'sha256' | 'sha512'> = { RS256: 'sha256', ES256: 'sha256', EdDSA: 'sha512' };

/** §3.1.3.6: base64url of the left-most half of the hash of the access token's ASCII octets. */
export function atHash(accessToken: string, alg: SigningAlg): string {
  const digest = createHash(AT_HASH_DIGEST[alg]).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The person an ID token is about, and whether it repeats the authentication request's nonce. */
export interface IdTokenSubject {
  person: PersonRecord;
  /** The code grant's ID token repeats the request's nonce; a refreshed one leaves it out (§12.2). */
  nonce: string | null;
}

export interface IdTokenInput {
  grant: GrantRecord;
  /** The scope of the access token it is issued with. */
  scope: string;
  client: ClientRecord;
  subject: IdTokenSubject;
  issuer: string;
  now: number;
  expiresAt: number;
  /** The access token issued beside it, for `at_hash`. */
  accessToken: string;
}

/** The claims of an ID token (§2, §5.4), without `at_hash`, which needs the algorithm. */
export function idTokenClaims(input: Omit<IdTokenInput, 'accessToken'>): JWTPayload {
  const { grant, scope, client, subject, issuer, now, expiresAt } = input;
  return {
    iss: issuer,
    sub: subject.person.id,
    aud: client.id,
    exp: Math.floor(expiresAt / 1000),
    iat: Math.floor(now / 1000),
    ...(grant.authTime !== null && { auth_time: Math.floor(grant.authTime / 1000) }),
    ...(subject.nonce !== null && { nonce: subject.nonce }),
    ...(grant.sessionId !== null && { sid: sessionSid(grant.sessionId) }),
    ...scopeClaims(subject.person, parseScope(scope)),
  };
}

export interface IdTokenIssuer {
  issue(input: IdTokenInput): Promise<string>;
}

/** ID tokens signed with the key store's active key of each client's algorithm. */
export function idTokens(keys: Pick<KeyStore, 'signingKeyFor'>): IdTokenIssuer {
  return {
    async issue(input) {
      const alg = input.client.idTokenAlg;
      if (!isSigningAlg(alg)) throw new Error(`client ${input.client.id} has an unknown ID token alg ${alg}`);
      const signing = await keys.signingKeyFor(alg);
      return new SignJWT({ ...idTokenClaims(input), at_hash: atHash(input.accessToken, alg) })
        .setProtectedHeader({ alg, kid: signing.kid, typ: 'JWT' })
        .sign(signing.key);
    },
  };
}

/**
 * The person an ID token for `grant` is about when `scope` holds `openid` (§3.1.2.1);
 * undefined for a plain OAuth token or a grant without a person. A person who is gone
 * or disabled gets none: invalid_grant (disabling revokes the grant besides).
 */
export async function openIdPerson(
  grant: GrantRecord,
  scope: string,
  store: Pick<Store, 'getPerson'>,
): Promise<PersonRecord | undefined> {
  if (!scopeHas(scope, 'openid') || grant.personId === null) return undefined;
  const person = await store.getPerson(grant.personId);
  if (person === undefined || person.disabledAt !== null) {
    throw invalidGrant('The person of this authorization can no longer sign in');
  }
  return person;
}
