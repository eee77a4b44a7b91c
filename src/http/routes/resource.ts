/**
 * GET /api/v1/me — the sample protected resource (RFC 6750): who the token speaks for.
 * Errors carry `WWW-Authenticate: Bearer` with the RFC 6750 §3.1 error code.
 */
import type { FastifyPluginAsync } from 'fastify';
import { extractBearerToken, verifyAccessToken } from '../../oauth/bearer.js';
import { resourceEndpoint } from '../../oauth/endpoints.js';
import { OAuthError } from '../../oauth/errors.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { errorHandler, sendJson, sendResourceError } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';

export const resourceRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.setErrorHandler(errorHandler(sendResourceError));
  enableCors(app, resourceEndpoint.paths, ['GET']);
  const [url] = resourceEndpoint.paths as [string];
  app.route({
    method: ['POST', 'PUT', 'DELETE', 'PATCH'],
    url,
    handler: async (_request, reply) =>
      sendJson(reply.header('allow', 'GET'), 405, {
        error: 'invalid_request',
        error_description: 'This resource accepts only GET',
      }),
  });
  app.get(url, async (request, reply) => {
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
      return sendResourceError(request, reply, err);
    }
  });
};
