/**
 * Private signing keys at rest. With a server secret, a private JWK (RFC 7517 §4) is
 * sealed with AES-256-GCM under a key derived from the secret by HKDF-SHA256 (RFC 5869),
 * with a random 96-bit IV (NIST SP 800-38D §8.2.2) and the key's `kid` as additional
 * authenticated data, so a sealed key copied to another row does not open. Text format,
 * versioned so that the scheme can change: `v1.<iv>.<ciphertext>.<tag>` (base64url).
 * Without a secret the JWK is kept as `plain.<json>`: a copy of the database then holds
 * usable signing keys, which the server says when it starts.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** A sealed key that cannot be opened: no secret, the wrong secret, or altered text. */
export class KeySealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySealError';
  }
}

export interface KeySealer {
  /** Whether new keys are sealed (a secret was given). */
  readonly sealing: boolean;
  /** The stored text for the private JWK (JSON) of key `kid`. */
  seal(kid: string, privateJwk: string): string;
  /** The private JWK (JSON) from its stored text; KeySealError when it cannot be opened. */
  open(kid: string, stored: string): string;
}

const SEALED = 'v1.';
const PLAIN = 'plain.';
/** Names what the derived key is for (RFC 5869 §3.2 `info`): a secret used elsewhere yields another key. */
const HKDF_INFO = 'tessera signing-key seal v1';

export function keySealer(secret: string | undefined): KeySealer {
  const key =
    secret === undefined ? undefined : Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
  return {
    sealing: key !== undefined,
    seal(kid, privateJwk) {
      if (key === undefined) return PLAIN + privateJwk;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(kid, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(privateJwk, 'utf8'), cipher.final()]);
      return SEALED + [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
    },
    open(kid, stored) {
      if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
      if (!stored.startsWith(SEALED)) throw new KeySealError(`signing key ${kid} is stored in an unknown format`);
      if (key === undefined) {
        throw new KeySealError(`signing key ${kid} is sealed with TESSERA_SECRET, which is not set`);
      }
      const parts = stored.slice(SEALED.length).split('.');
      const [iv, ciphertext, tag] = parts.map((p) => Buffer.from(p, 'base64url'));
      if (parts.length !== 3 || iv?.length !== 12 || tag?.length !== 16 || ciphertext === undefined) {
        throw new KeySealError(`signing key ${kid} is stored in an unknown format`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        decipher.setAAD(Buffer.from(kid, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // GCM's tag check (SP 800-38D §7.2) fails alike for another secret and for altered text.
        throw new KeySealError(
          `signing key ${kid} cannot be unsealed: TESSERA_SECRET is not the secret it was sealed with (or the stored key was altered)`,
        );
      }
    },
  };
}
