/**
 * The server's configuration, validated once at start: a bad value is one clear line,
 * never a surprise later. Sources (flags, environment) are read by the CLI; this module
 * only checks and completes what it is given.
 */
import { InvalidInputError } from './oauth/errors.js';
import { DEFAULT_LIFETIMES, type Lifetimes } from './oauth/tokens.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  host: string;
  port: number;
  /** The issuer identifier (RFC 8414 §2): scheme, host, optional port and path; no query or fragment. */
  issuer: string;
  demo: boolean;
  logLevel: LogLevel;
  lifetimes: Lifetimes;
}

export interface ServerConfigInput {
  host?: string;
  port?: string | number;
  issuer?: string;
  demo?: boolean;
  logLevel?: string;
  /** Seconds; the absolute lifetime of an authorization session (refresh tokens stop with it). */
  sessionLifetime?: string | number;
}

export function parsePort(value: string | number): number {
  const text = String(value).trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new InvalidInputError(`port must be a number from 0 to 65535, not '${value}'`);
  return port;
}

export function parseIssuer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(`issuer must be an absolute http(s) URL, not '${value}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(`issuer must use https: (or http: for local use), not '${url.protocol}'`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new InvalidInputError('issuer must not have a query or fragment');
  }
  if (url.username !== '' || url.password !== '') throw new InvalidInputError('issuer must not contain user information');
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

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The issuer to use when none is configured: where this server listens. */
export function defaultIssuer(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${urlHost(shown)}:${port}`;
}

export function resolveServerConfig(input: ServerConfigInput): ServerConfig {
  const host = (input.host ?? '127.0.0.1').trim();
  if (host === '' || /[\s/]/.test(host)) throw new InvalidInputError(`host must be a host name or address, not '${input.host}'`);
  const port = parsePort(input.port ?? 9000);
  return {
    host,
    port,
    // With --port 0 the issuer is completed once the real port is known (see withPort).
    issuer: input.issuer !== undefined ? parseIssuer(input.issuer) : defaultIssuer(host, port),
    demo: input.demo ?? false,
    logLevel: parseLogLevel(input.logLevel ?? 'info'),
    lifetimes: {
      ...DEFAULT_LIFETIMES,
      ...(input.sessionLifetime !== undefined && { grant: parseSeconds(input.sessionLifetime, 'session lifetime') }),
    },
  };
}

export function urlHostForListening(host: string): string {
  return urlHost(host);
}
