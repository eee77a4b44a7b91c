/**
 * Headers every response carries. Pages get a strict CSP (no scripts at all, styles
 * only from /assets) with `frame-ancestors 'none'` and X-Frame-Options against
 * clickjacking. Nothing is cacheable unless a route says so: OAuth responses carry
 * credentials and pages carry CSRF tokens.
 */
import type { FastifyInstance } from 'fastify';

export const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  // No form-action: the consent form's 303 goes to the client's redirect URI, and
  // browsers apply form-action to redirects after a form post.
].join('; ');

export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header('content-security-policy', PAGE_CSP);
      reply.header('x-frame-options', 'DENY');
    }
    return payload;
  });
}
