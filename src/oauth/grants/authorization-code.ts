/**
 * RFC 6749 §4.1.3 authorization code grant, with RFC 7636 PKCE and RFC 6749 §4.1.2's
 * replay rule: a code presented twice fails, and the grant it started is revoked. When
 * `openid` was granted, the response carries an ID token with the authentication
 * request's nonce (OpenID Connect Core 1.0 §3.1.3.3, id-token.ts).
 */
import { invalidGrant, invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { verifierChallenge, verifyVerifier } from '../pkce.js';
import type { ClientRecord } from '../../store/store.js';
import { openIdPerson } from '../id-token.js';
import { hashSecret } from '../tokens.js';
import { eagerClaim, refuseReplay, settleUseOnce, type GrantHandler } from './grant.js';

/**
 * The challenge a code must hold for the store to claim it with this request: the S256 of
 * the verifier, null when none was sent — or undefined when the checks below will refuse
 * the request whatever the code holds (a malformed verifier, a client that must use PKCE
 * sending none), so the store only looks the code up.
 */
function requestChallenge(verifier: string | undefined, client: ClientRecord): string | null | undefined {
  if (verifier === undefined) return client.pkceRequired ? undefined : null;
  return verifierChallenge(verifier);
}

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
    const { store, now, tokens } = deps;

    // Where the store can (PostgreSQL), the lookup also claims the code and stores these
    // tokens when nothing below would refuse the request (grant.ts `eagerClaim`); every
    // check below is made all the same, on the code as it was before.
    const preIssued = tokens.preIssue(client, now, true);
    const challenge = preIssued && store.claimsEagerly ? requestChallenge(verifier, client) : undefined;
    const { found, claimed } = await store.claimAuthorizationCode(
      hashSecret(code),
      preIssued && challenge !== undefined
        ? { ...eagerClaim(preIssued, client, now), redirectUri: redirectUri ?? null, codeChallenge: challenge }
        : undefined,
    );
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

    const minted = await tokens.mint({
      grant,
      scope: grant.scope,
      client,
      issuer: deps.issuer,
      now,
      refresh: true,
      ...(preIssued && { preIssued }),
      ...(person && { openId: { person, nonce: grant.nonce } }),
    });
    if (!claimed) {
      const outcome = await store.consumeAuthorizationCode(record.hash, now, minted.access, minted.refresh);
      await settleUseOnce(outcome, deps, grant, 'code', { replayed: REPLAYED, missing: INVALID });
    }
    return { response: minted.response, grant };
  },
};
