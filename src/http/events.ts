/**
 * Security events from the web side (services/audit.ts names them): each line carries
 * the client's address as Fastify sees it (`request.ip`, from X-Forwarded-For when
 * --trust-proxy believes the proxy), and goes through the request's logger, so it also
 * carries the request id that ties it to the request's own log line.
 */
import type { FastifyRequest } from 'fastify';
import type { Authorized } from '../oauth/complete-authorization.js';
import { logEvent, type AuditEvent, type AuditEventFields } from '../services/audit.js';

/** The event's fields without the address, which this adds. */
type WithoutAddress<E extends AuditEvent> = AuditEventFields[E] extends infer F
  ? F extends { address: string }
    ? Omit<F, 'address'>
    : never
  : never;

export function logRequestEvent<E extends AuditEvent>(
  request: FastifyRequest,
  event: E,
  fields: WithoutAddress<E>,
): void {
  logEvent(request.log, event, { ...(fields as object), address: request.ip } as AuditEventFields[E]);
}

/**
 * A grant made at the end of the interaction: the consent event (the person pressed
 * Allow, or the client skips the page), and for the implicit grant the tokens that went
 * out in the redirect. A code is logged when it is redeemed (tokens_issued).
 */
export function logAuthorized(
  request: FastifyRequest,
  authorized: Authorized,
  how: 'consent_given' | 'consent_skipped',
): void {
  const { grant } = authorized;
  const person = grant.personId ?? '';
  logRequestEvent(request, how, { person, client: grant.clientId, grant: grant.id, scope: grant.scope });
  if (authorized.grantType === 'implicit') {
    logRequestEvent(request, 'tokens_issued', {
      grant: grant.id,
      client: grant.clientId,
      person: grant.personId,
      grant_type: 'implicit',
      scope: grant.scope,
      refresh_token: false,
    });
  }
}
