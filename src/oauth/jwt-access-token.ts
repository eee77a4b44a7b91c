/**
 * RFC 9068 JWT access tokens: a token an API can verify by itself with the JWK Set
 * (signing-keys.ts). The header has `typ: at+jwt` (§2.1), `alg` and `kid`; the claims are
 * those of §2.2 — `iss`, `sub` (the person, or the client when the grant has no person,
 * §2.2 and RFC 6749 §4.4), `aud`, `exp`, `iat`, `jti`, `client_id` — and `scope`
 * (§2.2.3). The store keeps the token's hash like an opaque token's, so a JWT stays a
 * credential of its grant: revoking the grant ends it at every endpoint that looks it up.
 */
import { SignJWT } from 'jose';
import type { KeyStore } from './signing-keys.js';
import type { AccessTokenStrategy } from './token-service.js';
import { hashSecret, newSecret } from './tokens.js';

/** `audience`: the `aud` of every token (RFC 9068 §3: the resource the token is meant for); default the issuer. */
export function jwtAccessTokens(keys: Pick<KeyStore, 'signingKey'>, audience?: string): AccessTokenStrategy {
  return {
    format: 'jwt',
    async issue({ grant, scope, client, issuer, now, expiresAt }) {
      const signing = await keys.signingKey();
      const jti = newSecret();
      const token = await new SignJWT({ client_id: client.id, scope })
        .setProtectedHeader({ typ: 'at+jwt', alg: signing.alg, kid: signing.kid })
        .setIssuer(issuer)
        .setSubject(grant.personId ?? client.id)
        .setAudience(audience ?? issuer)
        .setIssuedAt(Math.floor(now / 1000))
        .setExpirationTime(Math.floor(expiresAt / 1000))
        .setJti(jti)
        .sign(signing.key);
      return { token, hash: hashSecret(token), jti };
    },
  };
}
