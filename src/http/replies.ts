/**
 * The one place that writes OAuth results to HTTP: token responses and token-endpoint
 * errors as JSON (RFC 6749 §5.1/§5.2, with `no-store` and `Pragma: no-cache`), pages as
 * HTML, and authorization-endpoint errors as a page or a redirect.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asOAuthError, OAuthError } from '../oauth/errors.js';
import { BasicAuthFailure } from '../oauth/client-auth.js';
import { errorRedirect, RedirectableError } from '../oauth/authorize.js';
import { errorPage } from './views/error.js';

const JSON_UTF8 = 'application/json;charset=UTF-8';

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return noStore(reply).code(status).type(JSON_UTF8).send(JSON.stringify(body));
}

/** Logs what the client is not told: the cause of a server_error. */
function logFailure(request: FastifyRequest, error: OAuthError): void {
  if (error.status >= 500) request.log.error({ err: error.cause ?? error }, 'request failed');
}

/**
 * RFC 6749 §5.2 error JSON. invalid_client is 401 with a Basic challenge: required when
 * Basic was tried (RFC 6749 §5.2), and every 401 must carry one (RFC 9110 §15.5.2), so
 * a client that authenticated in the body gets it too.
 */
export function sendTokenError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const error = asOAuthError(err);
  logFailure(request, error);
  if (error instanceof BasicAuthFailure || error.status === 401) {
    reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
  }
  return sendJson(reply, error.status, { error: error.code, error_description: error.description });
}

export function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

const pageTitles: Record<string, string> = {
  invalid_request: 'This request cannot be completed',
  server_error: 'Something went wrong',
  temporarily_unavailable: 'Please try again shortly',
};

/** An error shown to the person instead of being sent to the client. */
export function sendErrorPage(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const error = asOAuthError(err);
  logFailure(request, error);
  const status = error.status >= 500 ? error.status : 400;
  return sendPage(
    reply,
    status,
    errorPage({
      status,
      title: pageTitles[error.code] ?? 'This request cannot be completed',
      message: error.description,
      code: error.code,
    }),
  );
}

/** Authorization endpoint errors: redirected to the client when allowed, else a page. */
export function sendAuthorizationError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  issuer: string,
): FastifyReply {
  if (err instanceof RedirectableError) {
    logFailure(request, err.error);
    return reply.redirect(errorRedirect(err.error, err.target, issuer), 302);
  }
  return sendErrorPage(request, reply, err);
}
