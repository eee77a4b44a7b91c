/**
 * Issuing tokens (RFC 6749 §5.1 for the token endpoint, §4.2.2 for the implicit grant):
 * every path that hands out an access token mints it here, so that every grant answers
 * alike. How an access token looks is a strategy (`AccessTokenStrategy`), chosen per
 * client: opaque — a random secret kept only as its hash — or a signed JWT (RFC 9068,
 * jwt-access-token.ts). An OpenID Connect ID token (id-token.ts) joins the response when
 * the grant asks for one and the scope holds `openid`; a plain OAuth response is unchanged.
 */
import type {
  AccessTokenFormat,
  AccessTokenRecord,
  ClientRecord,
  GrantRecord,
  RefreshTokenRecord,
} from '../store/store.js';
import type { IdTokenIssuer, IdTokenSubject } from './id-token.js';
import { scopeHas } from './scope.js';
import { hashSecret, newSecret, type Lifetimes } from './tokens.js';

/** RFC 6749 §5.1 (and PKB's token response). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  /** Space-delimited (RFC 6749 §3.3). */
  scope: string;
  /** OpenID Connect Core 1.0 §3.1.3.3: only when `openid` was granted. */
  id_token?: string;
}

/** What an access token is made of, and what the store keeps of it. */
export interface AccessTokenStrategy {
  readonly format: AccessTokenFormat;
  /**
   * The token as the client receives it, the hash the store looks it up by, and its `jti`
   * when it has one (a JWT's, RFC 9068 §2.2).
   */
  issue(input: {
    grant: GrantRecord;
    scope: string;
    client: ClientRecord;
    issuer: string;
    now: number;
    expiresAt: number;
  }): Promise<{ token: string; hash: string; jti: string | null }>;
}

/** Opaque access tokens: 256 random bits, stored only as a hash (tokens.ts). */
export const opaqueAccessTokens: AccessTokenStrategy = {
  format: 'opaque',
  async issue() {
    const token = newSecret();
    return { token, hash: hashSecret(token), jti: null };
  },
};

export interface MintedTokens {
  access: AccessTokenRecord;
  refresh: RefreshTokenRecord | null;
  response: TokenResponse;
}

export interface MintRequest {
  grant: GrantRecord;
  scope: string;
  client: ClientRecord;
  /** This server's issuer identifier (RFC 8414 §2) as the request reached it: a JWT's `iss`. */
  issuer: string;
  now: number;
  /** Whether a refresh token may be issued with it (never for the implicit grant, RFC 6749 §4.2.2). */
  refresh: boolean;
  /**
   * The new refresh token's scope when it differs from the access token's: a refresh
   * request that narrows the scope keeps the refresh token's own (RFC 6749 §6).
   */
  refreshScope?: string;
  /**
   * Who an ID token would be about (the code and refresh grants, id-token.ts
   * `openIdPerson`): one is issued when this is given and `scope` holds `openid`.
   */
  openId?: IdTokenSubject;
}

export interface TokenService {
  /** New tokens for a grant; nothing is stored here — the caller stores them with its own write. */
  mint(request: MintRequest): Promise<MintedTokens>;
}

/**
 * The token service. A refresh token is issued when asked for, the client may refresh and
 * the authorization session (the grant) still has time left: refresh tokens never outlive
 * it. The access token keeps its full lifetime: the end of the session stops refreshing,
 * as PKB describes, not the tokens already issued. The access token's format is the
 * client's (`accessTokenFormat`), one strategy per format.
 */
export function tokenService(
  lifetimes: Pick<Lifetimes, 'accessToken'>,
  strategies: readonly AccessTokenStrategy[],
  idTokens?: IdTokenIssuer,
): TokenService {
  const byFormat = new Map(strategies.map((s) => [s.format, s]));

  /** The response with its ID token appended (after PKB's fields) when one is due. */
  async function withIdToken(response: TokenResponse, request: MintRequest, access: AccessTokenRecord) {
    const { openId, grant, scope, client, issuer, now } = request;
    if (idTokens === undefined || openId === undefined || !scopeHas(scope, 'openid')) return response;
    const idToken = await idTokens.issue({
      grant,
      scope,
      client,
      subject: openId,
      issuer,
      now,
      // As long as the access token beside it: the keys' retention covers both.
      expiresAt: access.expiresAt,
      accessToken: response.access_token,
    });
    return { ...response, id_token: idToken };
  }

  return {
    async mint(request) {
      const { grant, scope, client, issuer, now, refresh: mayRefresh, refreshScope = scope } = request;
      const strategy = byFormat.get(client.accessTokenFormat ?? 'opaque');
      if (strategy === undefined) throw new Error(`this server issues no ${client.accessTokenFormat} access tokens`);
      // The client's own lifetime when it has one (client update --access-token-lifetime).
      const lifetime = client.lifetimes?.accessToken ?? lifetimes.accessToken;
      const expiresAt = now + lifetime * 1000;
      const issued = await strategy.issue({ grant, scope, client, issuer, now, expiresAt });
      const access: AccessTokenRecord = {
        hash: issued.hash,
        grantId: grant.id,
        scope,
        format: strategy.format,
        jti: issued.jti,
        createdAt: now,
        expiresAt,
      };
      if (!mayRefresh || !client.grantTypes.includes('refresh_token') || grant.expiresAt <= now) {
        const response: TokenResponse = {
          access_token: issued.token,
          token_type: 'Bearer',
          expires_in: lifetime,
          scope,
        };
        return { access, refresh: null, response: await withIdToken(response, request, access) };
      }
      const refreshToken = newSecret();
      const refresh: RefreshTokenRecord = {
        hash: hashSecret(refreshToken),
        grantId: grant.id,
        scope: refreshScope,
        expiresAt: grant.expiresAt,
        retiredAt: null,
      };
      // The field order of PKB's documented response.
      const response: TokenResponse = {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: lifetime,
        refresh_token: refreshToken,
        scope,
      };
      return { access, refresh, response: await withIdToken(response, request, access) };
    },
  };
}
