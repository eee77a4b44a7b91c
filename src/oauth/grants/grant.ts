/**
 * What a grant handler is (RFC 6749 §4.1.3, §6): one object per grant type that the
 * token endpoint looks up by `grant_type`. A handler makes every check before its first
 * write, and issues tokens through `mintTokens` so that every grant answers alike.
 */
import type { Params } from '../params.js';
import type { Role } from '../scope.js';
import { hashSecret, newSecret, type Lifetimes } from '../tokens.js';
import type {
  AccessTokenRecord,
  ClientRecord,
  GrantRecord,
  GrantType,
  RefreshTokenRecord,
  Store,
} from '../../store/store.js';

/** RFC 6749 §5.1 (and PKB's token response). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: Role;
}

export interface GrantDeps {
  store: Pick<
    Store,
    'findAuthorizationCode' | 'consumeAuthorizationCode' | 'findRefreshToken' | 'rotateRefreshToken' | 'revokeGrant'
  >;
  lifetimes: Lifetimes;
  now: number;
}

export interface GrantHandler {
  grantType: GrantType;
  /** The parameters this grant reads: any of them sent twice is invalid_request. */
  parameters: readonly string[];
  handle(params: Params, client: ClientRecord, deps: GrantDeps): Promise<TokenResponse>;
}

export interface MintedTokens {
  access: AccessTokenRecord;
  refresh: RefreshTokenRecord | null;
  response: TokenResponse;
}

/**
 * A new access token, and a refresh token when the client may refresh and the
 * authorization session (the grant) still has time left: refresh tokens never outlive
 * it. The access token keeps its full lifetime (SPEC §3.2 `expires_in: 600`): the end of
 * the session stops refreshing, as PKB describes, not the tokens already issued.
 */
export function mintTokens(grant: GrantRecord, scope: Role, client: ClientRecord, deps: GrantDeps): MintedTokens {
  const accessToken = newSecret();
  const access: AccessTokenRecord = {
    hash: hashSecret(accessToken),
    grantId: grant.id,
    scope,
    format: 'opaque',
    jti: null,
    createdAt: deps.now,
    expiresAt: deps.now + deps.lifetimes.accessToken * 1000,
  };
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: deps.lifetimes.accessToken,
    scope,
  };
  if (!client.grantTypes.includes('refresh_token') || grant.expiresAt <= deps.now) {
    return { access, refresh: null, response };
  }
  const refreshToken = newSecret();
  const refresh: RefreshTokenRecord = {
    hash: hashSecret(refreshToken),
    grantId: grant.id,
    scope,
    expiresAt: grant.expiresAt,
    retiredAt: null,
  };
  // The field order of PKB's documented response.
  const { scope: _scope, ...rest } = response;
  return { access, refresh, response: { ...rest, refresh_token: refreshToken, scope } };
}
