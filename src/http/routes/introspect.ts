/**
 * POST /oauth2/introspect: HTTP in, `introspect` out (RFC 7662 §2). Errors are the token
 * endpoint's (RFC 7662 §2.3), and every answer carries `no-store` (replies.ts): an
 * introspection response must not be cached by anyone in between.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { introspectionEndpoint } from '../../oauth/endpoints.js';
import { invalidRequest } from '../../oauth/errors.js';
import { introspect } from '../../oauth/introspection.js';
import type { RouteContext } from '../context.js';
import { issuerFor } from '../issuer.js';
import { errorHandler, sendJson, sendTokenError, sendWrongMethod } from '../replies.js';
import { formParams } from '../request-params.js';

export const introspectRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // Framework errors in this scope (body too large, unreadable body) are OAuth JSON too.
  app.setErrorHandler(errorHandler(sendTokenError));

  async function introspection(request: FastifyRequest, reply: FastifyReply) {
    try {
      const params = formParams(request);
      if (!params) throw invalidRequest('Content-Type must be application/x-www-form-urlencoded');
      const answer = await introspect(
        { params, authorization: request.headers.authorization },
        { store: ctx.store, issuer: issuerFor(ctx, request), now: ctx.now() },
      );
      return sendJson(reply, 200, answer);
    } catch (err) {
      return sendTokenError(request, reply, err);
    }
  }

  // No CORS: only a confidential client, which holds a secret no browser app can keep, may call it.
  for (const url of introspectionEndpoint.paths) {
    app.post(url, introspection);
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (_request, reply) =>
        sendWrongMethod(reply, 'POST', 'The introspection endpoint accepts only POST'),
    });
  }
};
