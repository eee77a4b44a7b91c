/**
 * Finishing an authorization once the person has signed in and allowed it: the grant is
 * created with its code (RFC 6749 §4.1.2) or its access token (§4.2.2, implicit — never
 * a refresh token), and the redirect that carries it back is built.
 */
import { accessDenied } from './errors.js';
import { buildRedirect, errorRedirect, responseModeOf, type AuthorizationRequest } from './authorize.js';
import type { Role } from './scope.js';
import { hashSecret, newId, newSecret, type Lifetimes } from './tokens.js';
import type { GrantRecord, PersonRecord, Store } from '../store/store.js';

export interface CompletionContext {
  issuer: string;
  lifetimes: Lifetimes;
  now: number;
}

export async function allowAuthorization(
  request: AuthorizationRequest,
  person: PersonRecord,
  role: Role,
  store: Pick<Store, 'createGrantWithCode' | 'createGrantWithAccessToken'>,
  ctx: CompletionContext,
): Promise<string> {
  const grant: GrantRecord = {
    id: newId(),
    personId: person.id,
    clientId: request.clientId,
    scope: role,
    authTime: ctx.now,
    sessionId: null,
    createdAt: ctx.now,
    expiresAt: ctx.now + ctx.lifetimes.grant * 1000,
    revokedAt: null,
  };
  const mode = responseModeOf(request);
  if (request.responseType === 'code') {
    const code = newSecret();
    await store.createGrantWithCode(grant, {
      hash: hashSecret(code),
      grantId: grant.id,
      redirectUri: request.redirectUriSent ? request.redirectUri : null,
      codeChallenge: request.codeChallenge ?? null,
      expiresAt: ctx.now + ctx.lifetimes.code * 1000,
      consumedAt: null,
    });
    return buildRedirect(request.redirectUri, { code, state: request.state, iss: ctx.issuer }, mode);
  }
  const accessToken = newSecret();
  const expiresAt = ctx.now + ctx.lifetimes.accessToken * 1000;
  await store.createGrantWithAccessToken(grant, {
    hash: hashSecret(accessToken),
    grantId: grant.id,
    scope: role,
    format: 'opaque',
    jti: null,
    createdAt: ctx.now,
    expiresAt,
  });
  return buildRedirect(
    request.redirectUri,
    {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ctx.lifetimes.accessToken,
      scope: role,
      state: request.state,
      iss: ctx.issuer,
    },
    mode,
  );
}

/** The person said no (RFC 6749 §4.1.2.1 access_denied). */
export function denyAuthorization(request: AuthorizationRequest, issuer: string): string {
  return errorRedirect(
    accessDenied('The person denied the request'),
    { redirectUri: request.redirectUri, mode: responseModeOf(request), state: request.state },
    issuer,
  );
}
