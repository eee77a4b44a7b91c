/**
 * Signing keys as operators see them (RFC 7517 JWKs): list them, rotate them, and get
 * them ready when the server starts. At most one key per algorithm is active: the one a
 * rotation made signs access tokens, the others were made on demand for ID tokens
 * (oauth/signing-keys.ts). Private keys are sealed under TESSERA_SECRET
 * (oauth/key-seal.ts); a key that cannot be unsealed is the operator's to fix.
 */
import { KeySealError, keySealer, type KeySealer } from '../oauth/key-seal.js';
import {
  DEFAULT_KEY_REFRESH_SECONDS,
  DEFAULT_SIGNING_ALG,
  isSigningAlg,
  keyRetentionMs,
  keyStore,
  newSigningKey,
  publishedKeys,
  SIGNING_ALGS,
  type KeyStore,
  type KeyStoreOptions,
  type SigningAlg,
} from '../oauth/signing-keys.js';
import { MAX_ACCESS_TOKEN_LIFETIME } from '../oauth/tokens.js';
import type { SigningKeyRecord, Store } from '../store/store.js';
import { checkedServerSecret } from './cookie-secret.js';
import { InvalidInputError } from './errors.js';

/** Said once on stderr by the commands that read or make keys when TESSERA_SECRET is not set. */
export const UNSEALED_KEYS_NOTE =
  'note: TESSERA_SECRET is not set, so private signing keys are stored unsealed: a copy of the database holds usable signing keys';

/** The longest TESSERA_KEY_REFRESH_SECONDS: every instance must sign with a rotated key within a minute. */
export const MAX_KEY_REFRESH_SECONDS = 60;

/** The sealer for TESSERA_SECRET (checked: 32 characters or more); unsealed without it. */
export function serverKeySealer(secret: string | undefined): KeySealer {
  return keySealer(checkedServerSecret(secret));
}

/** TESSERA_KEY_REFRESH_SECONDS: how often each instance reads the keys again (1–60; default 30). */
export function parseKeyRefreshSeconds(value: string | undefined): number {
  if (value === undefined) return DEFAULT_KEY_REFRESH_SECONDS;
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_KEY_REFRESH_SECONDS) {
    throw new InvalidInputError(
      `TESSERA_KEY_REFRESH_SECONDS must be a whole number of seconds from 1 to ${MAX_KEY_REFRESH_SECONDS}, not '${value}'`,
    );
  }
  return Number(text);
}

export function parseSigningAlg(value: string | undefined): SigningAlg {
  if (value === undefined) return DEFAULT_SIGNING_ALG;
  if (!isSigningAlg(value)) {
    throw new InvalidInputError(`alg must be one of ${SIGNING_ALGS.join(', ')}, not '${value}'`);
  }
  return value;
}

export interface KeyInfo {
  kid: string;
  alg: string;
  /** `active` signs; `previous` is retired and published while tokens it signed may be alive. */
  state: 'active' | 'previous';
  created: string;
  /** When it was retired (ISO 8601); null for the active key. */
  retired: string | null;
  /** Whether its private part is sealed under TESSERA_SECRET. */
  sealed: boolean;
}

export function describeKey(key: SigningKeyRecord): KeyInfo {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.retiredAt === null ? 'active' : 'previous',
    created: new Date(key.createdAt).toISOString(),
    retired: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
    sealed: !key.privateKey.startsWith('plain.'),
  };
}

/**
 * The published keys, newest first: the active key and the previous ones still published
 * (retired less than the longest access token lifetime plus `refreshSeconds` ago).
 */
export async function listKeys(
  store: Pick<Store, 'listSigningKeys'>,
  now: number,
  refreshSeconds: number = DEFAULT_KEY_REFRESH_SECONDS,
): Promise<KeyInfo[]> {
  const retentionMs = keyRetentionMs(MAX_ACCESS_TOKEN_LIFETIME, refreshSeconds);
  return publishedKeys(await store.listSigningKeys(), now, retentionMs).map(describeKey);
}

/**
 * A new signing key (`alg`, default ES256), stored as the active key while every active
 * key (of every algorithm) is retired, in one write: every instance publishes it at once
 * and signs access tokens with it once it reads the keys again. ID tokens of clients whose
 * algorithm differs get a new key of their own on demand. With no key yet, this is the first.
 */
export async function rotateKey(
  store: Pick<Store, 'rotateSigningKey' | 'addSigningKeyForAlg' | 'listClients'>,
  alg: string | undefined,
  sealer: KeySealer,
  now: number,
): Promise<KeyInfo> {
  const key = await newSigningKey(parseSigningAlg(alg), sealer, now);
  await store.rotateSigningKey(key);
  // The ID token keys the clients need are made now too (after the new signing key, so
  // never older than it), published beside it from the start.
  for (const idAlg of await idTokenAlgsInUse(store)) {
    if (idAlg !== key.alg) await store.addSigningKeyForAlg(await newSigningKey(idAlg, sealer, now + 1));
  }
  return describeKey(key);
}

/**
 * The ID token algorithms of the enabled clients that may ask for `openid`. Their keys are
 * made ahead — when the server starts and when keys rotate — rather than at the first ID
 * token, so that a relying party that fetched the JWK Set a moment before already finds
 * the key (JWKS clients such as jose's refetch an unknown `kid` only after a cooldown).
 */
async function idTokenAlgsInUse(store: Pick<Store, 'listClients'>): Promise<SigningAlg[]> {
  const algs = (await store.listClients())
    .filter((c) => c.disabledAt === null && c.scopes.includes('openid'))
    .map((c) => c.idTokenAlg);
  return [...new Set(algs)].filter(isSigningAlg);
}

/**
 * The server's key store, ready to sign: the first key is made when none exists, so are
 * the ID token keys the clients need, and the signing keys are unsealed now, so that a key sealed under another secret (or under a
 * secret that is not set) stops the server before it listens, with one line.
 */
export async function prepareKeyStore(
  store: Pick<Store, 'listSigningKeys' | 'addFirstSigningKey' | 'addSigningKeyForAlg' | 'listClients'>,
  options: KeyStoreOptions,
): Promise<KeyStore> {
  const keys = keyStore(store, options);
  try {
    await keys.signingKey();
    for (const alg of await idTokenAlgsInUse(store)) await keys.signingKeyFor(alg);
  } catch (err) {
    if (err instanceof KeySealError) throw new InvalidInputError(err.message);
    throw err;
  }
  return keys;
}
