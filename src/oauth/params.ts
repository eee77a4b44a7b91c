/**
 * Request parameters as the protocol sees them: every value of every name, so that a
 * repeated parameter can be refused (RFC 6749 §3.1, §3.2: "parameters MUST NOT be
 * included more than once") rather than silently resolved one way or the other.
 */
import { invalidRequest, type OAuthErrorOptions } from './errors.js';

export type Params = Map<string, string[]>;

/** A parameter value over 4 KiB is refused with a 4xx (never a 5xx): no legitimate value comes near it. */
export const MAX_PARAM_LENGTH = 4096;

/** Over 4 KiB of UTF-8 (counted in bytes, so 2 100 × "é" is too long too). */
function tooLong(value: string): boolean {
  if (value.length > MAX_PARAM_LENGTH) return true;
  // A UTF-16 code unit is at most 3 bytes in UTF-8: most values need no count.
  return value.length * 3 > MAX_PARAM_LENGTH && Buffer.byteLength(value, 'utf8') > MAX_PARAM_LENGTH;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * One name or value of the WHATWG URL Standard's urlencoded parser (what URLSearchParams
 * does: `+` is a space, `%XX` a byte, any other `%` itself), or undefined when it cannot
 * be taken as sent: its bytes are not valid UTF-8 — which URLSearchParams would silently
 * turn into U+FFFD — or it holds U+0000.
 */
export function decodeComponent(bytes: Buffer): string | undefined {
  // Most values (codes, tokens, ids, verifiers) are plain ASCII with nothing to decode.
  return isPlain(bytes) ? bytes.toString('latin1') : decodeEscaped(bytes);
}

/** ASCII without NUL, `%` or `+`: it decodes to itself. */
function isPlain(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte === 0 || byte >= 0x80 || byte === 0x25 || byte === 0x2b) return false;
  }
  return true;
}

/** The general decoding; `decodeComponent` takes a shortcut for plain values (tested to agree). */
export function decodeEscaped(bytes: Buffer): string | undefined {
  const out = Buffer.allocUnsafe(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const high = byte === 0x25 ? hexValue(bytes[i + 1]) : -1;
    const low = high >= 0 ? hexValue(bytes[i + 2]) : -1;
    if (low >= 0) {
      out[length++] = high * 16 + low;
      i += 2;
    } else {
      out[length++] = byte === 0x2b ? 0x20 : byte;
    }
  }
  let text: string;
  try {
    text = utf8.decode(out.subarray(0, length));
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

/** Parses `application/x-www-form-urlencoded` text (a query string). */
export function parseParams(text: string): Params {
  return parseFormBody(Buffer.from(text, 'utf8'));
}

/**
 * Parses `application/x-www-form-urlencoded` bytes (a form body): read as bytes, so that
 * bytes that are not UTF-8 are refused rather than seen already turned into U+FFFD.
 */
export function parseFormBody(body: Buffer): Params {
  const params: Params = new Map();
  const refused = new Set<string>();
  let start = 0;
  while (start <= body.length) {
    const amp = body.indexOf(0x26, start);
    const end = amp < 0 ? body.length : amp;
    if (end > start) {
      const pair = body.subarray(start, end);
      const eq = pair.indexOf(0x3d);
      const name = decodeComponent(eq < 0 ? pair : pair.subarray(0, eq)) ?? REFUSED;
      const value = eq < 0 ? '' : decodeComponent(pair.subarray(eq + 1));
      if (value === undefined) refused.add(name);
      const values = params.get(name);
      if (values) values.push(value ?? REFUSED);
      else params.set(name, [value ?? REFUSED]);
    }
    start = end + 1;
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
