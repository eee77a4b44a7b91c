/**
 * The keys that sign this server's JWTs (RFC 7515) and their publication as a JWK Set
 * (RFC 7517 §5). The newest key that is not retired signs; a rotation retires it and
 * adds the next in one write, and every instance reads the keys again at most every
 * `refreshSeconds`, so every instance signs with a rotated key within that time. A
 * retired key stays published while a token it signed may be alive: for the longest
 * token lifetime plus one refresh interval (an instance may sign with it that much after
 * its retirement). Key pairs, JWKs, thumbprints and signatures are jose's.
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import type { SigningKeyRecord, Store } from '../store/store.js';
import type { KeySealer } from './key-seal.js';

/** JWS algorithms for signing keys (RFC 7518 §3.4 ES256, §3.3 RS256; RFC 8037 §3.1 EdDSA with Ed25519). */
export const SIGNING_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';
/** How often an instance reads the keys again, at most: a rotation takes over signing within it. */
export const DEFAULT_KEY_REFRESH_SECONDS = 30;

export function isSigningAlg(value: string): value is SigningAlg {
  return (SIGNING_ALGS as readonly string[]).includes(value);
}

/** Members of a JWK that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * A new key pair as the store keeps it: `kid` is the RFC 7638 thumbprint of the public
 * key; the public JWK carries `kid`, `alg` and `use: sig` (RFC 7517 §4.2–§4.5); the
 * private JWK is sealed (key-seal.ts). RSA keys have 2048-bit moduli (RFC 7518 §3.3).
 */
export async function newSigningKey(alg: SigningAlg, sealer: KeySealer, now: number): Promise<SigningKeyRecord> {
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 2048 }) });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg };
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    privateKey: sealer.seal(kid, JSON.stringify(privateJwk)),
    createdAt: now,
    retiredAt: null,
  };
}

/** The signing key among `keys`: the newest that is not retired. */
export function activeKey(keys: readonly SigningKeyRecord[]): SigningKeyRecord | undefined {
  return [...keys].sort((a, b) => b.createdAt - a.createdAt).find((k) => k.retiredAt === null);
}

/** The keys to publish at `now`: the signing key and those retired less than `retentionMs` ago. */
export function publishedKeys(keys: readonly SigningKeyRecord[], now: number, retentionMs: number): SigningKeyRecord[] {
  return keys.filter((k) => k.retiredAt === null || k.retiredAt + retentionMs > now);
}

/** A key's public JWK; private members are dropped even if the stored text had any. */
export function publicJwk(key: SigningKeyRecord): JWK {
  const jwk = JSON.parse(key.publicJwk) as Record<string, unknown>;
  for (const member of PRIVATE_MEMBERS) delete jwk[member];
  return jwk as JWK;
}

/** How long a retired key stays published: the longest token lifetime plus one refresh interval. */
export function keyRetentionMs(tokenLifetimeSeconds: number, refreshSeconds: number): number {
  return (tokenLifetimeSeconds + refreshSeconds) * 1000;
}

export interface ActiveSigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

export interface KeyStoreOptions {
  sealer: KeySealer;
  /**
   * Seconds: the longest lifetime of a token these keys sign (access tokens' `expires_in`;
   * other tokens signed with the same keys may need more).
   */
  tokenLifetime: number;
  /** Read the keys again at most this often (seconds); default 30. */
  refreshSeconds?: number;
  /** The algorithm of the first key, made when there is none; default ES256. */
  firstKeyAlg?: SigningAlg;
  /** The clock in milliseconds; default Date.now. */
  now?: () => number;
}

export interface KeyStore {
  /** How long a retired key stays published (ms): nothing it signed lives longer. */
  readonly retentionMs: number;
  /** The key to sign with now; read again once `refreshSeconds` have passed; the first key is made when none exists. */
  signingKey(): Promise<ActiveSigningKey>;
  /** The JWK Set to publish (RFC 7517 §5), read from the store on every call: a new key is published at once. */
  jwks(): Promise<JSONWebKeySet>;
}

export function keyStore(
  store: Pick<Store, 'listSigningKeys' | 'addFirstSigningKey'>,
  options: KeyStoreOptions,
): KeyStore {
  const now = options.now ?? Date.now;
  const refreshMs = (options.refreshSeconds ?? DEFAULT_KEY_REFRESH_SECONDS) * 1000;
  const retentionMs = keyRetentionMs(options.tokenLifetime, options.refreshSeconds ?? DEFAULT_KEY_REFRESH_SECONDS);
  let cached: { loadedAt: number; key: ActiveSigningKey } | undefined;
  let loading: Promise<ActiveSigningKey> | undefined;

  async function load(): Promise<ActiveSigningKey> {
    let active = activeKey(await store.listSigningKeys());
    if (active === undefined) {
      await store.addFirstSigningKey(
        await newSigningKey(options.firstKeyAlg ?? DEFAULT_SIGNING_ALG, options.sealer, now()),
      );
      // Read again whether or not ours was stored: another instance may have made the first key.
      active = activeKey(await store.listSigningKeys());
      if (active === undefined) throw new Error('no signing key after adding the first one');
    }
    if (cached?.key.kid === active.kid) return cached.key;
    const jwk = JSON.parse(options.sealer.open(active.kid, active.privateKey)) as JWK;
    const key = (await importJWK(jwk, active.alg)) as CryptoKey;
    return { kid: active.kid, alg: active.alg, key };
  }

  return {
    retentionMs,
    async signingKey() {
      const at = now();
      if (cached !== undefined && at >= cached.loadedAt && at - cached.loadedAt < refreshMs) return cached.key;
      // One read at a time: requests arriving while it runs share it.
      loading ??= load()
        .then((key) => {
          cached = { loadedAt: at, key };
          return key;
        })
        .finally(() => {
          loading = undefined;
        });
      return loading;
    },
    async jwks() {
      const keys = publishedKeys(await store.listSigningKeys(), now(), retentionMs);
      return { keys: keys.map(publicJwk) };
    },
  };
}
