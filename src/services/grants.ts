/**
 * What an operator does with grants (what a person allowed an app, or a client's own
 * authorization): list the live ones, and revoke one — a stolen phone: end that app's
 * tokens without touching the person's other apps. Revoking a grant ends every code,
 * access token and refresh token issued under it, as RFC 7009 §2.1 has a revoked refresh
 * token end its grant's access tokens. An unknown user, client or grant is an
 * InvalidInputError.
 */
import { InvalidInputError } from './errors.js';
import type { GrantFilter, GrantListing, Store } from '../store/store.js';

export interface GrantListFilter {
  /** A person's username. */
  user?: string;
  /** A client id. */
  client?: string;
}

/** The live grants (not revoked, not past their absolute end), newest first, of the user and/or client given. */
export async function listGrants(
  store: Pick<Store, 'getPersonByUsername' | 'getClient' | 'listGrants'>,
  filter: GrantListFilter,
  now: number,
): Promise<GrantListing[]> {
  const query: GrantFilter = {};
  if (filter.user !== undefined) {
    const person = await store.getPersonByUsername(filter.user);
    if (!person) throw new InvalidInputError(`no user '${filter.user}'`);
    query.personId = person.id;
  }
  if (filter.client !== undefined) {
    const client = await store.getClient(filter.client);
    if (!client) throw new InvalidInputError(`no client '${filter.client}'`);
    query.clientId = client.id;
  }
  return store.listGrants(query, now);
}

/** Revokes the grant; an unknown or already revoked id is an InvalidInputError. */
export async function revokeGrant(store: Pick<Store, 'revokeGrantOnce'>, id: string, now: number): Promise<void> {
  const result = await store.revokeGrantOnce(id, now);
  if (result === 'missing') throw new InvalidInputError(`no grant '${id}'`);
  if (result === 'already-revoked') throw new InvalidInputError(`grant '${id}' is already revoked`);
}

export function describeGrant(listing: GrantListing): Record<string, unknown> {
  const { grant } = listing;
  return {
    id: grant.id,
    username: listing.username,
    client_id: grant.clientId,
    client_name: listing.clientName,
    scope: grant.scope,
    created_at: new Date(grant.createdAt).toISOString(),
    expires_at: new Date(grant.expiresAt).toISOString(),
  };
}
