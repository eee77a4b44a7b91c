/** Request parameters for the OAuth routes, from the raw query string or a form body. */
import type { FastifyRequest } from 'fastify';
import { parseParams, type Params } from '../oauth/params.js';

/** The query string exactly as sent (not Fastify's parsed object, which merges repeats). */
export function queryParams(request: FastifyRequest): Params {
  const q = request.url.indexOf('?');
  // Most requests to an API have none: nothing to parse.
  return q < 0 ? new Map() : parseParams(request.url.slice(q + 1));
}

/** The form body, or undefined when the request was not application/x-www-form-urlencoded. */
export function formParams(request: FastifyRequest): Params | undefined {
  return request.body instanceof Map ? (request.body as Params) : undefined;
}
