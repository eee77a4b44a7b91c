/**
 * Which issuer identifier a request is answered with. Normally the configured one. When
 * none was configured and Tessera listens on loopback, it is reachable as both
 * http://localhost:PORT and http://127.0.0.1:PORT, and RFC 8414 §3.3 makes a client
 * reject metadata whose `issuer` differs from the address it asked: so each loopback
 * address is answered as its own issuer (metadata, RFC 9207 `iss`), and discovery works
 * at either. Only the listed aliases are honoured; any other Host gets the configured one.
 */
import type { FastifyRequest } from 'fastify';
import type { RouteContext } from './context.js';

export function issuerFor(ctx: Pick<RouteContext, 'config'>, request: FastifyRequest): string {
  const aliases = ctx.config.issuerAliases;
  if (!aliases || aliases.length === 0) return ctx.config.issuer;
  const own = `${request.protocol}://${request.host}`;
  return aliases.includes(own) ? own : ctx.config.issuer;
}

/** The loopback names a default issuer may be reached by, for a server on `host`:`port`. */
export function loopbackIssuers(host: string, port: number): string[] {
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return [];
  const names = host === '::1' || host === '[::1]' ? ['[::1]', 'localhost'] : ['127.0.0.1', 'localhost'];
  return names.map((name) => `http://${name}:${port}`);
}
