/**
 * RFC 7662 §2 token introspection: a confidential client asks whether a token is active
 * and, when it is, what it is (§2.2). The caller authenticates as at the token endpoint
 * (§2.1: "the protected resource MUST authenticate"); a public client cannot, since
 * anyone may claim its id. Every token that is not active — unknown, malformed, expired,
 * revoked, of a grant that ended, of a disabled person or client — and every token the
 * caller may not see is the same `{ "active": false }` (§2.2, §4: nothing more is told).
 *
 * Who sees what (§4): a client sees the tokens issued to itself; a resource server sees
 * every access token (that is how an API checks the tokens it is sent), but not other
 * clients' refresh tokens, which no API is ever sent.
 */
import { decodeJwt } from 'jose';
import { accessTokenProblem } from './bearer.js';
import { invalidClient, invalidRequest } from './errors.js';
import { authenticateClient } from './client-auth.js';
import { single, type Params } from './params.js';
import { searchOrder, type TokenKind } from './token-hint.js';
import { refuseRepeatedAndOversized } from './token-endpoint.js';
import { hashSecret } from './tokens.js';
import type { ClientRecord, Store } from '../store/store.js';

export interface IntrospectionRequest {
  params: Params;
  authorization: string | undefined;
}

export interface IntrospectionDeps {
  store: Pick<Store, 'getClient' | 'getPerson' | 'findAccessToken' | 'findRefreshToken'>;
  /** This server's issuer identifier as the request reached it (RFC 8414 §2). */
  issuer: string;
  now: number;
}

/** RFC 7662 §2.2, in this order. */
export interface ActiveToken {
  active: true;
  scope: string;
  client_id: string;
  /** The person's id, or the client's id when no person is behind the token. */
  sub: string;
  /** Only when a person is behind the token. */
  username?: string;
  token_type: 'Bearer' | 'refresh_token';
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
  iss: string;
  /** A JWT access token's own `aud` and `jti` (RFC 9068 §2.2). */
  aud?: string | string[];
  jti?: string;
}

export type IntrospectionResponse = ActiveToken | { active: false };

/** Shared by every inactive answer, so frozen. */
const INACTIVE = Object.freeze({ active: false } as const);

const seconds = (ms: number): number => Math.floor(ms / 1000);

export async function introspect(
  request: IntrospectionRequest,
  deps: IntrospectionDeps,
): Promise<IntrospectionResponse> {
  const { params } = request;
  refuseRepeatedAndOversized(params);
  const { client, method } = await authenticateClient(params, request.authorization, deps.store, deps.now);
  if (method === 'none') throw invalidClient('Introspection is for confidential clients: authenticate with a secret');
  const token = single(params, 'token');
  if (token === undefined) throw invalidRequest('The token parameter is missing');

  const hash = hashSecret(token);
  for (const kind of searchOrder(single(params, 'token_type_hint'))) {
    const found = await lookUp[kind](token, hash, client, deps);
    // Found means this kind: the other kind is not searched (the hashes of random tokens do not meet).
    if (found !== undefined) return found;
  }
  return INACTIVE;
}

type LookUp = (
  token: string,
  hash: string,
  caller: ClientRecord,
  deps: IntrospectionDeps,
) => Promise<IntrospectionResponse | undefined>;

/** Each kind's answer, or undefined when there is no such token of that kind. */
const lookUp: Record<TokenKind, LookUp> = {
  async access_token(token, hash, caller, { store, issuer, now }) {
    const found = await store.findAccessToken(hash);
    if (!found) return undefined;
    const { token: record, grant, person } = found;
    if (grant.clientId !== caller.id && !caller.resourceServer) return INACTIVE;
    if (accessTokenProblem(found, now) !== undefined) return INACTIVE;
    const active: ActiveToken = {
      active: true,
      scope: record.scope,
      client_id: grant.clientId,
      sub: person?.id ?? grant.clientId,
      ...(person && { username: person.username }),
      token_type: 'Bearer',
      exp: seconds(record.expiresAt),
      iat: seconds(record.createdAt),
      iss: issuer,
    };
    if (record.format !== 'jwt') return active;
    const aud = jwtAudience(token);
    return { ...active, ...(aud !== undefined && { aud }), ...(record.jti !== null && { jti: record.jti }) };
  },

  async refresh_token(_token, hash, caller, { store, issuer, now }) {
    const found = await store.findRefreshToken(hash);
    if (!found) return undefined;
    const { token: record, grant } = found;
    // Only the client's own: the owner is then the caller, authenticated and so not disabled.
    if (grant.clientId !== caller.id) return INACTIVE;
    // Retired (rotated away), revoked, or past the session's absolute end (RFC 6749 §6).
    if (record.retiredAt !== null || grant.revokedAt !== null) return INACTIVE;
    if (record.expiresAt <= now || grant.expiresAt <= now) return INACTIVE;
    const person = grant.personId === null ? undefined : await store.getPerson(grant.personId);
    if (grant.personId !== null && (!person || person.disabledAt !== null)) return INACTIVE;
    return {
      active: true,
      scope: record.scope,
      client_id: grant.clientId,
      sub: person?.id ?? grant.clientId,
      ...(person && { username: person.username }),
      token_type: 'refresh_token',
      exp: seconds(Math.min(record.expiresAt, grant.expiresAt)),
      // A refresh token records no issue time of its own: its family began with the grant.
      iat: seconds(grant.createdAt),
      iss: issuer,
    };
  },
};

/**
 * A JWT access token's `aud` as it was issued, read with jose's `decodeJwt` and not
 * verified: it was found by its hash, so it is exactly the token this server signed.
 */
function jwtAudience(token: string): string | string[] | undefined {
  try {
    return decodeJwt(token).aud;
  } catch {
    // Not readable: leave aud out rather than guess.
    return undefined;
  }
}
