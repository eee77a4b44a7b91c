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

/**
 * Opaque token secrets chosen before the grant is read, for a store that claims a code or
 * refresh token and stores the tokens issued for it in the statement that reads it
 * (store.ts `claimAuthorizationCode`). Only opaque access tokens can be: a JWT is made of
 * its grant.
 */
export interface PreIssued {
  access: string;
  accessHash: string;
  accessExpiresAt: number;
  /** Null when the client may not refresh; the grant's own end decides the rest (`mint`). */
  refresh: string | null;
  refreshHash: string | null;
}

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
  /** The secrets to issue, when they were chosen before the grant was read (`preIssue`). */
  preIssued?: PreIssued;
}

export interface TokenService {
  /** New tokens for a grant; nothing is stored here — the caller stores them with its own write. */
  mint(request: MintRequest): Promise<MintedTokens>;
  /**
   * The secrets `mint` will issue to this client for a grant not read yet, or undefined
   * when its access tokens depend on the grant (a JWT). Given back to `mint` with the
   * grant, they make the same records the store was asked to keep.
   */
  preIssue(client: ClientRecord, now: number, refresh: boolean): PreIssued | undefined;
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

  // The client's own lifetime when it has one (client update --access-token-lifetime).
  const lifetimeOf = (client: ClientRecord) => client.lifetimes?.accessToken ?? lifetimes.accessToken;
  const mayRefresh = (client: ClientRecord, refresh: boolean) => refresh && client.grantTypes.includes('refresh_token');

  return {
    preIssue(client, now, refresh) {
      if ((client.accessTokenFormat ?? 'opaque') !== 'opaque' || !byFormat.has('opaque')) return undefined;
      const access = newSecret();
      const refreshSecret = mayRefresh(client, refresh) ? newSecret() : null;
      return {
        access,
        accessHash: hashSecret(access),
        accessExpiresAt: now + lifetimeOf(client) * 1000,
        refresh: refreshSecret,
        refreshHash: refreshSecret && hashSecret(refreshSecret),
      };
    },

    async mint(request) {
      const { grant, scope, client, issuer, now, refresh, refreshScope = scope, preIssued } = request;
      const strategy = byFormat.get(client.accessTokenFormat ?? 'opaque');
      if (strategy === undefined) throw new Error(`this server issues no ${client.accessTokenFormat} access tokens`);
      const lifetime = lifetimeOf(client);
      const expiresAt = preIssued?.accessExpiresAt ?? now + lifetime * 1000;
      const issued = preIssued
        ? { token: preIssued.access, hash: preIssued.accessHash, jti: null }
        : await strategy.issue({ grant, scope, client, issuer, now, expiresAt });
      const access: AccessTokenRecord = {
        hash: issued.hash,
        grantId: grant.id,
        scope,
        format: strategy.format,
        jti: issued.jti,
        createdAt: now,
        expiresAt,
      };
      if (!mayRefresh(client, refresh) || grant.expiresAt <= now) {
        const response: TokenResponse = {
          access_token: issued.token,
          token_type: 'Bearer',
          expires_in: lifetime,
          scope,
        };
        return { access, refresh: null, response: await withIdToken(response, request, access) };
      }
      const refreshToken = preIssued?.refresh ?? newSecret();
      const refreshRecord: RefreshTokenRecord = {
        hash: preIssued?.refreshHash ?? hashSecret(refreshToken),
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
      return { access, refresh: refreshRecord, response: await withIdToken(response, request, access) };
    },
  };
}
