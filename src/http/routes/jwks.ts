/**
 * GET /.well-known/jwks.json — the JWK Set (RFC 7517 §5) that verifies this server's JWTs
 * (RFC 8414 §2 `jwks_uri`; RFC 9068 §4): public keys only. Read from the store on every
 * request, so a rotated key is published at once by every instance; caches may keep it
 * for a minute, and a verifier that meets an unknown `kid` fetches it again.
 */
import type { FastifyPluginAsync } from 'fastify';
import { jwksEndpoint } from '../../oauth/endpoints.js';
import type { RouteContext } from '../context.js';
import { enableCors } from '../cors.js';

/** Seconds a cache may keep the set (RFC 9111 §5.2.2.1). */
export const JWKS_MAX_AGE = 60;

export const jwksRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  enableCors(app, jwksEndpoint.paths, ['GET']);
  app.get(jwksEndpoint.paths[0] as string, async (_request, reply) => {
    const body = JSON.stringify(await ctx.keys.jwks());
    return reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`).type('application/jwk-set+json').send(body);
  });
};
