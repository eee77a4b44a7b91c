/**
 * The one place that writes OAuth results to HTTP. Every error is an OAuthError (see
 * `httpError`) and every endpoint family has one writer for it, which also answers the
 * framework's own errors in its scope (`errorHandler`):
 *
 * - token, introspection and revocation endpoints: RFC 6749 §5.2 JSON, `no-store`, a Basic
 *   challenge on every 401 (RFC 7662 §2.3 and RFC 7009 §2.2.1 answer as the token endpoint);
 * - protected resource: RFC 6750 §3 `WWW-Authenticate: Bearer` with the error;
 * - pages (authorization endpoint, sign-in, consent, demo): an HTML error page;
 * - the rest (metadata, not found, the framework outside any route): plain JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asOAuthError, invalidRequest, OAuthError } from '../oauth/errors.js';
import { MissingToken } from '../oauth/bearer.js';
import { errorRedirect, RedirectableError } from '../oauth/authorize.js';
import { StoreUnavailableError } from '../store/errors.js';
import { errorPage, plainWordsFor, type PlainWords } from './views/error.js';

const JSON_UTF8 = 'application/json;charset=UTF-8';

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return noStore(reply).code(status).type(JSON_UTF8).send(JSON.stringify(body));
}

/** An answer without a body (RFC 7009 §2.2: a revocation that was received), never stored by a cache. */
export function sendEmpty(reply: FastifyReply, status: number): FastifyReply {
  return noStore(reply).code(status).send();
}

/** 405 with `Allow` (RFC 9110 §15.5.6) at an OAuth endpoint, as invalid_request JSON. */
export function sendWrongMethod(reply: FastifyReply, allow: string, description: string): FastifyReply {
  return sendJson(reply.header('allow', allow), 405, { error: 'invalid_request', error_description: description });
}

/** Seconds a client is asked to wait (Retry-After) while the database cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;

/** What a client is told when the framework could not read its request. */
export const UNREADABLE_DESCRIPTION = 'The request could not be read';

/** The status of one of the framework's own client errors (body too large, bad URL…), if it is one. */
function frameworkClientStatus(err: unknown): number | undefined {
  if (err instanceof OAuthError || typeof err !== 'object' || err === null || !('statusCode' in err)) return undefined;
  const status = err.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * Any thrown value as the OAuthError that answers it: the framework's 4xx (body too large,
 * unreadable body, bad content-length, bad URL) invalid_request with its own status, the
 * rest as asOAuthError says (a database that cannot be reached 503, anything else 500).
 */
export function httpError(err: unknown): OAuthError {
  const status = frameworkClientStatus(err);
  if (status !== undefined) return invalidRequest(UNREADABLE_DESCRIPTION, { status, redirectable: false, cause: err });
  return asOAuthError(err);
}

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

/** An error answer: the error as the family's writer sends it, logged by logFailure. */
export type ErrorWriter = (request: FastifyRequest, reply: FastifyReply, err: unknown) => FastifyReply;

/**
 * A writer as a Fastify error handler, so that what no route answered itself (the
 * framework's errors, a database that cannot be reached, a bug) is answered in the
 * family's own format: one handler shape for every family.
 */
export function errorHandler(writer: ErrorWriter) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => writer(request, reply, err);
}

/** Plain JSON `{error, error_description}` (503 with Retry-After): metadata, 404s, the framework. */
export const sendJsonError: ErrorWriter = (request, reply, err) => {
  const error = httpError(err);
  logFailure(request, error);
  return sendJson(retryAfter(reply, error), error.status, { error: error.code, error_description: error.description });
};

/**
 * RFC 6749 §5.2 error JSON. invalid_client is 401 with a Basic challenge: required when
 * Basic was tried (RFC 6749 §5.2), and every 401 must carry one (RFC 9110 §15.5.2), so
 * a client that authenticated in the body gets it too.
 */
export const sendTokenError: ErrorWriter = (request, reply, err) => {
  if (httpError(err).status === 401) reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
  return sendJsonError(request, reply, err);
};

/**
 * RFC 6750 §3.1: a token problem carries `WWW-Authenticate: Bearer` with the error (none
 * when no token was sent at all, §3). Not a token problem (the database unreachable, a
 * bug): no Bearer challenge, which would tell the client to get a new token.
 */
export const sendResourceError: ErrorWriter = (request, reply, err) => {
  const error = httpError(err);
  if (error.status < 500) {
    reply.header(
      'www-authenticate',
      error instanceof MissingToken
        ? 'Bearer realm="tessera"'
        : `Bearer realm="tessera", error="${error.code}", error_description="${error.description}"`,
    );
  }
  return sendJsonError(request, reply, error);
};

export function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/** Plain words for a page that is not part of signing in (sign-out, the demo). */
function generalWords(error: OAuthError): PlainWords {
  if (error.status >= 500) return plainWordsFor(error);
  return {
    title: 'This request cannot be completed',
    message: 'Tessera cannot act on the link or form that brought you here.',
    next: 'Go back to the app and try again.',
  };
}

/**
 * An error page writer: the person gets `words` for the error, the app's developer its
 * code and description. The page keeps the status of invalid_request (413 for a body too
 * large…) and of a 5xx; other errors are shown as 400 (a 401 page would need a
 * challenge, RFC 9110 §15.5.2).
 */
function errorPageWriter(words: (error: OAuthError) => PlainWords): ErrorWriter {
  return (request, reply, err) => {
    const error = httpError(err);
    logFailure(request, error);
    const status = error.status >= 500 || error.code === 'invalid_request' ? error.status : 400;
    return sendPage(
      retryAfter(reply, error),
      status,
      errorPage({ status, ...words(error), developer: { code: error.code, description: error.description } }),
    );
  };
}

/** An error shown to the person instead of being sent to the client (sign-out, the demo). */
export const sendErrorPage: ErrorWriter = errorPageWriter(generalWords);

/** The same for the authorization endpoint and the sign-in pages, in the words of signing in. */
export const sendSignInErrorPage: ErrorWriter = errorPageWriter(plainWordsFor);

/**
 * 429 (RFC 6585 §4) at a browser endpoint: a page, `Retry-After` in seconds (RFC 9110
 * §10.2.3), never stored.
 */
export function sendRateLimitedPage(reply: FastifyReply, retryAfterSeconds: number): FastifyReply {
  const wait = retryAfterSeconds === 1 ? '1 second' : `${retryAfterSeconds} seconds`;
  return sendPage(
    noStore(reply).header('retry-after', String(retryAfterSeconds)),
    429,
    errorPage({
      status: 429,
      title: 'Too many requests',
      message: `Too many requests came from your network in a short time. Wait ${wait}, then try again.`,
      next: `After ${wait}, go back to the app and try again.`,
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
  return sendSignInErrorPage(request, reply, err);
}

/** The error handler of the page routes (sign-out, demo). */
export const sendPageFailure = errorHandler(sendErrorPage);

/** The error handler of the authorization endpoint and the sign-in and consent pages. */
export const sendSignInFailure = errorHandler(sendSignInErrorPage);
