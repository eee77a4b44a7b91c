/**
 * The token endpoint (RFC 6749 §3.2, §5) as ordered, named steps: refuse repeated or
 * oversized parameters → look the grant type up → authenticate the client → check the
 * client may use it → let the grant handle the parameters it declares. The HTTP layer writes the result.
 * An unknown grant type is refused before authentication: which grants exist is public
 * (metadata), and a client sending `grant_type=password` learns that first.
 */
import { authenticateClient } from './client-auth.js';
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from './errors.js';
import type { GrantDeps, GrantHandler, IssuedTokens } from './grants/grant.js';
import { firstOversized, firstRepeated, firstUnreadable, single, unreadableParameter, type Params } from './params.js';
import type { ClientRecord, GrantType, Store } from '../store/store.js';

/** Built once at start-up (provider.ts) from the grants that are enabled: a disabled grant has no entry. */
export type GrantRegistry = ReadonlyMap<string, GrantHandler>;

/** What was issued, to whom and by which grant type: the response, and what the audit log names. */
export interface TokenOutcome extends IssuedTokens {
  client: ClientRecord;
  grantType: GrantType;
}

export interface TokenRequest {
  params: Params;
  authorization: string | undefined;
}

/** Also a value that cannot be taken as sent (NUL, not UTF-8: params.ts), before anything looks it up. */
export function refuseRepeatedAndOversized(params: Params): void {
  const unreadable = firstUnreadable(params);
  if (unreadable) throw unreadableParameter(unreadable);
  const repeated = firstRepeated(params);
  if (repeated) throw invalidRequest(`The ${repeated} parameter was sent more than once`);
  const oversized = firstOversized(params);
  if (oversized) throw invalidRequest(`The ${oversized} parameter is too long`);
}

export async function handleTokenRequest(
  request: TokenRequest,
  registry: GrantRegistry,
  deps: GrantDeps & { store: Pick<Store, 'getClient'> },
): Promise<TokenOutcome> {
  refuseRepeatedAndOversized(request.params);
  const grantType = single(request.params, 'grant_type');
  if (grantType === undefined) throw invalidRequest('The grant_type parameter is missing');
  const handler = registry.get(grantType);
  if (!handler) throw unsupportedGrantType(`grant_type ${grantType} is not supported`);
  const { client } = await authenticateClient(request.params, request.authorization, deps.store, deps.now);
  if (!client.grantTypes.includes(handler.grantType)) {
    throw unauthorizedClient(`This client is not allowed to use grant_type ${grantType}`);
  }
  const { response, grant } = await handler.handle(grantParameters(request.params, handler), client, deps);
  return { response, grant, client, grantType: handler.grantType };
}

/** Only the parameters a grant declares reach it: it cannot come to depend on others by accident. */
export function grantParameters(params: Params, handler: Pick<GrantHandler, 'parameters'>): Params {
  const declared: Params = new Map();
  for (const name of handler.parameters) {
    const values = params.get(name);
    if (values !== undefined) declared.set(name, values);
  }
  return declared;
}
