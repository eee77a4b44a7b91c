/**
 * The server's configuration, validated once at start: a bad value is one clear line,
 * never a surprise later. Sources (flags, environment) are read by the CLI; this module
 * only checks and completes what it is given.
 */
import { BlockList, isIP } from 'node:net';
import { parseDuration, parseLifetime } from './services/durations.js';
import { InvalidInputError } from './services/errors.js';
import { DEFAULT_LIFETIMES, type Lifetimes } from './oauth/tokens.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Which proxies may tell the client's address, scheme and host (`X-Forwarded-For`,
 * `-Proto`, `-Host`): none (`false`), any (`true`), the nearest N hops, or the listed
 * addresses, CIDR ranges and named ranges. Passed to Fastify's `trustProxy` as is.
 */
export type TrustProxy = boolean | number | string[];

export interface ServerConfig {
  host: string;
  port: number;
  /** The issuer identifier (RFC 8414 §2): scheme, host, optional port and path; no query or fragment. */
  issuer: string;
  /** The `aud` of JWT access tokens (RFC 9068 §3); undefined: the issuer. */
  audience?: string;
  demo: boolean;
  logLevel: LogLevel;
  lifetimes: Lifetimes;
  trustProxy: TrustProxy;
  limits: Limits;
}

/**
 * What one instance allows a slow or greedy client (each instance counts by itself, in
 * memory). Timeouts in seconds; a count of 0 turns that limit off.
 */
export interface Limits {
  /** The request line and headers must arrive within this (node:http `headersTimeout`). */
  headerTimeout: number;
  /** The whole request, body included, must arrive within this (node:http `requestTimeout`). */
  requestTimeout: number;
  /** Open connections from one client address (not counting trusted proxies'). */
  connectionsPerAddress: number;
  /** Open connections in all (node:net `maxConnections`). */
  maxConnections: number;
  /** Requests a minute from one client address at each browser endpoint that writes. */
  rateLimit: number;
}

/**
 * Generous: a clinic behind one NAT address opens far fewer connections, and sends far
 * fewer than 600 authorization requests a minute; a slowloris is cut off within 30 s.
 */
export const DEFAULT_LIMITS: Limits = {
  headerTimeout: 10,
  requestTimeout: 30,
  connectionsPerAddress: 200,
  maxConnections: 10_000,
  rateLimit: 1200,
};

export interface ServerConfigInput {
  host?: string;
  port?: string | number;
  issuer?: string;
  audience?: string;
  demo?: boolean;
  logLevel?: string;
  /** A duration (services/durations.ts): how long a code may be redeemed. */
  codeLifetime?: string | number;
  /** A duration: an access token's `expires_in`. */
  accessTokenLifetime?: string | number;
  /** A duration: the absolute lifetime of an authorization session (refresh tokens stop with it). */
  refreshLifetime?: string | number;
  /** The old name of `refreshLifetime`, still accepted. */
  sessionLifetime?: string | number;
  /** A duration: how long a person has to sign in and consent (the pending authorization). */
  loginLifetime?: string | number;
  /** A duration; a browser session at Tessera ends this long after it was last used. */
  sessionIdle?: string | number;
  /** A duration; a browser session at Tessera ends this long after the person signed in, at the latest. */
  sessionMax?: string | number;
  /** `true`/`false`, a hop count, or a comma-separated list of addresses and CIDR ranges; a bare flag is `true`. */
  trustProxy?: string | boolean;
  /** Seconds; see Limits. */
  headerTimeout?: string | number;
  requestTimeout?: string | number;
  /** Counts; 0 is off. See Limits. */
  maxConnectionsPerAddress?: string | number;
  maxConnections?: string | number;
  rateLimit?: string | number;
}

export function parsePort(value: string | number): number {
  const text = String(value).trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new InvalidInputError(`port must be a number from 0 to 65535, not '${value}'`);
  return port;
}

export function parseIssuer(value: string): string {
  return parseServerUrl(value, 'issuer');
}

/** `--audience`: the resource JWT access tokens are meant for (RFC 9068 §3), an absolute URL as the issuer is. */
export function parseAudience(value: string): string {
  return parseServerUrl(value, 'audience');
}

function parseServerUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(`${what} must be an absolute http(s) URL, not '${value}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(`${what} must use https: (or http: for local use), not '${url.protocol}'`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new InvalidInputError(`${what} must not have a query or fragment`);
  }
  if (url.username !== '' || url.password !== '')
    throw new InvalidInputError(`${what} must not contain user information`);
  return value.replace(/\/+$/, '');
}

function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidInputError(`log level must be one of ${LOG_LEVELS.join(', ')}, not '${value}'`);
  }
  return value as LogLevel;
}

/** proxy-addr's named ranges (127.0.0.0/8 and ::1; 169.254.0.0/16 and fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrRange(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry.toLowerCase())) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `--trust-proxy` / TESSERA_TRUST_PROXY: `true` (any proxy: only when nothing but the
 * proxy can reach the server), `false`, a hop count (trust the N nearest proxies), or a
 * comma-separated list of proxy addresses and CIDR ranges (`127.0.0.1,10.0.0.0/8`) or
 * the names `loopback`, `linklocal`, `uniquelocal`. An empty value is `false`.
 */
export function parseTrustProxy(value: string | boolean): TrustProxy {
  if (typeof value === 'boolean') return value;
  const text = value.trim();
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false' || text === '') return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > 100) {
      throw new InvalidInputError(`trust-proxy hop count must be from 1 to 100 (or false), not '${value}'`);
    }
    return hops;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => !isAddressOrRange(entry));
  if (bad !== undefined) {
    throw new InvalidInputError(
      `trust-proxy must be true, false, a hop count, or a comma-separated list of addresses or CIDR ranges, not '${value}' ('${bad}' is none of these)`,
    );
  }
  return entries;
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether `host` is this machine only: `localhost`, 127.0.0.0/8 or ::1 (RFC 6761 §6.3, RFC 4291 §2.5.3). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The issuer to use when none is configured: where this server listens. Only for a
 * loopback host: on any other (0.0.0.0, a LAN address, a name) the address people and
 * apps reach it at is not known here, and a wrong issuer breaks every client that checks
 * it (RFC 8414 §3.3, RFC 9207), so resolveServerConfig asks for --issuer instead.
 */
export function defaultIssuer(host: string, port: number): string {
  return `http://${urlHost(host)}:${port}`;
}

/**
 * The browser session's idle and absolute ends (`--session-idle`, `--session-max`): an idle
 * end past the absolute one could never be reached, so it is refused rather than ignored.
 */
function sessionLifetimes(input: ServerConfigInput): Pick<Lifetimes, 'sessionIdle' | 'sessionMax'> {
  const sessionIdle =
    input.sessionIdle !== undefined ? parseLifetime('sessionIdle', input.sessionIdle) : DEFAULT_LIFETIMES.sessionIdle;
  const sessionMax =
    input.sessionMax !== undefined ? parseLifetime('sessionMax', input.sessionMax) : DEFAULT_LIFETIMES.sessionMax;
  if (sessionIdle > sessionMax) {
    throw new InvalidInputError(
      `session idle (${sessionIdle} seconds) must not be longer than session max (${sessionMax} seconds)`,
    );
  }
  return { sessionIdle, sessionMax };
}

function wholeNumber(value: string | number, what: string, min: number, max: number, unit: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidInputError(`${what} must be a whole number from ${min} to ${max} (${unit}), not '${value}'`);
  }
  return Number(text);
}

/** The header and request timeouts: a second to an hour (durations, as the lifetimes are). */
const TIMEOUT_BOUNDS = { min: 1, max: 3600 };

/**
 * `--header-timeout`, `--request-timeout`, `--max-connections-per-address`,
 * `--max-connections`, `--rate-limit`. Node refuses a header timeout longer than the
 * request timeout, and so does this, in words.
 */
export function parseLimits(input: ServerConfigInput): Limits {
  const pick = <K extends keyof Limits>(
    key: K,
    raw: string | number | undefined,
    parse: (v: string | number) => number,
  ) => (raw === undefined ? DEFAULT_LIMITS[key] : parse(raw));
  const limits: Limits = {
    headerTimeout: pick('headerTimeout', input.headerTimeout, (v) =>
      parseDuration(v, 'header timeout', TIMEOUT_BOUNDS),
    ),
    requestTimeout: pick('requestTimeout', input.requestTimeout, (v) =>
      parseDuration(v, 'request timeout', TIMEOUT_BOUNDS),
    ),
    connectionsPerAddress: pick('connectionsPerAddress', input.maxConnectionsPerAddress, (v) =>
      wholeNumber(v, 'max connections per address', 0, 1_000_000, '0: no cap'),
    ),
    maxConnections: pick('maxConnections', input.maxConnections, (v) =>
      wholeNumber(v, 'max connections', 0, 1_000_000, '0: no cap'),
    ),
    rateLimit: pick('rateLimit', input.rateLimit, (v) =>
      wholeNumber(v, 'rate limit', 0, 1_000_000, 'requests a minute; 0: no limit'),
    ),
  };
  if (limits.headerTimeout > limits.requestTimeout) {
    throw new InvalidInputError(
      `header timeout (${limits.headerTimeout} seconds) must not be longer than request timeout (${limits.requestTimeout} seconds)`,
    );
  }
  return limits;
}

/**
 * The lifetimes of what is issued (`--code-lifetime`, `--access-token-lifetime`,
 * `--refresh-lifetime` — once `--session-lifetime`, still accepted —, `--login-lifetime`),
 * each within its bounds (services/durations.ts LIFETIME_BOUNDS); absent, PKB's defaults.
 */
function issuedLifetimes(input: ServerConfigInput): Omit<Lifetimes, 'sessionIdle' | 'sessionMax'> {
  const { refreshLifetime, sessionLifetime } = input;
  if (refreshLifetime !== undefined && sessionLifetime !== undefined && refreshLifetime !== sessionLifetime) {
    throw new InvalidInputError('use --refresh-lifetime or --session-lifetime (its old name), not both');
  }
  const grant =
    refreshLifetime !== undefined
      ? parseLifetime('grant', refreshLifetime)
      : sessionLifetime !== undefined
        ? parseLifetime('grant', sessionLifetime, 'session lifetime')
        : DEFAULT_LIFETIMES.grant;
  const pick = (kind: 'code' | 'accessToken' | 'pendingAuthorization', value: string | number | undefined) =>
    value === undefined ? DEFAULT_LIFETIMES[kind] : parseLifetime(kind, value);
  return {
    code: pick('code', input.codeLifetime),
    accessToken: pick('accessToken', input.accessTokenLifetime),
    grant,
    pendingAuthorization: pick('pendingAuthorization', input.loginLifetime),
  };
}

export function resolveServerConfig(input: ServerConfigInput): ServerConfig {
  const host = (input.host ?? '127.0.0.1').trim();
  if (host === '' || /[\s/]/.test(host))
    throw new InvalidInputError(`host must be a host name or address, not '${input.host}'`);
  const port = parsePort(input.port ?? 9000);
  if (input.issuer === undefined && !isLoopbackHost(host)) {
    throw new InvalidInputError(
      `--host ${host} is reachable from other machines: pass --issuer (or TESSERA_ISSUER) with the public URL people and apps use, e.g. --issuer https://auth.example.org`,
    );
  }
  return {
    host,
    port,
    // With --port 0 the issuer is completed once the real port is known (see withPort).
    issuer: input.issuer !== undefined ? parseIssuer(input.issuer) : defaultIssuer(host, port),
    ...(input.audience !== undefined && { audience: parseAudience(input.audience) }),
    demo: input.demo ?? false,
    logLevel: parseLogLevel(input.logLevel ?? 'info'),
    lifetimes: { ...issuedLifetimes(input), ...sessionLifetimes(input) },
    trustProxy: parseTrustProxy(input.trustProxy ?? false),
    limits: parseLimits(input),
  };
}

export function urlHostForListening(host: string): string {
  return urlHost(host);
}
