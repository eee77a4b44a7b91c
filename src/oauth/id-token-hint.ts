/**
 * `id_token_hint` (OpenID Connect Core 1.0 §3.1.2.1; RP-Initiated Logout 1.0 §2): an ID
 * token this server issued, passed back as a hint about who the client thinks is signed
 * in. It is trusted only when its signature verifies with one of this server's published
 * keys and its `iss` is this server. An expired hint still counts (the Core spec expects
 * relying parties to send old ID tokens); a hint signed by a key no longer published does
 * not. Signature checks are jose's.
 */
import { compactVerify, createLocalJWKSet, decodeJwt, type JSONWebKeySet } from 'jose';

/** What a valid hint says. */
export interface IdTokenHint {
  /** The person it was issued for. */
  sub: string;
  /** The clients it was issued to (`aud`, §2). */
  audience: string[];
  /** The browser session it was issued in, when it says. */
  sid?: string;
}

/** The hint's claims when it is an ID token of this server; undefined otherwise (never throws on bad input). */
export async function readIdTokenHint(
  hint: string,
  issuer: string,
  jwks: JSONWebKeySet,
): Promise<IdTokenHint | undefined> {
  try {
    await compactVerify(hint, createLocalJWKSet(jwks));
    const claims = decodeJwt(hint);
    if (claims.iss !== issuer || typeof claims.sub !== 'string' || claims.sub === '') return undefined;
    const audience = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    const sid = typeof claims['sid'] === 'string' ? claims['sid'] : undefined;
    return { sub: claims.sub, audience, ...(sid !== undefined && { sid }) };
  } catch {
    return undefined;
  }
}
