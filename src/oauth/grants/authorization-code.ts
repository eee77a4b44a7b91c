/**
 * RFC 6749 §4.1.3 authorization code grant, with RFC 7636 PKCE and RFC 6749 §4.1.2's
 * replay rule: a code presented twice fails, and the grant it started is revoked. When
 * `openid` was granted, the response carries an ID token with the authentication
 * request's nonce (OpenID Connect Core 1.0 §3.1.3.3, id-token.ts).
 */
import { invalidGrant, invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { verifyVerifier } from '../pkce.js';
import { openIdPerson } from '../id-token.js';
import { hashSecret } from '../tokens.js';
import { refuseReplay, settleUseOnce, type GrantHandler } from './grant.js';

const REPLAYED = 'The code has already been used; the tokens issued for it are revoked';
const INVALID = 'The code is not valid';

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
    if (!found) throw invalidGrant(INVALID);
    const { code: record, grant } = found;
    if (record.consumedAt !== null) return refuseReplay(deps, grant, 'code', REPLAYED);
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
    const person = await openIdPerson(grant, grant.scope, store);

    const minted = await deps.tokens.mint({
      grant,
      scope: grant.scope,
      client,
      issuer: deps.issuer,
      now,
      refresh: true,
      ...(person && { openId: { person, nonce: grant.nonce } }),
    });
    const outcome = await store.consumeAuthorizationCode(record.hash, now, minted.access, minted.refresh);
    await settleUseOnce(outcome, deps, grant, 'code', { replayed: REPLAYED, missing: INVALID });
    return { response: minted.response, grant };
  },
};
