/**
 * Server-made secrets (RFC 6749 §10.10, RFC 9700 §4.14): codes, access
 * tokens, refresh tokens, client secrets and session ids are 256-bit random values,
 * kept only as SHA-256 hashes. A fast hash is right for these: they are not guessable,
 * so there is nothing for a memory-hard hash to protect against.
 */
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes from the system CSPRNG, drawn in blocks: each call into it costs several
 * microseconds whatever its size, and a token response needs two secrets (Node's own
 * `randomUUID` buffers the same way). Every byte is handed out once; a spent block is
 * replaced, never refilled in place, so bytes already handed out are not touched.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomBytesFromPool(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return bytes;
}

/**
 * Where a new value sorts: the current time in milliseconds as 12 hex digits. Secrets and
 * ids begin with it so that what is issued together is stored together: a B-tree keyed by
 * random values takes every insert on a different page (each written to disk at commit),
 * one keyed by time-ordered values takes them all at its right edge. The prefix tells
 * when a value was made, nothing more; the secret part is 256 random bits after it.
 */
function timePrefix(): string {
  const now = Date.now();
  // Made once per millisecond: a hex conversion is not free, and many values share one.
  if (now !== prefixMs) {
    prefixMs = now;
    prefix = now.toString(16).padStart(12, '0');
  }
  return prefix;
}
let prefixMs = -1;
let prefix = '';

const SECRET_FORMAT = /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/;

/** Whether `value` has the form of a secret made by `newSecret` (it may still be unknown). */
export function isSecretFormat(value: string): boolean {
  return SECRET_FORMAT.test(value);
}

/** A new secret: the time prefix and 256 random bits in base64url (55 characters). */
export function newSecret(): string {
  return timePrefix() + randomBytesFromPool(32).toString('base64url');
}

/**
 * A new identifier for records that are not secret (clients, people, grants): the time
 * prefix and 48 random bits (20 characters). It starts with a hex digit, never with `-`
 * or `_`: a client id is typed on command lines, where `-…` reads as an option.
 */
export function newId(): string {
  return timePrefix() + randomBytesFromPool(6).toString('base64url');
}

/**
 * What the store keeps of a secret and looks it up by (64 characters): its SHA-256 in hex
 * — after the secret's time prefix, for secrets made by `newSecret`, so that the stored
 * keys keep its order (the hash is then cut to 208 bits to stay 64 characters long).
 */
export function hashSecret(secret: string): string {
  const digest = hash('sha256', secret, 'hex');
  return SECRET_FORMAT.test(secret) ? secret.slice(0, 12) + digest.slice(0, 52) : digest;
}

/** Whether a presented secret's `hashSecret` is `hash`, in time that does not depend on where they differ. */
export function hashesMatch(actualHash: string, hash: string): boolean {
  const actual = Buffer.from(actualHash, 'hex');
  const expected = Buffer.from(hash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** How long things last, in seconds. */
export interface Lifetimes {
  /** A code expires after 60 seconds by default (RFC 6749 §4.1.2: short-lived, 10 minutes at most). */
  code: number;
  /** `expires_in: 600`, as in PKB's documented token response. */
  accessToken: number;
  /** The authorization session: refresh tokens are issued and honoured while it lasts. */
  grant: number;
  /** Sign-in and consent must be completed within this time. */
  pendingAuthorization: number;
  /** The browser's session at Tessera ends this long after it was last used (OpenID Connect sessions)… */
  sessionIdle: number;
  /** …and this long after the person signed in, at the latest. */
  sessionMax: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  code: 60,
  accessToken: 600,
  grant: 30 * 24 * 3600,
  pendingAuthorization: 15 * 60,
  sessionIdle: 30 * 60,
  sessionMax: 12 * 3600,
};

/**
 * The bounds of each configurable lifetime, in seconds:
 * - a code: 10 s to 10 min (RFC 6749 §4.1.2: "a maximum authorization code lifetime of
 *   10 minutes is RECOMMENDED"; under 10 s a person's browser may not get it redeemed);
 * - an access token: 1 min to 1 day (RFC 9700 §4.10 bounds the damage of a leaked token by
 *   its lifetime; refresh tokens exist for longer access);
 * - the authorization session (how long refresh tokens are honoured): 1 min to 10 years;
 * - a pending sign-in (the login and consent pages): 1 min to 1 day;
 * - a browser session at Tessera (idle and absolute): 1 min to 10 years.
 */
export const LIFETIME_BOUNDS: Record<keyof Lifetimes, { min: number; max: number }> = {
  code: { min: 10, max: 600 },
  accessToken: { min: 60, max: 24 * 3600 },
  grant: { min: 60, max: 10 * 365 * 24 * 3600 },
  pendingAuthorization: { min: 60, max: 24 * 3600 },
  sessionIdle: { min: 60, max: 10 * 365 * 24 * 3600 },
  sessionMax: { min: 60, max: 10 * 365 * 24 * 3600 },
};

/** The longest an access token (and so an ID token beside it) can live, whatever is configured. */
export const MAX_ACCESS_TOKEN_LIFETIME = LIFETIME_BOUNDS.accessToken.max;

/**
 * The `sid` of a browser session (OpenID Connect Front-Channel Logout 1.0 §3, used by ID
 * tokens and logout): derived from the session's stored hash, never that hash itself,
 * which is the key the store looks the session up by.
 */
export function sessionSid(sessionHash: string): string {
  return hash('sha256', `sid:${sessionHash}`, 'base64url');
}
