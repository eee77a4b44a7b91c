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

/** The security headers of a response with this Content-Type (also written by framework-errors.ts). */
export function securityHeaders(contentType: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  if (contentType.startsWith('text/html')) {
    headers['content-security-policy'] = PAGE_CSP;
    headers['x-frame-options'] = 'DENY';
  }
  return headers;
}

// The per-request hooks here and in cors.ts and app.ts take a callback rather than being
// async: Fastify then makes no promise per hook, which showed in the bearer path's profile.
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(securityHeaders(String(reply.getHeader('content-type') ?? '')));
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
