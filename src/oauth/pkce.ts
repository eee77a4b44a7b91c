/**
 * RFC 7636 Proof Key for Code Exchange, S256 only: `plain` gives no protection against
 * a code intercepted on the way back (RFC 9700 §2.1.1), so it is refused outright.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { invalidGrant, invalidRequest } from './errors.js';

/** RFC 7636 §4.1/§4.2: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Validates the challenge of an authorization request. Returns the challenge, or
 * undefined when none was sent. `code_challenge` without a method means `plain`
 * (RFC 7636 §4.3) and is refused like `plain`.
 */
export function checkChallenge(challenge: string | undefined, method: string | undefined): string | undefined {
  if (challenge === undefined) {
    if (method !== undefined) throw invalidRequest('code_challenge_method was sent without code_challenge');
    return undefined;
  }
  if (method !== 'S256') throw invalidRequest('code_challenge_method must be S256 (plain is not supported)');
  // An S256 challenge is the base64url SHA-256 of the verifier: exactly 43 characters.
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    throw invalidRequest('code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)');
  }
  return challenge;
}

/** The S256 challenge of a well-formed verifier (RFC 7636 §4.2); undefined for a malformed one. */
export function verifierChallenge(verifier: string): string | undefined {
  return PKCE_VALUE.test(verifier) ? hash('sha256', verifier, 'base64url') : undefined;
}

/**
 * Checks the verifier at the token endpoint (RFC 7636 §4.6). A verifier for a code that
 * was issued without a challenge is refused too: it means the client and server disagree
 * about what protects the code (RFC 9700 §4.8.2, PKCE downgrade).
 */
export function verifyVerifier(verifier: string | undefined, challenge: string | null): void {
  if (challenge === null) {
    if (verifier !== undefined)
      throw invalidGrant('code_verifier was sent but the code was issued without a code_challenge');
    return;
  }
  if (verifier === undefined) throw invalidGrant('code_verifier is required for this code');
  const s256 = verifierChallenge(verifier);
  if (s256 === undefined) throw invalidGrant('code_verifier is malformed');
  const actual = Buffer.from(s256);
  const expected = Buffer.from(challenge);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw invalidGrant('code_verifier does not match the code_challenge');
  }
}
