/**
 * RFC 6749 §6 refresh token grant with rotation (RFC 9700 §4.14.2): each use returns a
 * new refresh token and retires the old; presenting a retired one revokes the whole
 * grant (the family). `scope` may narrow, never widen, and never changes the role
 * (role-scope.ts). While the scope holds `openid`, every refresh brings a new ID token
 * with the same `sub` and `auth_time` and no nonce (OpenID Connect Core 1.0 §12.2).
 */
import { invalidGrant, invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { narrowedScope } from '../role-scope.js';
import { openIdPerson } from '../id-token.js';
import { hashSecret } from '../tokens.js';
import { eagerClaim, refuseReplay, settleUseOnce, type GrantHandler } from './grant.js';

const REPLAYED = 'The refresh token has already been used; the authorization is revoked';
const INVALID = 'The refresh token is not valid';

export const refreshTokenGrant: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],

  async handle(params, client, deps) {
    const token = single(params, 'refresh_token');
    if (token === undefined) throw invalidRequest('The refresh_token parameter is missing');
    const scope = single(params, 'scope');
    const { store, now, tokens } = deps;

    // Where the store can (PostgreSQL), the lookup also retires the token and stores these
    // tokens, of its own scope, when nothing below would refuse the request (grant.ts
    // `eagerClaim`); every check is made all the same. A request that narrows the scope
    // is left to the ordinary write: the narrowing is worked out here.
    const preIssued = tokens.preIssue(client, now, true);
    const { found, claimed } = await store.claimRefreshToken(
      hashSecret(token),
      preIssued && scope === undefined && store.claimsEagerly ? eagerClaim(preIssued, client, now) : undefined,
    );
    if (!found || found.grant.clientId !== client.id) throw invalidGrant(INVALID);
    const { token: record, grant } = found;
    if (record.retiredAt !== null) return refuseReplay(deps, grant, 'refresh_token', REPLAYED);
    if (grant.revokedAt !== null) throw invalidGrant('The authorization has been revoked');
    if (grant.expiresAt <= now || record.expiresAt <= now) {
      throw invalidGrant('The authorization session has expired: ask the person to sign in again');
    }
    const granted = narrowedScope(scope, record.scope);
    const person = await openIdPerson(grant, granted, store);

    const minted = await tokens.mint({
      grant,
      scope: granted,
      client,
      issuer: deps.issuer,
      now,
      refresh: true,
      refreshScope: record.scope,
      ...(preIssued && { preIssued }),
      // §12.2: a refreshed ID token SHOULD NOT carry the nonce.
      ...(person && { openId: { person, nonce: null } }),
    });
    if (!claimed) {
      const outcome = await store.rotateRefreshToken(record.hash, now, minted.access, minted.refresh);
      await settleUseOnce(outcome, deps, grant, 'refresh_token', { replayed: REPLAYED, missing: INVALID });
    }
    return { response: minted.response, grant };
  },
};
