/**
 * Password guessing is slowed per username (RFC 6819 §4.4.3.6, OWASP's account lockout
 * advice): after `failures` sign-ins within `windowSeconds` of the first that did not
 * succeed, further sign-ins for that username are refused until the window has passed,
 * whatever the password. Each attempt is counted *before* its password is checked, in one
 * atomic store write, so a burst of parallel guesses gets distinct counts and no more than
 * `failures` of them reach the password check. Unknown usernames are counted and locked
 * alike, so the lock says nothing about which usernames exist. Counts live in the store,
 * shared by every instance.
 */
import { hashSecret } from './tokens.js';
import type { Store } from '../store/store.js';
import { usernameKey } from '../store/username-key.js';

export interface ThrottlePolicy {
  failures: number;
  windowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { failures: 20, windowSeconds: 15 * 60 };

type ThrottleStore = Pick<Store, 'recordSignInAttempt' | 'clearSignInFailures'>;

/**
 * Counted by the username's comparison form, the one sign-in looks people up by, so that
 * `Alice`, `alice` and `ALICE` (or `é` typed two ways) share one count: varying the case
 * must not buy a guesser a fresh allowance.
 */
function keyFor(username: string): string {
  return hashSecret(`sign-in:${usernameKey(username)}`);
}

/** Counts an attempt; false when it is over the limit (the password must then not be checked). */
export async function admitSignInAttempt(
  store: ThrottleStore,
  username: string,
  now: number,
  policy = DEFAULT_THROTTLE,
): Promise<boolean> {
  return (await store.recordSignInAttempt(keyFor(username), now, policy.windowSeconds * 1000)) <= policy.failures;
}

/** The right password: the attempts so far no longer count. */
export async function noteSignInSuccess(store: ThrottleStore, username: string): Promise<void> {
  await store.clearSignInFailures(keyFor(username));
}
