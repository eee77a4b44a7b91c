/**
 * The pieces of the limits, on their own: the token bucket (burst, refill, Retry-After,
 * bounded memory under a flood of addresses), the address a limit counts by (IPv6 by its
 * /64), which TCP peers are trusted proxies, and the timeouts handed to node:http.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, parseLimits } from '../../src/config.js';
import { serverTimeouts, trustedPeer } from '../../src/http/connection-limits.js';
import { addressKey, RateLimiter } from '../../src/http/rate-limit.js';
import { InvalidInputError } from '../../src/services/errors.js';

function limiter(perMinute: number, maxKeys?: number) {
  let now = 1_000_000;
  const l = new RateLimiter({ perMinute, now: () => now, ...(maxKeys !== undefined && { maxKeys }) });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('RateLimiter', () => {
  it('lets a full minute through at once, then one request per 60/N seconds', () => {
    const { l, advance } = limiter(60);
    for (let i = 0; i < 60; i += 1) expect(l.take('a')).toEqual({ allowed: true });
    expect(l.take('a')).toEqual({ allowed: false, retryAfter: 1, first: true });
    expect(l.take('a')).toEqual({ allowed: false, retryAfter: 1, first: false });
    advance(999);
    expect(l.take('a').allowed).toBe(false);
    advance(1);
    expect(l.take('a')).toEqual({ allowed: true });
    expect(l.take('a')).toMatchObject({ allowed: false, first: true });
    // Other keys are untouched.
    expect(l.take('b')).toEqual({ allowed: true });
  });

  it('says how long to wait in whole seconds', () => {
    const { l, advance } = limiter(2);
    l.take('a');
    l.take('a');
    expect(l.take('a')).toMatchObject({ allowed: false, retryAfter: 30 });
    advance(20_000);
    expect(l.take('a')).toMatchObject({ allowed: false, retryAfter: 10 });
    advance(60_000 * 10);
    // Refilled up to the burst, no further.
    expect([l.take('a'), l.take('a'), l.take('a')].map((d) => d.allowed)).toEqual([true, true, false]);
  });

  it('does not refill when the clock steps back', () => {
    const { l, advance } = limiter(1);
    l.take('a');
    advance(-3_600_000);
    expect(l.take('a').allowed).toBe(false);
  });

  it('keeps at most maxKeys buckets under a flood of distinct addresses', () => {
    const { l } = limiter(10, 1000);
    for (let i = 0; i < 20_000; i += 1) l.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(l.size).toBeLessThanOrEqual(1000);
  });

  it('forgets buckets that have filled up again, so memory follows the addresses still sending', () => {
    const { l, advance } = limiter(60);
    for (let i = 0; i < 100; i += 1) l.take(`k${i}`);
    expect(l.size).toBe(100);
    advance(60_000);
    for (let i = 0; i < 60; i += 1) l.take('busy');
    expect(l.size).toBeLessThan(10);
  });

  it('forgets the least recently used first', () => {
    const { l } = limiter(1, 2);
    l.take('a');
    l.take('b');
    l.take('a');
    l.take('c');
    // b was forgotten (a full bucket again), a is still spent.
    expect(l.take('a').allowed).toBe(false);
    expect(l.size).toBeLessThanOrEqual(2);
  });
});

describe('addressKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:eeee:dddd:cccc', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    ['not an address', 'not an address'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('trustedPeer', () => {
  it('trusts every peer with true or a hop count, none with false', () => {
    expect(trustedPeer(true)('198.51.100.1')).toBe(true);
    expect(trustedPeer(2)('198.51.100.1')).toBe(true);
    expect(trustedPeer(false)('127.0.0.1')).toBe(false);
    expect(trustedPeer(undefined)('127.0.0.1')).toBe(false);
  });

  it('trusts the listed addresses, ranges and named ranges, in IPv4-mapped form too', () => {
    const trusted = trustedPeer(['10.0.0.10', '192.0.2.0/24', 'loopback', '2001:db8::/32']);
    expect(trusted('10.0.0.10')).toBe(true);
    expect(trusted('::ffff:10.0.0.10')).toBe(true);
    expect(trusted('10.0.0.11')).toBe(false);
    expect(trusted('192.0.2.200')).toBe(true);
    expect(trusted('127.0.0.2')).toBe(true);
    expect(trusted('::1')).toBe(true);
    expect(trusted('2001:db8:5::1')).toBe(true);
    expect(trusted('2001:db9::1')).toBe(false);
    expect(trusted('198.51.100.1')).toBe(false);
    const uniqueLocal = trustedPeer(['uniquelocal']);
    expect(['10.1.2.3', '172.20.0.1', '192.168.1.1', 'fd00::1'].map(uniqueLocal)).toEqual([true, true, true, true]);
    expect(uniqueLocal('172.32.0.1')).toBe(false);
  });
});

describe('limits configuration', () => {
  it('defaults: 10 s for headers, 30 s for a request, 200 connections an address, 1200 requests a minute', () => {
    expect(parseLimits({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({
      headerTimeout: 10,
      requestTimeout: 30,
      connectionsPerAddress: 200,
      maxConnections: 10_000,
      rateLimit: 1200,
    });
    // At least 600 authorization requests a minute from one address (a clinic behind NAT).
    expect(DEFAULT_LIMITS.rateLimit).toBeGreaterThanOrEqual(600);
  });

  it('reads the settings, 0 turning a cap or the rate limit off', () => {
    expect(
      parseLimits({
        headerTimeout: '5',
        requestTimeout: ' 5 ',
        maxConnectionsPerAddress: '0',
        maxConnections: 0,
        rateLimit: '0',
      }),
    ).toEqual({ headerTimeout: 5, requestTimeout: 5, connectionsPerAddress: 0, maxConnections: 0, rateLimit: 0 });
    expect(() => parseLimits({ headerTimeout: '31' })).toThrow(InvalidInputError);
  });

  it('hands node:http the timeouts in milliseconds, checked at least every second', () => {
    expect(serverTimeouts({ headerTimeout: 10, requestTimeout: 30 })).toEqual({
      requestTimeout: 30_000,
      http: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 },
    });
    expect(serverTimeouts({ headerTimeout: 1, requestTimeout: 2 }).http.connectionsCheckingInterval).toBe(250);
  });
});
