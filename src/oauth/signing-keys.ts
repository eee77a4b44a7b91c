/**
 * The keys that sign this server's JWTs (RFC 7515) and their publication as a JWK Set
 * (RFC 7517 §5). The model: at most one active (not retired) key per algorithm, which a
 * unique index holds.
 *
 * - Access tokens (RFC 9068) are signed with the oldest active key: the one the first
 *   start or the last `keys rotate` made. A rotation retires every active key, of every
 *   algorithm, and adds the next in one write, so the rotated key is then the only one.
 * - ID tokens (OpenID Connect Core §3.1.3.7, §10.1) are signed with the active key of
 *   their client's algorithm. When there is none (after a rotation, or the first time an
 *   algorithm is asked for) one is made on demand by a conditional insert: of instances
 *   racing, the unique index keeps one, and every instance reads back the one stored. It
 *   is published at once and is always newer than the access-token key, so it never
 *   takes over signing access tokens.
 *
 * Every instance reads the keys again at most every `refreshSeconds`, so every instance
 * signs with a rotated key within that time. A retired key stays published while a token
 * it signed may be alive: for the longest token lifetime (access tokens and ID tokens
 * live equally long) plus one refresh interval (an instance may sign with it that much
 * after its retirement). Key pairs, JWKs, thumbprints and signatures are jose's.
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

/**
 * The key that signs access tokens among `keys`: the oldest that is not retired — the one
 * the first start or the last rotation made (keys made on demand for ID tokens are newer).
 */
export function activeKey(keys: readonly SigningKeyRecord[]): SigningKeyRecord | undefined {
  return [...keys].sort((a, b) => a.createdAt - b.createdAt).find((k) => k.retiredAt === null);
}

/** The active key of `alg` among `keys` (at most one: a unique index holds it). */
export function activeKeyFor(keys: readonly SigningKeyRecord[], alg: SigningAlg): SigningKeyRecord | undefined {
  return keys.find((k) => k.retiredAt === null && k.alg === alg);
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
   * Seconds: the longest lifetime of a token these keys sign (access tokens' `expires_in`,
   * which ID tokens share).
   */
  tokenLifetime: number;
  /** Read the keys again at most this often (seconds); default 30. */
  refreshSeconds?: number;
  /** The algorithm of the first key, made when there is none; default ES256. */
  firstKeyAlg?: SigningAlg;
  /** The clock in milliseconds; default Date.now. */
  now?: () => number;
  /**
   * Told each time a key is read again from the store (every `refreshSeconds` at most, per
   * use: `access`, or an algorithm for ID tokens), with whether it changed (a rotation).
   */
  onRead?: (read: { use: string; kid: string; alg: string; changed: boolean }) => void;
}

export interface KeyStore {
  /** How long a retired key stays published (ms): nothing it signed lives longer. */
  readonly retentionMs: number;
  /**
   * The key to sign access tokens with now (the oldest active key); read again once
   * `refreshSeconds` have passed; the first key is made when none exists.
   */
  signingKey(): Promise<ActiveSigningKey>;
  /**
   * The active key of `alg`, for ID tokens; made on demand when there is none, cached
   * like `signingKey`.
   */
  signingKeyFor(alg: SigningAlg): Promise<ActiveSigningKey>;
  /** The JWK Set to publish (RFC 7517 §5), read from the store on every call: a new key is published at once. */
  jwks(): Promise<JSONWebKeySet>;
}

/** Attempts to store a key on demand before giving up (each lost only to a rotation in between). */
const ON_DEMAND_ATTEMPTS = 3;

export function keyStore(
  store: Pick<Store, 'listSigningKeys' | 'addFirstSigningKey' | 'addSigningKeyForAlg'>,
  options: KeyStoreOptions,
): KeyStore {
  const now = options.now ?? Date.now;
  const refreshMs = (options.refreshSeconds ?? DEFAULT_KEY_REFRESH_SECONDS) * 1000;
  const retentionMs = keyRetentionMs(options.tokenLifetime, options.refreshSeconds ?? DEFAULT_KEY_REFRESH_SECONDS);
  /** Per use ('access', or an algorithm): the key read last and when; the read under way. */
  const cached = new Map<string, { loadedAt: number; key: ActiveSigningKey }>();
  const loading = new Map<string, Promise<ActiveSigningKey>>();

  /** The keys, with a first key made when none is active. */
  async function keysWithFirst(): Promise<SigningKeyRecord[]> {
    const keys = await store.listSigningKeys();
    if (activeKey(keys) !== undefined) return keys;
    await store.addFirstSigningKey(
      await newSigningKey(options.firstKeyAlg ?? DEFAULT_SIGNING_ALG, options.sealer, now()),
    );
    // Read again whether or not ours was stored: another instance may have made the first key.
    const again = await store.listSigningKeys();
    if (activeKey(again) === undefined) throw new Error('no signing key after adding the first one');
    return again;
  }

  /** The key ready to sign; the one already imported when it has not changed. */
  async function unsealed(use: string, record: SigningKeyRecord): Promise<ActiveSigningKey> {
    const previous = cached.get(use)?.key;
    if (previous?.kid === record.kid) return previous;
    const jwk = JSON.parse(options.sealer.open(record.kid, record.privateKey)) as JWK;
    const key = (await importJWK(jwk, record.alg)) as CryptoKey;
    return { kid: record.kid, alg: record.alg, key };
  }

  async function loadAccessKey(): Promise<ActiveSigningKey> {
    return unsealed('access', activeKey(await keysWithFirst()) as SigningKeyRecord);
  }

  async function loadKeyFor(alg: SigningAlg): Promise<ActiveSigningKey> {
    for (let attempt = 0; attempt < ON_DEMAND_ATTEMPTS; attempt++) {
      const keys = await keysWithFirst();
      const found = activeKeyFor(keys, alg);
      if (found !== undefined) return unsealed(alg, found);
      // Newer than the access-token key, so that it never becomes the oldest active key.
      const oldest = activeKey(keys) as SigningKeyRecord;
      await store.addSigningKeyForAlg(await newSigningKey(alg, options.sealer, Math.max(now(), oldest.createdAt + 1)));
      // Read back whether or not ours was stored: an instance racing us may have won.
      const stored = activeKeyFor(await store.listSigningKeys(), alg);
      if (stored !== undefined) return unsealed(alg, stored);
    }
    throw new Error(`no ${alg} signing key after ${ON_DEMAND_ATTEMPTS} attempts to add one`);
  }

  function cachedKey(use: string, load: () => Promise<ActiveSigningKey>): Promise<ActiveSigningKey> {
    const at = now();
    const hit = cached.get(use);
    if (hit !== undefined && at >= hit.loadedAt && at - hit.loadedAt < refreshMs) return Promise.resolve(hit.key);
    // One read at a time per use: requests arriving while it runs share it.
    let pending = loading.get(use);
    if (pending === undefined) {
      pending = load()
        .then((key) => {
          const before = cached.get(use)?.key.kid;
          cached.set(use, { loadedAt: at, key });
          try {
            options.onRead?.({ use, kid: key.kid, alg: key.alg, changed: before !== undefined && before !== key.kid });
          } catch {
            // A failing logger must not fail the signing.
          }
          return key;
        })
        .finally(() => {
          loading.delete(use);
        });
      loading.set(use, pending);
    }
    return pending;
  }

  return {
    retentionMs,
    signingKey: () => cachedKey('access', loadAccessKey),
    signingKeyFor: (alg) => cachedKey(alg, () => loadKeyFor(alg)),
    async jwks() {
      const keys = publishedKeys(await store.listSigningKeys(), now(), retentionMs);
      return { keys: keys.map(publicJwk) };
    },
  };
}
