/**
 * POST /apiToken.action (alias /oauth2/token): HTTP in, `handleTokenRequest` out.
 * Every answer — tokens or error — goes through replies.ts, which adds `no-store`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest } from '../../oauth/errors.js';
import { tokenEndpoint } from '../../oauth/endpoints.js';
import { CredentialReplayed } from '../../oauth/grants/grant.js';
import { handleTokenRequest } from '../../oauth/token-endpoint.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { logRequestEvent } from '../events.js';
import { issuerFor } from '../issuer.js';
import { errorHandler, sendJson, sendTokenError, sendWrongMethod } from '../replies.js';
import { formParams } from '../request-params.js';

/**
 * A code or refresh token presented again: the event, then the revocation it caused —
 * once per grant, by the presentation that revoked it, however many arrive at once.
 */
function logReplay(request: FastifyRequest, replay: CredentialReplayed): void {
  const event = replay.credential === 'code' ? 'code_replayed' : 'refresh_reuse_detected';
  const fields = { grant: replay.grant.id, client: replay.grant.clientId };
  logRequestEvent(request, event, fields);
  if (replay.revoked) logRequestEvent(request, 'grant_revoked', { ...fields, reason: event });
}

export const tokenRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // Framework errors in this scope (body too large, unreadable body) are OAuth JSON too.
  app.setErrorHandler(errorHandler(sendTokenError));

  async function token(request: FastifyRequest, reply: FastifyReply) {
    try {
      const params = formParams(request);
      if (!params) throw invalidRequest('Content-Type must be application/x-www-form-urlencoded');
      const outcome = await handleTokenRequest(
        { params, authorization: request.headers.authorization },
        ctx.provider.grants,
        {
          store: ctx.store,
          tokens: ctx.provider.tokens,
          issuer: issuerFor(ctx, request),
          now: ctx.now(),
        },
      );
      const { response, grant, client } = outcome;
      logRequestEvent(request, 'tokens_issued', {
        grant: grant.id,
        client: client.id,
        person: grant.personId,
        grant_type: outcome.grantType,
        scope: response.scope,
        refresh_token: response.refresh_token !== undefined,
      });
      return sendJson(reply, 200, response);
    } catch (err) {
      if (err instanceof CredentialReplayed) logReplay(request, err);
      return sendTokenError(request, reply, err);
    }
  }

  async function wrongMethod(_request: FastifyRequest, reply: FastifyReply) {
    return sendWrongMethod(reply, 'POST', 'The token endpoint accepts only POST');
  }

  enableCors(app, tokenEndpoint.paths, ['POST']);
  for (const url of tokenEndpoint.paths) {
    app.post(url, token);
    app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url, handler: wrongMethod });
  }
};
