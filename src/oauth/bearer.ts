/**
 * RFC 6750 bearer tokens at a protected resource: the token comes in the Authorization
 * header only (scheme name in any letter case, §2.1). A token in the query string is not
 * accepted (RFC 9700 §2.5: it leaks into logs and Referer headers); a token sent two ways
 * at once is invalid_request (§2).
 */
import { invalidRequest, invalidToken, OAuthError } from './errors.js';
import { hashSecret } from './tokens.js';
import type { AccessTokenLookup, Store } from '../store/store.js';

/** No credentials at all: 401 with a bare challenge and no error code (RFC 6750 §3.1). */
export class MissingToken extends OAuthError {
  constructor(description: string) {
    super('invalid_token', description, { status: 401 });
  }
}

export interface BearerSources {
  authorization: string | undefined;
  /** Whether an access_token was sent in the query string or a form body. */
  tokenInQueryOrBody: boolean;
}

export function extractBearerToken(sources: BearerSources): string {
  const { authorization, tokenInQueryOrBody } = sources;
  if (authorization !== undefined && tokenInQueryOrBody) {
    throw invalidRequest('The access token was sent in more than one way');
  }
  if (authorization === undefined) {
    throw new MissingToken(
      tokenInQueryOrBody
        ? 'Send the access token in the Authorization header, not the URL'
        : 'An access token is required',
    );
  }
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  if (!match) {
    if (/^bearer\b/i.test(authorization)) throw invalidRequest('The Authorization header is malformed');
    throw new MissingToken('Use the Bearer authentication scheme');
  }
  return match[1] as string;
}

/**
 * Why a stored access token may not be used — expired, its grant revoked, its person or
 * client disabled — or undefined when it is live. The one rule for every reader of access
 * tokens: a protected resource (RFC 6750 §3.1 invalid_token) and introspection (RFC 7662 §2.2).
 */
export function accessTokenProblem(found: AccessTokenLookup, now: number): string | undefined {
  if (found.token.expiresAt <= now) return 'The access token has expired';
  if (found.grant.revokedAt !== null) return 'The access token has been revoked';
  if (found.person?.disabledAt != null || found.client.disabledAt !== null) {
    return 'The access token is no longer valid';
  }
  return undefined;
}

/** The live access token, or invalid_token when it is unknown, expired or revoked. */
export async function verifyAccessToken(
  token: string,
  store: Pick<Store, 'findAccessToken'>,
  now: number,
): Promise<AccessTokenLookup> {
  const found = await store.findAccessToken(hashSecret(token));
  if (!found) throw invalidToken('The access token is not valid');
  const problem = accessTokenProblem(found, now);
  if (problem !== undefined) throw invalidToken(problem);
  return found;
}
