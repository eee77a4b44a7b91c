/**
 * The server's configuration, validated once at start: a bad value is one clear line,
 * never a surprise later. Sources (flags, environment) are read by the CLI; this module
 * only checks and completes what it is given.
 */
import { BlockList, isIP } from 'node:net';
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
}

export interface ServerConfigInput {
  host?: string;
  port?: string | number;
  issuer?: string;
  audience?: string;
  demo?: boolean;
  logLevel?: string;
  /** Seconds; the absolute lifetime of an authorization session (refresh tokens stop with it). */
  sessionLifetime?: string | number;
  /** Seconds; a browser session at Tessera ends this long after it was last used. */
  sessionIdle?: string | number;
  /** Seconds; a browser session at Tessera ends this long after the person signed in, at the latest. */
  sessionMax?: string | number;
  /** `true`/`false`, a hop count, or a comma-separated list of addresses and CIDR ranges; a bare flag is `true`. */
  trustProxy?: string | boolean;
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

function parseSeconds(value: string | number, what: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < 60 || Number(text) > 10 * 365 * 24 * 3600) {
    throw new InvalidInputError(`${what} must be a whole number of seconds from 60 to 315360000, not '${value}'`);
  }
  return Number(text);
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
    input.sessionIdle !== undefined ? parseSeconds(input.sessionIdle, 'session idle') : DEFAULT_LIFETIMES.sessionIdle;
  const sessionMax =
    input.sessionMax !== undefined ? parseSeconds(input.sessionMax, 'session max') : DEFAULT_LIFETIMES.sessionMax;
  if (sessionIdle > sessionMax) {
    throw new InvalidInputError(
      `session idle (${sessionIdle} seconds) must not be longer than session max (${sessionMax} seconds)`,
    );
  }
  return { sessionIdle, sessionMax };
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
    lifetimes: {
      ...DEFAULT_LIFETIMES,
      ...(input.sessionLifetime !== undefined && { grant: parseSeconds(input.sessionLifetime, 'session lifetime') }),
      ...sessionLifetimes(input),
    },
    trustProxy: parseTrustProxy(input.trustProxy ?? false),
  };
}

export function urlHostForListening(host: string): string {
  return urlHost(host);
}
