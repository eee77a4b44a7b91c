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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A form-urlencoded component as text, or undefined when it cannot be taken as sent: its
 * bytes (after percent-decoding) are not valid UTF-8, or it holds U+0000. `raw` holds one
 * byte per character (Latin-1), as a request body is read; a query string is ASCII anyway.
 * Otherwise this is the decoding of the WHATWG URL Standard's urlencoded parser (what
 * URLSearchParams does), which would turn bad bytes silently into U+FFFD.
 */
export function decodeFormComponent(raw: string): string | undefined {
  const spaced = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!/[%\x00\x80-\xff]/.test(spaced)) return spaced;
  const bytes = Buffer.alloc(spaced.length);
  let length = 0;
  for (let i = 0; i < spaced.length; i++) {
    const char = spaced.charCodeAt(i);
    const hex = char === 0x25 ? spaced.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes[length++] = parseInt(hex, 16);
      i += 2;
    } else {
      bytes[length++] = char;
    }
  }
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(0, length));
  } catch {
    return undefined;
  }
  return text.includes('\0') ? undefined : text;
}

const REFUSED = '\uFFFD';

/**
 * Params with values that cannot be taken as sent (see decodeFormComponent): `get` throws
 * invalid_request for such a name, so that no route or store ever sees a NUL byte
 * (PostgreSQL refuses it in text) or a value silently altered from what was sent. Only
 * such params are of this class; all others are a plain Map.
 */
class RefusingParams extends Map<string, string[]> {
  constructor(
    params: Params,
    private readonly refused: ReadonlySet<string>,
  ) {
    super(params);
  }

  refuses(name: string): boolean {
    return this.refused.has(name);
  }

  override get(name: string): string[] | undefined {
    if (this.refused.has(name)) throw unreadableParameter(name);
    return super.get(name);
  }
}

/** The invalid_request for a parameter whose value cannot be taken as sent; it never echoes the value. */
export function unreadableParameter(name: string, errorOptions?: OAuthErrorOptions) {
  return invalidRequest(`The ${name} parameter holds a NUL byte or is not valid UTF-8`, errorOptions);
}

/**
 * Parses `application/x-www-form-urlencoded` text (a query string, or a form body read
 * as Latin-1 so that each character is one byte).
 */
export function parseParams(text: string): Params {
  const params: Params = new Map();
  const refused = new Set<string>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq)) ?? REFUSED;
    const value = eq < 0 ? '' : decodeFormComponent(pair.slice(eq + 1));
    if (value === undefined) refused.add(name);
    const values = params.get(name);
    if (values) values.push(value ?? REFUSED);
    else params.set(name, [value ?? REFUSED]);
  }
  return refused.size === 0 ? params : new RefusingParams(params, refused);
}

/** The first parameter holding a value that cannot be taken as sent, if any. */
export function firstUnreadable(params: Params): string | undefined {
  if (!(params instanceof RefusingParams)) return undefined;
  for (const name of params.keys()) if (params.refuses(name)) return name;
  return undefined;
}

/** Whether `name` was sent with a value that cannot be taken as sent. */
export function isUnreadable(params: Params, name: string): boolean {
  return params instanceof RefusingParams && params.refuses(name);
}

/** The values of `name` as sent, or undefined when absent or unreadable (never throws). */
export function readableValues(params: Params, name: string): string[] | undefined {
  return isUnreadable(params, name) ? undefined : params.get(name);
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
 * were omitted"). Repeated, oversized or unreadable values are invalid_request.
 */
export function single(params: Params, name: string, errorOptions?: OAuthErrorOptions): string | undefined {
  if (isUnreadable(params, name)) throw unreadableParameter(name, errorOptions);
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
