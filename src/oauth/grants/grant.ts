/**
 * What a grant handler is (RFC 6749 §4.1.3, §4.4, §6): one object per grant type that the
 * token endpoint looks up by `grant_type`. A handler makes every check before its first
 * write, and issues tokens through the token service so that every grant answers alike.
 */
import { invalidGrant, OAuthError } from '../errors.js';
import type { Params } from '../params.js';
import type { PreIssued, TokenResponse, TokenService } from '../token-service.js';
import type { ClientRecord, EagerClaim, GrantRecord, GrantType, Store, UseOnceResult } from '../../store/store.js';

export interface GrantDeps {
  store: Pick<
    Store,
    | 'claimsEagerly'
    | 'claimAuthorizationCode'
    | 'consumeAuthorizationCode'
    | 'claimRefreshToken'
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
  handle(params: Params, client: ClientRecord, deps: GrantDeps): Promise<IssuedTokens>;
}

/** What a grant issued: the response for the client, and the grant it belongs to (for the audit log). */
export interface IssuedTokens {
  response: TokenResponse;
  grant: GrantRecord;
}

/** The use-once credentials a grant handler redeems. */
export type UseOnceCredential = 'code' | 'refresh_token';

/**
 * invalid_grant for a use-once credential presented again, after its grant was revoked:
 * the client is told no more than for any invalid_grant; the front end logs which grant.
 */
export class CredentialReplayed extends OAuthError {
  constructor(
    readonly credential: UseOnceCredential,
    readonly grant: Pick<GrantRecord, 'id' | 'clientId'>,
    description: string,
    /** Whether this presentation revoked the grant; of a burst of replays, one does. */
    readonly revoked: boolean,
  ) {
    super('invalid_grant', description);
  }
}

/**
 * A use-once credential (a code, a refresh token) presented again: the grant it belongs to
 * is revoked, so every token issued from it stops working (RFC 6749 §4.1.2, RFC 9700
 * §4.14.2), and the answer is invalid_grant.
 */
export async function refuseReplay(
  deps: GrantDeps,
  grant: Pick<GrantRecord, 'id' | 'clientId'>,
  credential: UseOnceCredential,
  description: string,
): Promise<never> {
  const revoked = await deps.store.revokeGrant(grant.id, deps.now);
  throw new CredentialReplayed(credential, grant, description, revoked);
}

/** What the store's use-once write reported: `replayed` revokes the grant, `missing` is invalid_grant. */
export async function settleUseOnce(
  outcome: UseOnceResult,
  deps: GrantDeps,
  grant: Pick<GrantRecord, 'id' | 'clientId'>,
  credential: UseOnceCredential,
  messages: { replayed: string; missing: string },
): Promise<void> {
  if (outcome === 'replayed') await refuseReplay(deps, grant, credential, messages.replayed);
  if (outcome === 'missing') throw invalidGrant(messages.missing);
}

/**
 * What the store may claim and store in the statement that looks a code or refresh token
 * up (store.ts `claimAuthorizationCode`): the client's tokens, chosen before the grant is
 * read. The claim repeats in SQL the checks the handler makes after the lookup, so a check
 * added to a handler goes into the claim too (postgres-single-statements.ts) or keeps the
 * claim out; test/store/eager-claim*.test.ts hold every refusal to it.
 */
export function eagerClaim(preIssued: PreIssued, client: ClientRecord, now: number): EagerClaim {
  return {
    now,
    clientId: client.id,
    accessHash: preIssued.accessHash,
    accessExpiresAt: preIssued.accessExpiresAt,
    refreshHash: preIssued.refreshHash,
  };
}
