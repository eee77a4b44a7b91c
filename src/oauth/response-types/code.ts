/**
 * `response_type=code` (RFC 6749 §4.1.1, §4.1.2): the grant is stored with a code bound to
 * the client, the redirect URI as sent and the PKCE challenge (RFC 7636 §4.3), which the
 * token endpoint redeems once (grants/authorization-code.ts).
 */
import { invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { checkChallenge } from '../pkce.js';
import { hashSecret, newSecret } from '../tokens.js';
import type { ResponseTypeHandler } from './response-type.js';

export const codeResponseType: ResponseTypeHandler = {
  responseType: 'code',
  grantType: 'authorization_code',
  responseMode: 'query',
  // RFC 7636 §4.2: S256 only; `plain` is refused (pkce.ts).
  metadata: { code_challenge_methods_supported: ['S256'] },

  validate(params, client) {
    const challenge = checkChallenge(single(params, 'code_challenge'), single(params, 'code_challenge_method'));
    if (challenge === undefined && client.pkceRequired) {
      throw invalidRequest('This client must use PKCE: send code_challenge and code_challenge_method=S256');
    }
    return challenge ? { codeChallenge: challenge } : {};
  },

  async issue(request, grant, client, deps) {
    const code = newSecret();
    await deps.store.createGrantWithCode(grant, {
      hash: hashSecret(code),
      grantId: grant.id,
      redirectUri: request.redirectUriSent ? request.redirectUri : null,
      codeChallenge: request.codeChallenge ?? null,
      // The client's own code lifetime when it has one.
      expiresAt: deps.now + (client.lifetimes?.code ?? deps.lifetimes.code) * 1000,
      consumedAt: null,
    });
    return { code };
  },
};
