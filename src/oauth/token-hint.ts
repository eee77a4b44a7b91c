/**
 * `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1): which kind of token the caller thinks
 * it sent. It only orders the search — a wrong or unknown hint still finds the token
 * (RFC 7009 §2.1: "the authorization server ... MUST extend its search across all of its
 * supported token types"), so no hint value is ever an error.
 */
export type TokenKind = 'access_token' | 'refresh_token';

/** The kinds to look for, in order: the hinted one first, else access tokens first (the common case). */
export function searchOrder(hint: string | undefined): readonly TokenKind[] {
  return hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
}
