/**
 * RFC 7009 §2 token revocation. The client authenticates as at the token endpoint (§2.1;
 * a public client sends its `client_id`), then may end a token issued to itself: a
 * refresh token ends its whole grant — every access and refresh token of it (§2.1: the
 * server SHOULD then also invalidate the access tokens of the same grant); an access
 * token ends that token only. The answer is the same whether or not the token was known,
 * was already revoked or belongs to another client (§2.2): invalid tokens cause no error,
 * and a client learns nothing about another's tokens, which are left untouched.
 */
import { authenticateClient } from './client-auth.js';
import { invalidRequest } from './errors.js';
import { single, type Params } from './params.js';
import { searchOrder, type TokenKind } from './token-hint.js';
import { refuseRepeatedAndOversized } from './token-endpoint.js';
import { hashSecret } from './tokens.js';
import type { ClientRecord, Store } from '../store/store.js';

export interface RevocationRequest {
  params: Params;
  authorization: string | undefined;
}

export interface RevocationDeps {
  store: Pick<Store, 'getClient' | 'findAccessToken' | 'findRefreshToken' | 'revokeAccessToken' | 'revokeGrant'>;
  now: number;
}

/** Resolves when the request was valid, whatever became of the token; throws an OAuthError otherwise. */
export async function revoke(request: RevocationRequest, deps: RevocationDeps): Promise<void> {
  const { params } = request;
  refuseRepeatedAndOversized(params);
  const { client } = await authenticateClient(params, request.authorization, deps.store, deps.now);
  const token = single(params, 'token');
  if (token === undefined) throw invalidRequest('The token parameter is missing');

  const hash = hashSecret(token);
  for (const kind of searchOrder(single(params, 'token_type_hint'))) {
    if (await revokeIfFound[kind](hash, client, deps)) return;
  }
}

type RevokeIfFound = (hash: string, caller: ClientRecord, deps: RevocationDeps) => Promise<boolean>;

/** Each kind: true when a token of that kind was found (whether or not it was the caller's to end). */
const revokeIfFound: Record<TokenKind, RevokeIfFound> = {
  async access_token(hash, caller, { store }) {
    const found = await store.findAccessToken(hash);
    if (!found) return false;
    if (found.grant.clientId === caller.id) await store.revokeAccessToken(hash);
    return true;
  },
  async refresh_token(hash, caller, { store, now }) {
    const found = await store.findRefreshToken(hash);
    if (!found) return false;
    if (found.grant.clientId === caller.id) await store.revokeGrant(found.grant.id, now);
    return true;
  },
};
