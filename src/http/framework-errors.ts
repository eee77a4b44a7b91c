/**
 * What the framework answers before any route is found, in the same format as the rest:
 * a URL that cannot be decoded (Fastify's `frameworkErrors`), and requests Node's HTTP
 * parser cannot read at all — control bytes in the request line or a header, a bad
 * Content-Length, headers over 16 KiB (Fastify's `clientErrorHandler`). There is no
 * route, so the answer is plain JSON invalid_request, with the security headers and
 * `no-store` every answer carries. So is the 503 to a request that arrives while the
 * server is shutting down.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorHandler, RETRY_AFTER_SECONDS, sendJson, sendJsonError, UNREADABLE_DESCRIPTION } from './replies.js';
import { securityHeaders } from './security-headers.js';

/** Fastify's `frameworkErrors`: a bad URL (`GET /%zz`) and the like, through the plain JSON writer. */
export const frameworkErrors: (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply =
  errorHandler((request, reply, err) => {
    // Fastify calls this before the onSend hooks of any scope are known.
    reply.headers(securityHeaders('application/json'));
    return sendJsonError(request, reply, err);
  });

/** The status and description for an error of Node's HTTP parser (RFC 9110 §15.5). */
function parserAnswer(code: string | undefined): { status: number; description: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, description: 'The request headers are too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, description: 'The request took too long to arrive' };
  return { status: 400, description: UNREADABLE_DESCRIPTION };
}

/**
 * The whole response to a request the parser refused, as bytes: the connection is in an
 * unknown state, so it is closed afterwards.
 */
export function parserErrorResponse(code: string | undefined): string {
  const { status, description } = parserAnswer(code);
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  const headers: Record<string, string> = {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...securityHeaders('application/json'),
    connection: 'close',
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}\r\n${body}`;
}

/** Fastify's `clientErrorHandler` (Node's `clientError` event), bound to the Fastify instance. */
export function clientErrorHandler(
  this: { log: FastifyBaseLogger },
  err: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Usually a scanner or a misconfigured proxy, not something to act on: no log noise.
  this.log.debug({ code: err.code }, 'unreadable request refused');
  if (socket.writable) socket.write(parserErrorResponse(err.code));
  socket.destroy(err);
}

/**
 * Instead of Fastify's `return503OnClosing` (raw JSON without our headers): a request that
 * arrives on an open connection once closing has begun is told to try again elsewhere or
 * shortly, and the connection is closed. Not logged as a failure: it is a planned stop.
 */
export function answerWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    sendJson(reply.header('retry-after', String(RETRY_AFTER_SECONDS)).header('connection', 'close'), 503, {
      error: 'temporarily_unavailable',
      error_description: 'The server is shutting down; please try again shortly',
    });
  });
}
