/**
 * Durations as operators type them, and the bounds of every configurable lifetime: one
 * parser for the whole CLI (`serve --access-token-lifetime 10m`, `client update
 * --code-lifetime 30s`, `client rotate-secret --grace 24h`). A duration is whole seconds
 * (`600`) or a whole number with one unit: `s`, `m`, `h` or `d` (`30s`, `15m`, `24h`, `7d`).
 */
import { LIFETIME_BOUNDS, type Lifetimes } from '../oauth/tokens.js';
import { InvalidInputError } from './errors.js';

const UNITS = { s: 1, m: 60, h: 3600, d: 24 * 3600 } as const;

/** Seconds, inclusive. */
export interface DurationBounds {
  min: number;
  max: number;
}

/** A number of seconds the way it is most easily read: `90s`, `15m`, `24h`, `7d`. */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds >= UNITS[unit] && seconds % UNITS[unit] === 0) return `${seconds / UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * Seconds from `value` (`600`, `30s`, `15m`, `24h`, `7d`), within `bounds`; anything else
 * is one line naming `what`, the bounds and the forms accepted.
 */
export function parseDuration(value: string | number, what: string, bounds: DurationBounds): number {
  const text = String(value).trim();
  const match = /^(\d{1,12})([smhd]?)$/.exec(text);
  const seconds = match ? Number(match[1]) * UNITS[(match[2] || 's') as keyof typeof UNITS] : undefined;
  if (seconds === undefined || seconds < bounds.min || seconds > bounds.max) {
    throw new InvalidInputError(
      `${what} must be a duration from ${formatDuration(bounds.min)} to ${formatDuration(bounds.max)} ` +
        `(seconds, or a number with s, m, h or d: 30s, 15m, 24h, 7d), not '${value}'`,
    );
  }
  return seconds;
}

/** How each lifetime is named in messages: after the option that sets it. */
export const LIFETIME_NAMES: Record<keyof Lifetimes, string> = {
  code: 'code lifetime',
  accessToken: 'access token lifetime',
  grant: 'refresh lifetime',
  pendingAuthorization: 'login lifetime',
  sessionIdle: 'session idle',
  sessionMax: 'session max',
};

/** A lifetime from its option's value, within its bounds. */
export function parseLifetime(kind: keyof Lifetimes, value: string | number, what = LIFETIME_NAMES[kind]): number {
  return parseDuration(value, what, LIFETIME_BOUNDS[kind]);
}
