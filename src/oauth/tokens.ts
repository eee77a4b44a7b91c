/**
 * Server-made secrets (RFC 6749 §10.10, RFC 9700 §4.14 and SPEC §3.4): codes, access
 * tokens, refresh tokens, client secrets and session ids are 256-bit random values,
 * kept only as SHA-256 hashes. A fast hash is right for these: they are not guessable,
 * so there is nothing for a memory-hard hash to protect against.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new 256-bit secret, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A new identifier for records that are not secret (clients, people, grants). It never
 * starts with `-` or `_`: a client id is typed on command lines, where `-…` reads as an option.
 */
export function newId(): string {
  let id: string;
  do id = randomBytes(12).toString('base64url');
  while (id.startsWith('-') || id.startsWith('_'));
  return id;
}

/** SHA-256 of a secret as lowercase hex: what the store keeps and looks up by. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `hash`, in time that does not depend on where they differ. */
export function secretMatches(secret: string, hash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(hash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** How long things last, in seconds. */
export interface Lifetimes {
  /** SPEC §3.1: a code expires after 60 seconds. */
  code: number;
  /** SPEC §3.2: `expires_in: 600`. */
  accessToken: number;
  /** The authorization session: refresh tokens are issued and honoured while it lasts. */
  grant: number;
  /** Sign-in and consent must be completed within this time. */
  pendingAuthorization: number;
  /** The browser's sign-in session at Tessera. */
  signInSession: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  code: 60,
  accessToken: 600,
  grant: 30 * 24 * 3600,
  pendingAuthorization: 15 * 60,
  signInSession: 8 * 3600,
};
