/** RFC 8414 metadata, the OpenID Provider configuration (OpenID Connect Discovery 1.0 §4), liveness and readiness. */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { discoveryEndpoint, openIdDiscoveryEndpoint } from '../../oauth/endpoints.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';
import { issuerFor } from '../issuer.js';
import { RETRY_AFTER_SECONDS } from '../replies.js';

type MetadataDocument = (issuer: string, apiScopes: readonly string[]) => Record<string, unknown>;

/**
 * A metadata document, built per request: `scopes_supported` names the API scopes
 * registered now (an operator may add one while the server runs), and the issuer may
 * differ per request (with `--port 0` it is completed only after listening; a default
 * loopback issuer has two names, issuer.ts).
 */
async function sendMetadata(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  document: MetadataDocument,
): Promise<FastifyReply> {
  const apiScopes = (await ctx.store.listApiScopes()).map((s) => s.name);
  const body = JSON.stringify(document(issuerFor(ctx, request), apiScopes));
  return reply.header('cache-control', 'public, max-age=300').type('application/json; charset=utf-8').send(body);
}

/** GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4.1, §4.2). */
export const openIdDiscoveryRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const document = ctx.provider.openIdMetadata;
  if (document === undefined) throw new Error('the OpenID Provider configuration needs a provider with ID tokens');
  enableCors(app, openIdDiscoveryEndpoint.paths, ['GET']);
  app.get(openIdDiscoveryEndpoint.paths[0] as string, (request, reply) => sendMetadata(ctx, request, reply, document));
};

export const discoveryRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  enableCors(app, discoveryEndpoint.paths, ['GET']);
  app.get(discoveryEndpoint.paths[0] as string, (request, reply) =>
    sendMetadata(ctx, request, reply, (issuer, apiScopes) => ctx.provider.metadata(issuer, apiScopes)),
  );

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
