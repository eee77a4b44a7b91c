/**
 * CORS for the endpoints a browser app calls itself: metadata, the token endpoint and the
 * protected resource. Any origin may call them, because they take no cookies — a request
 * is authorized only by what it carries (client credentials, PKCE verifier, bearer
 * token), so another site's script gains nothing from a visitor's browser. The pages
 * (authorize, login, consent) get no CORS at all: they are for top-level navigation.
 */
import type { FastifyInstance } from 'fastify';

export function enableCors(app: FastifyInstance, urls: readonly string[], methods: readonly string[]): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.headers.origin !== undefined) {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-expose-headers', 'WWW-Authenticate, Retry-After');
    }
    done(null, payload);
  });
  for (const url of urls) {
    // The preflight (Fetch standard §3.2.2): what a cross-origin call may send.
    app.options(url, async (_request, reply) =>
      reply
        .code(204)
        .header('access-control-allow-methods', methods.join(', '))
        .header('access-control-allow-headers', 'Authorization, Content-Type')
        .header('access-control-max-age', '600')
        .send(),
    );
  }
}
