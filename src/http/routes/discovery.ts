/** RFC 8414 metadata, liveness and readiness. */
import type { FastifyPluginAsync } from 'fastify';
import { serverMetadata } from '../../oauth/metadata.js';
import type { RouteContext } from '../context.js';

export const discoveryRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // Rendered on first use: with `--port 0` the issuer is completed only after listening.
  let metadata: string | undefined;
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    metadata ??= JSON.stringify(serverMetadata(ctx.config.issuer, ctx.grants));
    return reply.header('cache-control', 'public, max-age=300').type('application/json; charset=utf-8').send(metadata);
  });

  app.get('/healthz', async (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
      return reply.send({ status: 'ready' });
    } catch (err) {
      request.log.warn({ err }, 'database not reachable');
      return reply.code(503).send({ status: 'unavailable', reason: 'database not reachable' });
    }
  });
};
