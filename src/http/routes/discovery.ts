/** RFC 8414 metadata, liveness and readiness. */
import type { FastifyPluginAsync } from 'fastify';
import { discoveryEndpoint } from '../../oauth/endpoints.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { issuerFor } from '../issuer.js';
import { RETRY_AFTER_SECONDS } from '../replies.js';

export const discoveryRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // Rendered on first use per issuer: with `--port 0` the issuer is completed only after
  // listening, and a default loopback issuer has two names (issuer.ts).
  const metadata = new Map<string, string>();
  enableCors(app, discoveryEndpoint.paths, ['GET']);
  app.get(discoveryEndpoint.paths[0] as string, async (request, reply) => {
    const issuer = issuerFor(ctx, request);
    let body = metadata.get(issuer);
    if (body === undefined) {
      body = JSON.stringify(ctx.provider.metadata(issuer));
      metadata.set(issuer, body);
    }
    return reply.header('cache-control', 'public, max-age=300').type('application/json; charset=utf-8').send(body);
  });

  app.get('/healthz', async (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
      return reply.send({ status: 'ready' });
    } catch (err) {
      // Polled by load balancers: one warn line naming the cause, no stack.
      request.log.warn({ cause: err instanceof Error ? err.message : String(err) }, 'database not reachable');
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ status: 'unavailable', reason: 'database not reachable' });
    }
  });
};
