/**
 * Parsing form-urlencoded parameters: the same values as the WHATWG URL Standard's
 * parser (URLSearchParams) for everything it reads faithfully, and a refusal instead of
 * U+FFFD or U+0000 for what it does not.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import {
  decodeComponent,
  decodeEscaped,
  firstUnreadable,
  parseFormBody,
  parseParams,
  readableValues,
  single,
  type Params,
} from '../../src/oauth/params.js';

/**
 * URLSearchParams's answer, with raw non-ASCII characters percent-encoded first (the
 * standard's first step, which Node 20's URLSearchParams gets wrong after a lone `%`).
 */
function urlSearchParams(text: string): Params {
  const params: Params = new Map();
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => encodeURIComponent(c));
  for (const [name, value] of new URLSearchParams(ascii)) params.set(name, [...(params.get(name) ?? []), value]);
  return params;
}

// Every %XX here is a whole UTF-8 sequence; a % not followed by two hex digits is itself.
const ALPHABET = ['x', 'Z', '=', '&', '+', '%', '%41', '%c3%a9', '%E2%82%AC', '%zz', 'é', '€', '😀', ' ', '~'];

describe('parseParams', () => {
  it('agrees with URLSearchParams on a thousand random strings of valid UTF-8', () => {
    for (let i = 0; i < 1000; i++) {
      const text = Array.from({ length: randomInt(12) }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      const expected = urlSearchParams(text);
      expect(parseParams(text), text).toEqual(expected);
      expect(parseFormBody(Buffer.from(text)), text).toEqual(expected);
    }
  });

  it.each([
    ['a NUL byte', 'state=a%00b'],
    ['a lone continuation byte', 'state=%80'],
    ['0xFF', 'state=%FF'],
    ['a truncated sequence', 'state=%C3'],
    ['an overlong encoding', 'state=%C0%AF'],
    ['a UTF-16 surrogate', 'state=%ED%A0%80'],
    ['a code point above U+10FFFF', 'state=%F4%90%80%80'],
  ])('refuses %s: reading it throws invalid_request, and it is never returned', (_name, text) => {
    const params = parseParams(`client_id=app&${text}`);
    expect(firstUnreadable(params)).toBe('state');
    expect(readableValues(params, 'state')).toBeUndefined();
    expect(single(params, 'client_id')).toBe('app');
    for (const read of [() => params.get('state'), () => single(params, 'state', { redirectable: false })]) {
      let error: unknown;
      try {
        read();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).code).toBe('invalid_request');
      expect((error as OAuthError).description).toBe('The state parameter holds a NUL byte or is not valid UTF-8');
    }
  });

  it('refuses raw bytes that are not UTF-8 in a body, and keeps raw UTF-8', () => {
    expect(firstUnreadable(parseFormBody(Buffer.from([0x61, 0x3d, 0xff])))).toBe('a');
    expect(firstUnreadable(parseFormBody(Buffer.from([0x61, 0x3d, 0x00])))).toBe('a');
    expect(parseFormBody(Buffer.from('a=é+€%2B'))).toEqual(new Map([['a', ['é €+']]]));
  });

  it('random bytes never come back as U+FFFD or U+0000', () => {
    for (let i = 0; i < 1000; i++) {
      const params = parseFormBody(randomBytes(randomInt(1, 24)));
      for (const name of params.keys()) {
        const values = readableValues(params, name);
        if (values) for (const value of values) expect(value).not.toMatch(/[\uFFFD\0]/);
      }
    }
  });
});

describe('the shortcut for plain values', () => {
  it('decodes every value as the general decoding does: random bytes, ASCII and plain', () => {
    const ascii = () => Buffer.from(Array.from({ length: randomInt(20) }, () => randomInt(0x80)));
    const plain = () => Buffer.from(Array.from({ length: randomInt(60) }, () => 0x30 + randomInt(0x4f)));
    for (let i = 0; i < 3000; i++) {
      const bytes = [randomBytes(randomInt(20)), ascii(), plain()][i % 3] as Buffer;
      expect(decodeComponent(bytes), bytes.toString('hex')).toBe(decodeEscaped(bytes));
    }
  });
});
