/** The stylesheet the pages use (served, not inlined, so the CSP needs no 'unsafe-inline'). */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { stylesheet } from '../views/assets.js';

export const assetRoutes: FastifyPluginAsync = async (app) => {
  const etag = `"${createHash('sha256').update(stylesheet).digest('base64url').slice(0, 16)}"`;
  app.get('/assets/tessera.css', async (request, reply) => {
    reply.header('cache-control', 'public, max-age=3600').header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/css; charset=utf-8').send(stylesheet);
  });
};
