/**
 * The UserInfo endpoint (OpenID Connect Core 1.0 §5.3): what an access token that holds
 * `openid` may learn about its person — `sub` and the claims of the granted `profile` and
 * `email` scopes (§5.4, claims.ts), the same values the ID token carries. The token comes
 * as RFC 6750 says (§5.3.1): in the Authorization header (§2.1) or, on POST, as the
 * form-encoded body's `access_token` (§2.2) — never in the query (RFC 9700 §2.5), and in
 * one way only (§2). Whether the token is live is the one rule of bearer.ts, for opaque
 * and JWT access tokens alike; errors are RFC 6750 §3.1's: invalid_token (401), and
 * insufficient_scope (403) for a token without `openid` (§5.3.3).
 */
import { extractBearerToken, MissingToken, verifyAccessToken } from './bearer.js';
import { scopeClaims, type ScopeClaims } from './claims.js';
import { invalidRequest, invalidToken, OAuthError } from './errors.js';
import { isOpenIdRequest } from './openid-request.js';
import type { Params } from './params.js';
import { parseScope } from './scope.js';
import type { Store } from '../store/store.js';

/** Where a request may carry its access token. */
export interface UserInfoSources {
  authorization: string | undefined;
  /** The form body of a POST (RFC 6750 §2.2); undefined for GET or another content type. */
  body: Params | undefined;
  /** Whether the query string has an access_token. */
  tokenInQuery: boolean;
}

/** RFC 6750 §2.1 b64token, which a token in the body must be as well. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The access token of a UserInfo request, or the RFC 6750 error for how it was sent. */
export function userInfoToken({ authorization, body, tokenInQuery }: UserInfoSources): string {
  const inBody = body?.get('access_token');
  const ways = [authorization !== undefined, inBody !== undefined, tokenInQuery].filter(Boolean).length;
  if (ways > 1) throw invalidRequest('The access token was sent in more than one way');
  if (tokenInQuery) {
    throw new MissingToken('Send the access token in the Authorization header or the form body, not the URL');
  }
  if (inBody === undefined) return extractBearerToken({ authorization, tokenInQueryOrBody: false });
  const [token] = inBody;
  if (inBody.length !== 1 || token === undefined || !TOKEN.test(token)) {
    throw invalidRequest('The access_token parameter is malformed or repeated');
  }
  return token;
}

export type UserInfo = { sub: string } & ScopeClaims;

/** §5.3.2: `sub` and the claims the token's scope releases. */
export async function userInfo(
  token: string,
  store: Pick<Store, 'findAccessToken' | 'getPerson'>,
  now: number,
): Promise<UserInfo> {
  const found = await verifyAccessToken(token, store, now);
  const scopes = parseScope(found.token.scope);
  if (!isOpenIdRequest(scopes) || found.person === null) {
    throw new OAuthError('insufficient_scope', 'The access token was not granted the openid scope');
  }
  const person = await store.getPerson(found.person.id);
  // Removed since the lookup: its tokens are gone with it.
  if (person === undefined) throw invalidToken('The access token is not valid');
  return { sub: person.id, ...scopeClaims(person, scopes) };
}
