/**
 * RFC 6749 §6 refresh token grant with rotation (RFC 9700 §4.14.2): each use returns a
 * new refresh token and retires the old; presenting a retired one revokes the whole
 * grant (the family). `scope` may narrow, never widen — with one role per token that
 * means it may only name the role the token already has.
 */
import { invalidGrant, invalidRequest, invalidScope } from '../errors.js';
import { single } from '../params.js';
import { parseRole, type Role } from '../scope.js';
import { hashSecret } from '../tokens.js';
import { mintTokens, type GrantHandler } from './grant.js';

export const refreshTokenGrant: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],

  async handle(params, client, deps) {
    const token = single(params, 'refresh_token');
    if (token === undefined) throw invalidRequest('The refresh_token parameter is missing');
    const scope = single(params, 'scope');
    const { store, now } = deps;

    const found = await store.findRefreshToken(hashSecret(token));
    if (!found || found.grant.clientId !== client.id) throw invalidGrant('The refresh token is not valid');
    const { token: record, grant } = found;
    if (record.retiredAt !== null) {
      await store.revokeGrant(grant.id, now);
      throw invalidGrant('The refresh token has already been used; the authorization is revoked');
    }
    if (grant.revokedAt !== null) throw invalidGrant('The authorization has been revoked');
    if (grant.expiresAt <= now || record.expiresAt <= now) {
      throw invalidGrant('The authorization session has expired: ask the person to sign in again');
    }
    if (scope !== undefined) {
      const roles = scope.split(' ').filter((s) => s !== '');
      if (roles.some((r) => parseRole(r) !== record.scope)) {
        throw invalidScope(`The scope may only narrow: this refresh token carries ${record.scope}`);
      }
    }

    const minted = mintTokens(grant, record.scope as Role, client, deps);
    const outcome = await store.rotateRefreshToken(record.hash, now, minted.access, minted.refresh);
    if (outcome === 'replayed') {
      await store.revokeGrant(grant.id, now);
      throw invalidGrant('The refresh token has already been used; the authorization is revoked');
    }
    if (outcome === 'missing') throw invalidGrant('The refresh token is not valid');
    return minted.response;
  },
};
