/**
 * Password guessing is slowed, never turned into a way to lock a person out (RFC 6819
 * §4.4.3.6; OWASP Authentication Cheat Sheet, "Account Lockout"). Like Keycloak's
 * brute-force detection in its default, temporary mode, a count that is over its
 * allowance makes the next attempt wait, and the wait doubles with each attempt, up to a
 * cap; unlike it, the count that matters first is per username *and* client address:
 *
 * - **Per address.** One address gets `perAddress` attempts at a username with no wait;
 *   after that, each attempt from it waits `firstWaitSeconds`, doubling up to
 *   `maxWaitSeconds`. The same username from another address is not affected, so an
 *   attacker hammering from one address slows only themself.
 * - **Per username**, across all addresses, against guessing spread over many addresses:
 *   past `perUsername` attempts the username has a wait of its own, growing the same way,
 *   which every address that has already failed at that username must also sit out.
 *   An address with no failure at that username (a clean one) never waits for the
 *   username: a hard lock would hand an attacker the very lockout this avoids. The price:
 *   each fresh address still gets one guess; against an attacker with many addresses the
 *   defence is the password, and slowing them to one guess per address per window.
 *
 * IPv6 addresses count by their /64 (one subscriber's usual allocation, RFC 6177), else
 * an attacker would have a fresh address for every guess; IPv4-mapped IPv6 as IPv4.
 *
 * Every attempt is counted *before* its password is checked, in one transaction that
 * reads and writes both counts (Store.updateSignInCounts), so of a parallel burst no more
 * attempts reach the password check than the counts allow. Unknown usernames are counted
 * alike, so the throttle says nothing about which usernames exist. The right password
 * forgets its address's count and takes itself back from the username's, whose failures
 * stay (a success must not give an attacker elsewhere a fresh allowance). A count lapses
 * `windowSeconds` after its last counted attempt. Counts live in the store, shared by
 * every instance; `tessera user unlock` forgets them all.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { hashSecret } from './tokens.js';
import type { SignInCount, SignInCountKeys, SignInCounts, Store } from '../store/store.js';
import { usernameKey } from '../store/username-key.js';

export interface ThrottlePolicy {
  /** Attempts at one username from one address that never wait. */
  perAddress: number;
  /** Attempts at one username from all addresses before the username's own wait starts. */
  perUsername: number;
  /** The first wait; each further attempt doubles it. */
  firstWaitSeconds: number;
  maxWaitSeconds: number;
  /** A count is forgotten this long after its last counted attempt. */
  windowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  perAddress: 5,
  perUsername: 100,
  firstWaitSeconds: 5,
  maxWaitSeconds: 15 * 60,
  windowSeconds: 12 * 60 * 60,
};

/** The wait (ms) after the `counted`-th attempt of a count that may make `free` attempts without one. */
export function waitAfter(counted: number, free: number, policy: ThrottlePolicy): number {
  if (counted < free) return 0;
  // Capped before the power, so a huge count cannot overflow to Infinity.
  const doublings = Math.min(counted - free, 32);
  return Math.min(policy.maxWaitSeconds, policy.firstWaitSeconds * 2 ** doublings) * 1000;
}

export type Admission =
  | {
      admitted: true;
      /** Whether a failure of this attempt starts a wait for its address, or for the username: a lockout to log. */
      locks: { address: number | null; username: number | null };
    }
  | {
      admitted: false;
      /** When the attempt could be checked, as things stand (others may push the username's wait on). */ retryAt: number;
    };

/**
 * The decision table: is an attempt with these counts checked, and what are the counts
 * after it? Pure; `updateSignInCounts` runs it on the counts it holds.
 */
export function decideAttempt(
  counts: SignInCounts,
  now: number,
  policy: ThrottlePolicy,
): { write?: SignInCounts; result: Admission } {
  const { address, username } = counts;
  if (address.failures > 0) {
    const waits = [address.waitUntil, username.waitUntil].filter((t) => t > now);
    if (waits.length > 0) return { result: { admitted: false, retryAt: Math.max(...waits) } };
  }
  const next = (count: SignInCount, free: number): SignInCount => {
    const wait = waitAfter(count.failures + 1, free, policy);
    return { failures: count.failures + 1, waitUntil: wait > 0 ? now + wait : 0 };
  };
  const write = { address: next(address, policy.perAddress), username: next(username, policy.perUsername) };
  return {
    write,
    result: {
      admitted: true,
      locks: {
        address: write.address.waitUntil || null,
        username: write.username.waitUntil || null,
      },
    },
  };
}

/**
 * The address an attempt is counted under: IPv4 as is, IPv4-mapped IPv6 as IPv4, other
 * IPv6 by its /64; anything else (no address at all) as given.
 */
export function addressKey(address: string): string {
  const ip = address.replace(/%.*$/, '');
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return address;
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail read). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, dotted.index);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [head = '', rest] = text.split('::');
  if (rest === undefined) return [...parse(head), ...tail];
  const front = parse(head);
  const back = [...parse(rest), ...tail];
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The username's count key, counted by the username's comparison form, the one sign-in
 * looks people up by, so that `Alice`, `alice` and `ALICE` (or `é` typed two ways) share
 * one count: varying the case must not buy a guesser a fresh allowance. It is also the
 * `user_key` every count of that username carries, so `user show` can find them.
 */
function usernameCountKey(username: string): string {
  return hashSecret(`sign-in:${usernameKey(username)}`);
}

function countKeys(username: string, address: string): SignInCountKeys {
  return {
    username: usernameCountKey(username),
    address: hashSecret(`sign-in:${usernameKey(username)}\n${addressKey(address)}`),
  };
}

type ThrottleStore = Pick<Store, 'updateSignInCounts' | 'clearSignInFailures'>;

/** Counts an attempt from `address`; unless admitted, the password must not be checked. */
export function admitSignInAttempt(
  store: ThrottleStore,
  username: string,
  address: string,
  now: number,
  policy = DEFAULT_THROTTLE,
): Promise<Admission> {
  return store.updateSignInCounts(countKeys(username, address), now, policy.windowSeconds * 1000, (counts) =>
    decideAttempt(counts, now, policy),
  );
}

/**
 * The right password from `address`: that address's attempts no longer count, and the
 * username's count keeps only the failures (the attempt was counted before the check).
 */
export async function noteSignInSuccess(store: ThrottleStore, username: string, address: string): Promise<void> {
  const keys = countKeys(username, address);
  await store.clearSignInFailures(keys.address, keys.username);
}

/** What `tessera user show` tells about one username's counts. */
export interface ThrottleState {
  /** Failures at the username from all addresses in the window. */
  failures: number;
  /** Addresses with failures at the username in the window. */
  addresses: number;
  /** Addresses waiting now, and until when the last of them waits. */
  throttledAddresses: number;
  addressesUntil: number | null;
  /** Until when every address that has failed at the username waits for the username (null: no wait). */
  usernameUntil: number | null;
}

export async function signInThrottleState(
  store: Pick<Store, 'listSignInCounts'>,
  username: string,
  now: number,
  policy = DEFAULT_THROTTLE,
): Promise<ThrottleState> {
  const counts = await store.listSignInCounts(usernameCountKey(username), now, policy.windowSeconds * 1000);
  const addresses = counts.filter((c) => c.address && c.failures > 0);
  const own = counts.find((c) => !c.address);
  const waiting = addresses.filter((c) => c.waitUntil > now);
  return {
    failures: own?.failures ?? 0,
    addresses: addresses.length,
    throttledAddresses: waiting.length,
    addressesUntil: waiting.length > 0 ? Math.max(...waiting.map((c) => c.waitUntil)) : null,
    usernameUntil: own && own.waitUntil > now ? own.waitUntil : null,
  };
}

/** Forgets every count of the username, from every address; how many counts there were. */
export function clearSignInThrottle(store: Pick<Store, 'clearSignInCounts'>, username: string): Promise<number> {
  return store.clearSignInCounts(usernameCountKey(username));
}
