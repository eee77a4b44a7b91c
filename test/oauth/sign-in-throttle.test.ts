/** The sign-in throttle's decision table, its waits, and the addresses it counts by. */
import { describe, expect, it } from 'vitest';
import {
  addressKey,
  decideAttempt,
  DEFAULT_THROTTLE,
  waitAfter,
  type ThrottlePolicy,
} from '../../src/oauth/sign-in-throttle.js';

const policy: ThrottlePolicy = {
  perAddress: 3,
  perUsername: 10,
  firstWaitSeconds: 2,
  maxWaitSeconds: 60,
  windowSeconds: 3600,
};
const now = 1_000_000;
const count = (failures: number, waitUntil = 0) => ({ failures, waitUntil });

describe('waitAfter', () => {
  it('waits nothing within the allowance, then doubles from the first wait up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => waitAfter(n, 3, policy) / 1000)).toEqual([
      0, 0, 2, 4, 8, 16, 32, 60, 60, 60,
    ]);
    expect(waitAfter(1_000_000, 3, policy)).toBe(60_000);
  });

  it('by default: five attempts, then 5 s doubling to 15 minutes, counts forgotten after 12 hours', () => {
    const { perAddress } = DEFAULT_THROTTLE;
    const waits = Array.from({ length: 12 }, (_, i) => waitAfter(perAddress + i, perAddress, DEFAULT_THROTTLE) / 1000);
    expect(perAddress).toBe(5);
    expect(waitAfter(perAddress - 1, perAddress, DEFAULT_THROTTLE)).toBe(0);
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 900, 900, 900, 900]);
    expect(DEFAULT_THROTTLE.perUsername).toBeGreaterThan(10 * perAddress);
    expect(DEFAULT_THROTTLE.windowSeconds).toBe(12 * 3600);
  });
});

describe('decideAttempt', () => {
  it.each([
    // address count, username count → admitted?, retryAt
    ['a fresh address and username', count(0), count(0), true, undefined],
    ['an address within its allowance', count(2), count(2), true, undefined],
    ['an address whose wait is over', count(5, now), count(5), true, undefined],
    ['an address still waiting', count(5, now + 1), count(5), false, now + 1],
    ['an address that failed, the username waiting', count(1), count(12, now + 9), false, now + 9],
    ['both waiting: the later end', count(6, now + 20), count(12, now + 9), false, now + 20],
    ['a clean address, the username waiting', count(0), count(50, now + 60_000), true, undefined],
  ])('%s', (_, address, username, admitted, retryAt) => {
    const { write, result } = decideAttempt({ address, username }, now, policy);
    expect(result.admitted).toBe(admitted);
    if (!result.admitted) {
      expect(result.retryAt).toBe(retryAt);
      expect(write).toBeUndefined();
    } else {
      expect(write?.address.failures).toBe(address.failures + 1);
      expect(write?.username.failures).toBe(username.failures + 1);
    }
  });

  it('starts a wait (a lockout) with the attempt that uses up an allowance, and longer ones after', () => {
    const third = decideAttempt({ address: count(2), username: count(2) }, now, policy);
    expect(third.write).toEqual({ address: count(3, now + 2000), username: count(3) });
    expect(third.result).toEqual({ admitted: true, locks: { address: now + 2000, username: null } });
    const fourth = decideAttempt({ address: count(3, now), username: count(3) }, now, policy);
    expect(fourth.write?.address).toEqual(count(4, now + 4000));
    const tenth = decideAttempt({ address: count(0), username: count(9) }, now, policy);
    expect(tenth.result).toEqual({ admitted: true, locks: { address: null, username: now + 2000 } });
  });
});

describe('addressKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:c000:0207', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64'],
    ['not an address', 'not an address'],
    ['', ''],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
