/**
 * RFC 6749 §4.4 client credentials grant: a confidential client gets an access token for
 * itself — no person, so its subject is the client (`sub` = client_id) and it carries
 * no role. Its `scope` (§4.4.2, §3.3) is API scopes the client is enabled for; absent, all
 * of them. A role or OpenID Connect scope speaks for a person and is invalid_scope here.
 * Never a refresh token (§4.4.3): the client can always ask again. The grant lives
 * exactly as long as its one access token.
 */
import { invalidScope, unauthorizedClient } from '../errors.js';
import { single } from '../params.js';
import { parseRole } from '../role-scope.js';
import { formatScope, OPENID_SCOPES, parseScope } from '../scope.js';
import { newId } from '../tokens.js';
import type { ClientRecord, GrantRecord } from '../../store/store.js';
import type { GrantHandler } from './grant.js';

const isApiScope = (value: string): boolean =>
  parseRole(value) === undefined && !(OPENID_SCOPES as readonly string[]).includes(value);

/** The scope of the token: the requested API scopes in request order, or every API scope of the client. */
export function clientCredentialsScope(requested: string | undefined, client: Pick<ClientRecord, 'scopes'>): string {
  const enabled = client.scopes.filter(isApiScope);
  const asked = parseScope(requested);
  if (asked.length === 0) return formatScope(enabled);
  for (const value of asked) {
    if (parseRole(value) !== undefined) {
      throw invalidScope(`${value} is a role: a client_credentials token speaks for no person`);
    }
    if ((OPENID_SCOPES as readonly string[]).includes(value)) {
      throw invalidScope(`${value} is an OpenID Connect scope: a client_credentials token speaks for no person`);
    }
    if (!enabled.includes(value)) throw invalidScope(`This client is not enabled for the ${value} scope`);
  }
  return formatScope(asked);
}

export const clientCredentialsGrant: GrantHandler = {
  grantType: 'client_credentials',
  parameters: ['scope'],

  async handle(params, client, deps) {
    // §4.4: "MUST only be used by confidential clients". A client with no secret was
    // authenticated by `none`; registration refuses such a client this grant, this holds
    // it regardless.
    if (client.secretHash === null) {
      throw unauthorizedClient('The client_credentials grant is for confidential clients only');
    }
    const scope = clientCredentialsScope(single(params, 'scope'), client);
    const { now } = deps;
    const grant: GrantRecord = {
      id: newId(),
      personId: null,
      clientId: client.id,
      scope,
      authTime: null,
      sessionId: null,
      createdAt: now,
      // Set to the access token's expiry below: the grant ends with its one token.
      expiresAt: now,
      revokedAt: null,
      nonce: null,
    };
    const minted = await deps.tokens.mint({ grant, scope, client, issuer: deps.issuer, now, refresh: false });
    const stored = { ...grant, expiresAt: minted.access.expiresAt };
    await deps.store.createGrantWithAccessToken(stored, minted.access);
    return { response: minted.response, grant: stored };
  },
};
