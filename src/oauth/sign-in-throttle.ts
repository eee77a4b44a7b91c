/**
 * Password guessing is slowed per username (RFC 6819 §4.4.3.6, OWASP's account lockout
 * advice): after `failures` wrong passwords within `windowSeconds` of the first, further
 * sign-ins for that username are refused until the window has passed, whatever the
 * password. Unknown usernames are counted and locked alike, so the lock says nothing
 * about which usernames exist. Counts live in the store, shared by every instance.
 */
import { hashSecret } from './tokens.js';
import type { Store } from '../store/store.js';

export interface ThrottlePolicy {
  failures: number;
  windowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { failures: 20, windowSeconds: 15 * 60 };

type ThrottleStore = Pick<Store, 'recordSignInAttempt' | 'countSignInFailures' | 'clearSignInFailures'>;

/** Usernames are compared as typed, but counted without regard to case so `Alice` and `alice` share a count. */
function keyFor(username: string): string {
  return hashSecret(`sign-in:${username.toLowerCase()}`);
}

export async function isSignInLocked(
  store: ThrottleStore,
  username: string,
  now: number,
  policy = DEFAULT_THROTTLE,
): Promise<boolean> {
  return (await store.countSignInFailures(keyFor(username), now, policy.windowSeconds * 1000)) >= policy.failures;
}

export async function noteSignInFailure(
  store: ThrottleStore,
  username: string,
  now: number,
  policy = DEFAULT_THROTTLE,
): Promise<void> {
  await store.recordSignInAttempt(keyFor(username), now, policy.windowSeconds * 1000);
}

export async function noteSignInSuccess(store: ThrottleStore, username: string): Promise<void> {
  await store.clearSignInFailures(keyFor(username));
}
