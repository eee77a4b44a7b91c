/**
 * The browser's state at Tessera while it signs in and consents: a browser-binding
 * cookie that ties a pending authorization to the browser that started it, the sign-in
 * session cookie, and CSRF tokens derived from both. Cookie values are random and kept
 * only as hashes in the store, so nothing here needs to be in one process's memory.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashSecret, isSecretFormat, newSecret } from '../oauth/tokens.js';

export const BROWSER_COOKIE = 'tessera_browser';
export const SESSION_COOKIE = 'tessera_session';

export interface CookiePolicy {
  secure: boolean;
}

function cookieOptions(policy: CookiePolicy, maxAgeSeconds?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: policy.secure,
    ...(maxAgeSeconds !== undefined && { maxAge: maxAgeSeconds }),
  };
}

/**
 * One of our cookies, or undefined: a value outside the base64url alphabet our values are
 * written in (a NUL byte, say, after the cookie's percent-decoding) counts as absent.
 */
function ourCookie(request: FastifyRequest, name: string): string | undefined {
  const value = request.cookies[name];
  return value !== undefined && /^[A-Za-z0-9_-]+$/.test(value) ? value : undefined;
}

/**
 * The browser's binding value, set now when the browser has none. An existing one is kept:
 * replacing it would orphan a sign-in the same browser started earlier in another tab.
 */
export function browserBinding(request: FastifyRequest, reply: FastifyReply, policy: CookiePolicy): string {
  const existing = ourCookie(request, BROWSER_COOKIE);
  if (existing && isSecretFormat(existing)) return existing;
  const value = newSecret();
  reply.setCookie(BROWSER_COOKIE, value, cookieOptions(policy));
  return value;
}

/** Whether this request comes from the browser that started the pending authorization. */
export function isSameBrowser(request: FastifyRequest, browserHash: string): boolean {
  const value = ourCookie(request, BROWSER_COOKIE);
  return value !== undefined && hashSecret(value) === browserHash;
}

export function sessionCookieValue(request: FastifyRequest): string | undefined {
  return ourCookie(request, SESSION_COOKIE);
}

export function setSessionCookie(
  reply: FastifyReply,
  value: string,
  maxAgeSeconds: number,
  policy: CookiePolicy,
): void {
  reply.setCookie(SESSION_COOKIE, value, cookieOptions(policy, maxAgeSeconds));
}

export function clearSessionCookie(reply: FastifyReply, policy: CookiePolicy): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(policy));
}

/** The CSRF token for a pending authorization's forms: HMAC of its id and the browser's binding. */
export function csrfToken(secret: string, pendingId: string, browserHash: string): string {
  return createHmac('sha256', secret).update(`csrf\0${pendingId}\0${browserHash}`).digest('base64url');
}

export function csrfMatches(
  secret: string,
  pendingId: string,
  browserHash: string,
  given: string | undefined,
): boolean {
  if (given === undefined) return false;
  const expected = Buffer.from(csrfToken(secret, pendingId, browserHash));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
