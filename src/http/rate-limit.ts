/**
 * Per-address request rate limits for the unauthenticated browser endpoints that write
 * (the authorization endpoint stores a pending authorization per request; the sign-in,
 * consent and logout forms write too): one token bucket per client address and endpoint,
 * kept in this process's memory. Each instance counts by itself; nothing is shared.
 *
 * Never used on the token, introspection, revocation, userinfo, JWKS or discovery
 * endpoints: there one backend address speaks for many people.
 */
import { isIP } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { sendRateLimitedPage } from './replies.js';

export interface RateLimiterOptions {
  /** Requests a minute, sustained; a full bucket also lets this many through at once. */
  perMinute: number;
  /**
   * At most this many buckets are kept; beyond it the least recently used is forgotten,
   * so a flood of distinct addresses cannot grow memory without bound.
   */
  maxKeys?: number;
  /** The clock in milliseconds. */
  now: () => number;
}

/** What `take` decided: go ahead, or wait `retryAfter` seconds (`first`: the first refusal in a row). */
export type RateDecision = { allowed: true } | { allowed: false; retryAfter: number; first: boolean };

interface Bucket {
  tokens: number;
  at: number;
  /** Refused since it last let a request through (one log line per episode). */
  refusing: boolean;
}

/** Buckets kept by default: about 100 bytes each, so a few MiB at most. */
export const DEFAULT_MAX_KEYS = 50_000;

export class RateLimiter {
  readonly #capacity: number;
  /** Tokens added per millisecond. */
  readonly #rate: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** In least recently used order (a Map iterates in insertion order; each use reinserts). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.#capacity = options.perMinute;
    this.#rate = options.perMinute / 60_000;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#now = options.now;
  }

  /** How many buckets are held now (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(bucket: Bucket, now: number): number {
    // max(0, …): a clock that stepped back refills nothing rather than draining.
    return Math.min(this.#capacity, bucket.tokens + Math.max(0, now - bucket.at) * this.#rate);
  }

  /** Counts one request for `key`. */
  take(key: string): RateDecision {
    const now = this.#now();
    const old = this.#buckets.get(key);
    this.#buckets.delete(key);
    const bucket: Bucket = old
      ? { tokens: this.#refilled(old, now), at: now, refusing: old.refusing }
      : { tokens: this.#capacity, at: now, refusing: false };
    this.#buckets.set(key, bucket);
    const decision = this.#decide(bucket);
    // After taking: this bucket, now the most recent and not full, is never forgotten here.
    this.#forget(now);
    return decision;
  }

  #decide(bucket: Bucket): RateDecision {
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.refusing = false;
      return { allowed: true };
    }
    const first = !bucket.refusing;
    bucket.refusing = true;
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate / 1000)), first };
  }

  /**
   * Drops the least recently used buckets beyond maxKeys, and a couple of the oldest
   * that have filled up again (a full bucket is the same as none), so that memory
   * follows the addresses actually sending.
   */
  #forget(now: number): void {
    let checked = 0;
    for (const [key, bucket] of this.#buckets) {
      if (this.#buckets.size > this.#maxKeys) {
        this.#buckets.delete(key);
        continue;
      }
      if (checked >= 2 || this.#refilled(bucket, now) < this.#capacity) return;
      this.#buckets.delete(key);
      checked += 1;
    }
  }
}

/** Expands an IPv6 address (no zone) into its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((g) => g.toString(16)).join(':'),
  );
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', rest] = text.split('::');
  const before = parse(head);
  const after = rest === undefined ? [] : parse(rest);
  return [...before, ...Array<number>(Math.max(0, 8 - before.length - after.length)).fill(0), ...after];
}

/**
 * The address a limit counts by: IPv4 as it is (an IPv4-mapped IPv6 address as IPv4), and
 * IPv6 by its /64 — one host usually holds a whole /64, so counting each address would
 * let it pick a fresh one for every request.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  const bare = address.replace(/%.*$/, '');
  if (isIP(bare) !== 6) return address;
  const groups = ipv6Groups(bare.toLowerCase());
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** Answers a request over the limit in its endpoint's own format (429, `Retry-After`, `no-store`). */
export type RateLimitedWriter = (reply: FastifyReply, retryAfterSeconds: number) => FastifyReply;

/**
 * Limits the routes of this plugin (Fastify scopes hooks to the plugin that adds them)
 * per client address: `request.ip`, which is the forwarded address behind a trusted proxy
 * (--trust-proxy). Counted before the body is read, so a refused request costs nothing
 * else. No limiter (the limit is off): nothing is added. The answer is a page unless the
 * endpoint has its own format.
 */
export function limitRequestRate(
  app: FastifyInstance,
  limiter: RateLimiter | undefined,
  endpoint: string,
  answer: RateLimitedWriter = sendRateLimitedPage,
): void {
  if (!limiter) return;
  app.addHook('onRequest', (request, reply, done) => {
    // No address (the socket already gone): counted together rather than failing.
    const decision = limiter.take(`${endpoint} ${addressKey(request.ip ?? '')}`);
    if (decision.allowed) return done();
    if (decision.first) logRefusal(request.log, request.ip, endpoint);
    answer(reply, decision.retryAfter);
  });
}

function logRefusal(log: FastifyBaseLogger, ip: string, endpoint: string): void {
  // One line when an address starts being refused, not one per refused request.
  log.warn({ event: 'rate_limited', ip, endpoint }, 'too many requests from one address: answering 429');
}
