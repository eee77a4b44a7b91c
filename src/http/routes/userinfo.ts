/**
 * GET and POST /oauth2/userinfo — the UserInfo endpoint (OpenID Connect Core 1.0 §5.3):
 * HTTP in, `userInfo` out. Errors carry `WWW-Authenticate: Bearer` with the RFC 6750
 * §3.1 code; every answer is `no-store`. Browser apps may call it (CORS: it takes no cookies).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { userinfoEndpoint } from '../../oauth/endpoints.js';
import { userInfo, userInfoToken } from '../../oauth/userinfo.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { errorHandler, sendJson, sendResourceError, sendWrongMethod } from '../replies.js';
import { formParams, queryParams } from '../request-params.js';

export const userinfoRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.setErrorHandler(errorHandler(sendResourceError));
  enableCors(app, userinfoEndpoint.paths, ['GET', 'POST']);

  async function answer(request: FastifyRequest, reply: FastifyReply) {
    try {
      const token = userInfoToken({
        authorization: request.headers.authorization,
        body: request.method === 'POST' ? formParams(request) : undefined,
        tokenInQuery: queryParams(request).has('access_token'),
      });
      return sendJson(reply, 200, await userInfo(token, ctx.store, ctx.now()));
    } catch (err) {
      return sendResourceError(request, reply, err);
    }
  }

  for (const url of userinfoEndpoint.paths) {
    app.get(url, answer);
    app.post(url, answer);
    app.route({
      method: ['PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (_request, reply) => sendWrongMethod(reply, 'GET, POST', 'UserInfo accepts only GET and POST'),
    });
  }
};
