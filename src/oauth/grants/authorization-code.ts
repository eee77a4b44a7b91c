/**
 * RFC 6749 §4.1.3 authorization code grant, with RFC 7636 PKCE and RFC 6749 §4.1.2's
 * replay rule: a code presented twice fails, and the grant it started is revoked.
 */
import { invalidGrant, invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { verifyVerifier } from '../pkce.js';
import { hashSecret } from '../tokens.js';
import { mintTokens, type GrantHandler } from './grant.js';
import type { Role } from '../scope.js';

export const authorizationCodeGrant: GrantHandler = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier'],

  async handle(params, client, deps) {
    const code = single(params, 'code');
    if (code === undefined) throw invalidRequest('The code parameter is missing');
    const redirectUri = single(params, 'redirect_uri');
    const verifier = single(params, 'code_verifier');
    const { store, now } = deps;

    const found = await store.findAuthorizationCode(hashSecret(code));
    if (!found) throw invalidGrant('The code is not valid');
    const { code: record, grant } = found;
    if (record.consumedAt !== null) {
      await store.revokeGrant(grant.id, now);
      throw invalidGrant('The code has already been used; the tokens issued for it are revoked');
    }
    if (grant.clientId !== client.id) throw invalidGrant('The code was issued to another client');
    if (record.expiresAt <= now) throw invalidGrant('The code has expired');
    if (grant.revokedAt !== null) throw invalidGrant('The authorization has been revoked');
    if (record.redirectUri !== null) {
      if (redirectUri === undefined)
        throw invalidGrant('redirect_uri is required: it was sent in the authorization request');
      if (redirectUri !== record.redirectUri)
        throw invalidGrant('redirect_uri does not match the authorization request');
    } else if (redirectUri !== undefined && !client.redirectUris.includes(redirectUri)) {
      throw invalidGrant('redirect_uri does not match the authorization request');
    }
    verifyVerifier(verifier, record.codeChallenge);
    if (record.codeChallenge === null && client.pkceRequired) throw invalidGrant('This client must use PKCE');

    const minted = mintTokens(grant, grant.scope as Role, client, deps);
    const outcome = await store.consumeAuthorizationCode(record.hash, now, minted.access, minted.refresh);
    if (outcome === 'replayed') {
      await store.revokeGrant(grant.id, now);
      throw invalidGrant('The code has already been used; the tokens issued for it are revoked');
    }
    if (outcome === 'missing') throw invalidGrant('The code is not valid');
    return minted.response;
  },
};
