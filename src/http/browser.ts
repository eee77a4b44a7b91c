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

/**
 * What was typed in the Username field of a sign-in that failed, for the page that says so
 * (the POST answers with a 303, so the page is a new request). Bound to the pending
 * authorization by its hash and sent only to /login; never the password.
 */
export const TYPED_USERNAME_COOKIE = 'tessera_username';
const MAX_TYPED_USERNAME = 256;

export function rememberTypedUsername(
  reply: FastifyReply,
  pendingId: string,
  username: string,
  maxAgeSeconds: number,
  policy: CookiePolicy,
): void {
  // A name too long to be anyone's would only bloat the cookie (browsers drop ones over 4 KiB).
  if (username.length > MAX_TYPED_USERNAME) return;
  const value = `${hashSecret(pendingId)}.${Buffer.from(username, 'utf8').toString('base64url')}`;
  reply.setCookie(TYPED_USERNAME_COOKIE, value, { ...cookieOptions(policy, maxAgeSeconds), path: '/login' });
}

export function typedUsername(request: FastifyRequest, pendingId: string): string | undefined {
  const match = /^([0-9A-Za-z_-]+)\.([A-Za-z0-9_-]*)$/.exec(request.cookies[TYPED_USERNAME_COOKIE] ?? '');
  if (!match || match[1] !== hashSecret(pendingId)) return undefined;
  return Buffer.from(match[2] ?? '', 'base64url').toString('utf8');
}

/**
 * How the person ended a pending authorization, remembered by this browser so that a page
 * of it opened again afterwards (the Back button after Allow) says what happened rather
 * than that the sign-in expired. Holds the last one only, by its hash.
 */
export const FINISHED_COOKIE = 'tessera_finished';

export type Finish = 'allow' | 'deny' | 'cancel';

export function rememberFinished(
  reply: FastifyReply,
  pendingId: string,
  how: Finish,
  maxAgeSeconds: number,
  policy: CookiePolicy,
): void {
  reply.setCookie(FINISHED_COOKIE, `${how}.${hashSecret(pendingId)}`, cookieOptions(policy, maxAgeSeconds));
}

export function finishedHow(request: FastifyRequest, pendingId: string | undefined): Finish | undefined {
  const match = /^(allow|deny|cancel)\.([0-9A-Za-z_-]+)$/.exec(request.cookies[FINISHED_COOKIE] ?? '');
  if (!match || pendingId === undefined || match[2] !== hashSecret(pendingId)) return undefined;
  return match[1] as Finish;
}
