/**
 * Loading the pending authorization that a sign-in or consent page works on, with the
 * checks every step repeats: it exists and has not expired, this is the browser that
 * started it, and (for form posts) the CSRF token is right. Failures become a page.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationRequest } from '../../oauth/authorize.js';
import { single, type Params } from '../../oauth/params.js';
import { eligibleRoles, type Role } from '../../oauth/scope.js';
import { hashSecret } from '../../oauth/tokens.js';
import type { ClientRecord, PendingAuthorizationRecord, PersonRecord } from '../../store/store.js';
import { csrfMatches, csrfToken, isSameBrowser, sessionCookieValue } from '../browser.js';
import type { RouteContext } from '../context.js';
import { sendPage } from '../replies.js';
import { errorPage } from '../views/error.js';

export interface PendingContext {
  pending: PendingAuthorizationRecord;
  request: AuthorizationRequest;
  client: ClientRecord;
  csrf: string;
}

function problemPage(reply: FastifyReply, status: number, title: string, message: string): undefined {
  sendPage(reply, status, errorPage({ status, title, message }));
  return undefined;
}

/**
 * The pending authorization named by `requestId`, or undefined after sending the page
 * that explains why the person cannot go on. With `form`, the CSRF token is checked too.
 */
export async function loadPending(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  requestId: string | undefined,
  form?: Params,
): Promise<PendingContext | undefined> {
  const pending = requestId ? await ctx.store.getPendingAuthorization(requestId, ctx.now()) : undefined;
  if (!pending) {
    return problemPage(
      reply,
      400,
      'This sign-in has expired',
      'This sign-in link is no longer valid: it has expired or was already used. Go back to the app and start again.',
    );
  }
  if (!isSameBrowser(request, pending.browserHash)) {
    request.log.warn(
      { cookie: 'tessera_browser', present: request.cookies.tessera_browser !== undefined },
      'sign-in cookie missing or from another browser: cookies blocked, stripped by a proxy, or an http/https mix-up (Secure cookies are not sent over http)',
    );
    return problemPage(
      reply,
      400,
      'Your browser did not send our cookie',
      'Tessera could not recognise this browser: its cookie did not come back. Allow cookies for this site, make sure you use the same address you started from, and start again from the app.',
    );
  }
  const csrf = csrfToken(ctx.config.secret, pending.id, pending.browserHash);
  if (form && !csrfMatches(ctx.config.secret, pending.id, pending.browserHash, single(form, 'csrf'))) {
    return problemPage(reply, 403, 'This form has expired', 'The form could not be verified. Go back to the app and start again.');
  }
  const client = await ctx.store.getClient(pending.clientId);
  if (!client || client.disabledAt !== null) {
    return problemPage(reply, 400, 'This app is no longer available', 'The app that sent you here is no longer registered.');
  }
  return { pending, request: JSON.parse(pending.request) as AuthorizationRequest, client, csrf };
}

/** The person signed in on this browser, if any. */
export async function signedInPerson(ctx: RouteContext, request: FastifyRequest): Promise<PersonRecord | undefined> {
  const value = sessionCookieValue(request);
  if (!value) return undefined;
  const session = await ctx.store.getSignInSession(hashSecret(value), ctx.now());
  const person = session && (await ctx.store.getPerson(session.personId));
  return person && person.disabledAt === null ? person : undefined;
}

export function rolesFor(person: PersonRecord, flow: PendingContext): Role[] {
  return eligibleRoles(person.roles, flow.client.scopes, flow.request.role);
}

export function loginUrl(requestId: string, error?: string): string {
  return `/login?request=${encodeURIComponent(requestId)}${error ? `&error=${error}` : ''}`;
}

export function consentUrl(requestId: string): string {
  return `/consent?request=${encodeURIComponent(requestId)}`;
}
