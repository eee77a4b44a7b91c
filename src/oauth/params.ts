/**
 * Request parameters as the protocol sees them: every value of every name, so that a
 * repeated parameter can be refused (RFC 6749 §3.1, §3.2: "parameters MUST NOT be
 * included more than once") rather than silently resolved one way or the other.
 */
import { invalidRequest, type OAuthErrorOptions } from './errors.js';

export type Params = Map<string, string[]>;

/** SPEC §3.1: a parameter value over 4 KiB is refused. */
export const MAX_PARAM_LENGTH = 4096;

/** Over 4 KiB of UTF-8 (counted in bytes, so 2 100 × "é" is too long too). */
function tooLong(value: string): boolean {
  return value.length > MAX_PARAM_LENGTH || Buffer.byteLength(value, 'utf8') > MAX_PARAM_LENGTH;
}

/** Parses `application/x-www-form-urlencoded` text (a query string or a form body). */
export function parseParams(text: string): Params {
  const params: Params = new Map();
  for (const [name, value] of new URLSearchParams(text)) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** Builds params from a plain object (tests, the demo). */
export function paramsFrom(record: Record<string, string | undefined>): Params {
  const params: Params = new Map();
  for (const [name, value] of Object.entries(record)) if (value !== undefined) params.set(name, [value]);
  return params;
}

/**
 * The single value of a parameter, or undefined when absent. An empty value counts as
 * absent (RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they
 * were omitted"). Repeated or oversized values are invalid_request.
 */
export function single(params: Params, name: string, errorOptions?: OAuthErrorOptions): string | undefined {
  const values = params.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw invalidRequest(`The ${name} parameter was sent more than once`, errorOptions);
  const value = values[0] as string;
  if (tooLong(value)) throw invalidRequest(`The ${name} parameter is too long`, errorOptions);
  return value === '' ? undefined : value;
}

/** The first repeated parameter's name, if any. */
export function firstRepeated(params: Params): string | undefined {
  for (const [name, values] of params) if (values.length > 1) return name;
  return undefined;
}

/** The first parameter whose value is over the limit, if any. */
export function firstOversized(params: Params): string | undefined {
  for (const [name, values] of params) if (values.some(tooLong)) return name;
  return undefined;
}
