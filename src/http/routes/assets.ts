/** The stylesheet the pages use (served, not inlined, so the CSP needs no 'unsafe-inline'). */
import { hash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { stylesheet } from '../views/assets.js';

export const assetRoutes: FastifyPluginAsync = async (app) => {
  const etag = `"${hash('sha256', stylesheet, 'base64url').slice(0, 16)}"`;
  app.get('/assets/tessera.css', async (request, reply) => {
    reply.header('cache-control', 'public, max-age=3600').header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/css; charset=utf-8').send(stylesheet);
  });
};
