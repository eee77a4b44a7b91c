/**
 * What a grant handler is (RFC 6749 §4.1.3, §4.4, §6): one object per grant type that the
 * token endpoint looks up by `grant_type`. A handler makes every check before its first
 * write, and issues tokens through the token service so that every grant answers alike.
 */
import { invalidGrant } from '../errors.js';
import type { Params } from '../params.js';
import type { TokenResponse, TokenService } from '../token-service.js';
import type { ClientRecord, GrantType, Store, UseOnceResult } from '../../store/store.js';

export interface GrantDeps {
  store: Pick<
    Store,
    | 'findAuthorizationCode'
    | 'consumeAuthorizationCode'
    | 'findRefreshToken'
    | 'rotateRefreshToken'
    | 'revokeGrant'
    | 'createGrantWithAccessToken'
    | 'getPerson'
  >;
  tokens: TokenService;
  /** This server's issuer identifier as the request reached it (RFC 8414 §2). */
  issuer: string;
  now: number;
}

export interface GrantHandler {
  grantType: GrantType;
  /** The parameters this grant reads: any of them sent twice is invalid_request. */
  parameters: readonly string[];
  handle(params: Params, client: ClientRecord, deps: GrantDeps): Promise<TokenResponse>;
}

/**
 * A use-once credential (a code, a refresh token) presented again: the grant it belongs to
 * is revoked, so every token issued from it stops working (RFC 6749 §4.1.2, RFC 9700
 * §4.14.2), and the answer is invalid_grant.
 */
export async function refuseReplay(deps: GrantDeps, grantId: string, description: string): Promise<never> {
  await deps.store.revokeGrant(grantId, deps.now);
  throw invalidGrant(description);
}

/** What the store's use-once write reported: `replayed` revokes the grant, `missing` is invalid_grant. */
export async function settleUseOnce(
  outcome: UseOnceResult,
  deps: GrantDeps,
  grantId: string,
  messages: { replayed: string; missing: string },
): Promise<void> {
  if (outcome === 'replayed') await refuseReplay(deps, grantId, messages.replayed);
  if (outcome === 'missing') throw invalidGrant(messages.missing);
}
