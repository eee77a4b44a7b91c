/** GET /demo — the built-in demo client (only with --demo). */
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from '../context.js';

export const demoRoutes: FastifyPluginAsync<RouteContext> = async (app) => {
  app.get('/demo', async (_request, reply) => reply.type('text/html; charset=utf-8').send('<h1>Demo</h1>'));
};
