/**
 * `response_type=token`, the implicit grant (RFC 6749 §4.2): the access token goes in the
 * redirect URI's fragment, never with a refresh token (§4.2.2). Only for clients
 * registered for it: RFC 9700 §2.1.2 advises against it.
 */
import type { ResponseTypeHandler } from './response-type.js';

export const tokenResponseType: ResponseTypeHandler = {
  responseType: 'token',
  grantType: 'implicit',
  responseMode: 'fragment',

  validate() {
    return {};
  },

  async issue(_request, grant, client, deps) {
    const minted = await deps.tokens.mint({
      grant,
      scope: grant.scope,
      client,
      issuer: deps.issuer,
      now: deps.now,
      refresh: false,
    });
    await deps.store.createGrantWithAccessToken(grant, minted.access);
    const { access_token, token_type, expires_in, scope } = minted.response;
    return { access_token, token_type, expires_in, scope };
  },
};
