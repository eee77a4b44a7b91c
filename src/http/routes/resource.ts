/**
 * GET /api/v1/me — the sample protected resource (RFC 6750): who the token speaks for.
 * Errors carry `WWW-Authenticate: Bearer` with the RFC 6750 §3.1 error code.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { extractBearerToken, MissingToken, verifyAccessToken } from '../../oauth/bearer.js';
import { asOAuthError, OAuthError } from '../../oauth/errors.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { sendFailureJson, sendJson } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';

function bearerChallenge(reply: FastifyReply, err: unknown): FastifyReply {
  const error = asOAuthError(err);
  const challenge =
    error instanceof MissingToken
      ? 'Bearer realm="tessera"'
      : `Bearer realm="tessera", error="${error.code}", error_description="${error.description}"`;
  reply.header('www-authenticate', challenge);
  return sendJson(
    reply,
    error.status,
    error instanceof MissingToken
      ? { error: 'invalid_token', error_description: error.description }
      : { error: error.code, error_description: error.description },
  );
}

export const resourceRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  enableCors(app, ['/api/v1/me'], ['GET']);
  app.route({
    method: ['POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/api/v1/me',
    handler: async (_request, reply) =>
      sendJson(reply.header('allow', 'GET'), 405, {
        error: 'invalid_request',
        error_description: 'This resource accepts only GET',
      }),
  });
  app.get('/api/v1/me', async (request, reply) => {
    try {
      const token = extractBearerToken({
        authorization: request.headers.authorization,
        tokenInQueryOrBody:
          queryParams(request).has('access_token') || (formParams(request)?.has('access_token') ?? false),
      });
      const { person, client, token: record } = await verifyAccessToken(token, ctx.store, ctx.now());
      // A token of the client itself speaks for no person: this resource has nothing to say.
      if (person === null) {
        throw new OAuthError('insufficient_scope', 'This resource needs a token that speaks for a person');
      }
      return sendJson(reply, 200, {
        sub: person.id,
        username: person.username,
        name: person.displayName,
        scope: record.scope,
        client_id: client.id,
      });
    } catch (err) {
      // Not a token problem (the database unreachable, a bug): no Bearer challenge, which
      // would tell the client to get a new token; 503 carries Retry-After.
      if (asOAuthError(err).status >= 500) return sendFailureJson(request, reply, err);
      return bearerChallenge(reply, err);
    }
  });
};
