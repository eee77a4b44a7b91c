/**
 * Scope as RFC 6749 §3.3 defines it: a list of space-delimited, case-sensitive scope
 * tokens whose order does not matter to the protocol. Here a scope is an ordered set of
 * strings (the order is kept because a token's `scope` lists its values in a fixed order),
 * stored and sent space-delimited. What a scope value means — a PKB role, an API scope —
 * is for the policies beside this module (role-scope.ts).
 */

/** RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Whether `value` is a well-formed scope token. */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** The scope values of a `scope` parameter, in order, each once; [] when absent or empty. */
export function parseScope(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...new Set(value.split(' ').filter((v) => v !== ''))];
}

/** Whether the `scope` value holds `token`: what `parseScope(scope).includes(token)` says, without making the list. */
export function scopeHas(scope: string, token: string): boolean {
  for (let at = scope.indexOf(token); at >= 0; at = scope.indexOf(token, at + 1)) {
    const end = at + token.length;
    if ((at === 0 || scope[at - 1] === ' ') && (end === scope.length || scope[end] === ' ')) return true;
  }
  return false;
}

/** A scope set as a `scope` value (RFC 6749 §3.3). */
export function formatScope(values: readonly string[]): string {
  return values.join(' ');
}

/** The scope values OpenID Connect Core 1.0 §3.1.2.1 and §5.4 define, which a client may be enabled for. */
export const OPENID_SCOPES = ['openid', 'profile', 'email'] as const;

/** Names kept for OpenID Connect: no API scope may take them (OpenID Connect Core 1.0 §5.4, §11). */
export const RESERVED_SCOPE_NAMES: readonly string[] = [...OPENID_SCOPES, 'offline_access'];
