/**
 * The one place that writes OAuth results to HTTP: token responses and token-endpoint
 * errors as JSON (RFC 6749 §5.1/§5.2, with `no-store` and `Pragma: no-cache`), pages as
 * HTML, and authorization-endpoint errors as a page or a redirect.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asOAuthError, OAuthError } from '../oauth/errors.js';
import { BasicAuthFailure } from '../oauth/client-auth.js';
import { errorRedirect, RedirectableError } from '../oauth/authorize.js';
import { StoreUnavailableError } from '../store/errors.js';
import { errorPage } from './views/error.js';

const JSON_UTF8 = 'application/json;charset=UTF-8';

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return noStore(reply).code(status).type(JSON_UTF8).send(JSON.stringify(body));
}

/** Seconds a client is asked to wait (Retry-After) while the database cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Logs what the client is not told. A database that cannot be reached is one warn line
 * naming the cause (it is an outage, not a bug: no stack per request); any other
 * server_error is logged at error level with its cause.
 */
export function logFailure(request: FastifyRequest, error: OAuthError): void {
  if (error.status < 500) return;
  if (error.cause instanceof StoreUnavailableError) {
    request.log.warn({ cause: error.cause.message }, 'database unavailable: answered 503');
    return;
  }
  request.log.error({ err: error.cause ?? error }, 'request failed');
}

/** `Retry-After` on a 503: the client may try again after a short wait (RFC 9110 §10.2.3). */
function retryAfter(reply: FastifyReply, error: OAuthError): FastifyReply {
  return error.status === 503 ? reply.header('retry-after', String(RETRY_AFTER_SECONDS)) : reply;
}

/**
 * An unexpected failure as JSON: 503 temporarily_unavailable (with Retry-After) while the
 * database cannot be reached, else a fixed 500 server_error. Logged by logFailure.
 */
export function sendFailureJson(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const error = asOAuthError(err);
  logFailure(request, error);
  return sendJson(retryAfter(reply, error), error.status, { error: error.code, error_description: error.description });
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
  return sendJson(retryAfter(reply, error), error.status, { error: error.code, error_description: error.description });
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
    retryAfter(reply, error),
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

/**
 * The error handler of the page routes (authorization endpoint, sign-in, consent, demo):
 * what a route did not answer itself becomes a page, never JSON — a framework error
 * (body too large, unreadable) a 4xx page, a database that cannot be reached a 503 page
 * asking to try again shortly, anything else a 500 page.
 */
export function sendPageFailure(
  error: { statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return sendPage(
      reply,
      status,
      errorPage({ status, title: 'This request cannot be completed', message: 'The request could not be read.' }),
    );
  }
  return sendErrorPage(request, reply, error);
}
