/**
 * Private keys at rest (oauth/key-seal.ts): AES-256-GCM under an HKDF-SHA256 key from
 * the server secret, the kid as additional authenticated data. What is sealed opens only
 * with the same secret, for the same kid, unaltered.
 */
import { describe, expect, it } from 'vitest';
import { KeySealError, keySealer } from '../../src/oauth/key-seal.js';

const SECRET = 'a'.repeat(16) + 'b'.repeat(16) + 'c';
const JWK = JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', d: 'the-private-scalar' });

describe('sealing private keys', () => {
  it('round-trips, in the versioned format, with a fresh IV each time and nothing of the key in the clear', () => {
    const sealer = keySealer(SECRET);
    expect(sealer.sealing).toBe(true);
    const one = sealer.seal('kid-1', JWK);
    const two = sealer.seal('kid-1', JWK);
    expect(one).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(one).not.toBe(two);
    expect(one).not.toContain('the-private-scalar');
    expect(sealer.open('kid-1', one)).toBe(JWK);
    // Another sealer with the same secret (another instance) opens it.
    expect(keySealer(SECRET).open('kid-1', two)).toBe(JWK);
  });

  it('refuses the wrong secret, a missing secret, another kid and altered text', () => {
    const sealed = keySealer(SECRET).seal('kid-1', JWK);
    expect(() => keySealer(`${SECRET}x`).open('kid-1', sealed)).toThrow(KeySealError);
    expect(() => keySealer(`${SECRET}x`).open('kid-1', sealed)).toThrow(/not the secret it was sealed with/);
    expect(() => keySealer(undefined).open('kid-1', sealed)).toThrow(/sealed with TESSERA_SECRET, which is not set/);
    // Moved to another key's row: the kid is authenticated with it.
    expect(() => keySealer(SECRET).open('kid-2', sealed)).toThrow(KeySealError);
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    const flipped = (text: string) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[0] = (bytes[0] as number) ^ 1;
      return bytes.toString('base64url');
    };
    for (const altered of [
      [version, iv, flipped(ciphertext), tag].join('.'),
      [version, iv, ciphertext, flipped(tag)].join('.'),
      [version, flipped(iv), ciphertext, tag].join('.'),
      [version, iv, ciphertext].join('.'),
      `v2.${iv}.${ciphertext}.${tag}`,
    ]) {
      expect(() => keySealer(SECRET).open('kid-1', altered)).toThrow(KeySealError);
    }
  });

  it('without a secret keeps the key unsealed, and such a key still opens once a secret is set', () => {
    const sealer = keySealer(undefined);
    expect(sealer.sealing).toBe(false);
    const stored = sealer.seal('kid-1', JWK);
    expect(stored).toBe(`plain.${JWK}`);
    expect(sealer.open('kid-1', stored)).toBe(JWK);
    expect(keySealer(SECRET).open('kid-1', stored)).toBe(JWK);
  });
});
