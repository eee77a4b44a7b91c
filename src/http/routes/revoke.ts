/**
 * POST /oauth2/revoke: HTTP in, `revoke` out (RFC 7009 §2). A request that was valid is
 * `200` with an empty body whatever became of the token (§2.2); errors are the token
 * endpoint's (§2.2.1). Every answer carries `no-store` (replies.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { revocationEndpoint } from '../../oauth/endpoints.js';
import { invalidRequest } from '../../oauth/errors.js';
import { revoke } from '../../oauth/revocation.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { errorHandler, sendEmpty, sendTokenError, sendWrongMethod } from '../replies.js';
import { formParams } from '../request-params.js';

export const revokeRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // Framework errors in this scope (body too large, unreadable body) are OAuth JSON too.
  app.setErrorHandler(errorHandler(sendTokenError));

  async function revocation(request: FastifyRequest, reply: FastifyReply) {
    try {
      const params = formParams(request);
      if (!params) throw invalidRequest('Content-Type must be application/x-www-form-urlencoded');
      await revoke({ params, authorization: request.headers.authorization }, { store: ctx.store, now: ctx.now() });
      return sendEmpty(reply, 200);
    } catch (err) {
      return sendTokenError(request, reply, err);
    }
  }

  // A browser app (a public client) signs its person out by revoking its tokens (RFC 7009 §5).
  enableCors(app, revocationEndpoint.paths, ['POST']);
  for (const url of revocationEndpoint.paths) {
    app.post(url, revocation);
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (_request, reply) => sendWrongMethod(reply, 'POST', 'The revocation endpoint accepts only POST'),
    });
  }
};
